// Writes one batch of rows in one transaction: the pairs that are new, the
// errors of the rows that are not, and the job's counters (whose
// processed_row_count is the resume point). A retry resumes after the last
// committed batch; a batch that does not follow it (another worker moved the
// import on) is refused, so no row is imported twice.
//
// Duplicates, decided before anything is inserted, with a fixed number of
// statements per batch whatever its size:
// - exact: the question equals a stored one after qa_normalise_question (one
//   lookup on the unique index for the whole batch), or an earlier row of the
//   batch. Never stored, whatever the import's duplicate action;
// - near: pg_trgm similarity at least the import's threshold, against stored
//   pairs (one lateral query for the batch: candidates sharing a MinHash band,
//   question-bands.ts, or below BANDS_MIN_THRESHOLD those the trigram index
//   finds, checked with similarity()) and against the batch's
//   earlier rows (compared in memory over the same show_trgm trigrams).
//   REJECT: a DuplicateDetectedError; FLAG: stored with duplicate_of and
//   duplicate_similarity.
// A concurrent import can store an equal question between the check and the
// insert: the unique index turns the row away and it is reported as an exact
// duplicate of what it collided with.
// All of it within the import's tenant: another tenant's pairs neither block
// nor are revealed (the unique index is per tenant too).
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { DuplicateDetectedError, toErrorRecord, type ImportErrorRecord } from './errors.ts';
import { BANDS_MIN_THRESHOLD, questionBands, trigramSimilarity } from './question-bands.ts';
import { ImportJobRepository } from './repository.ts';
import type { DuplicatePolicy } from './kind.ts';
import type { QaPairInput } from './validation.ts';

/** One row of the file, read and validated: a pair to store, or why not. */
export type BatchRow = { row: number; line: number } & ({ pair: QaPairInput; error?: undefined } | { error: ImportErrorRecord; pair?: undefined });

export interface BatchResult {
  /** Rows 1..processedRowCount are now written. */
  readonly processedRowCount: number;
  readonly successCount: number;
  readonly errorCount: number;
}


interface Candidate {
  id: string;
  row: number;
  line: number;
  pair: QaPairInput;
  normalised: string;
  /**
   * show_trgm of the normalised question, joined with commas (a trigram is
   * letters, digits, spaces or a 0x... hash: never a comma). One string
   * instead of ~45 per row: a batch's rows live while the previous batch is
   * written, and what lives that long ends up in V8's old space.
   */
  trigrams: string;
  bands: number[];
  /** The pair it nearly repeats (FLAG), or null. */
  duplicate: { id: string; similarity: number } | null;
}

type Decision = { keep: Candidate } | { error: ImportErrorRecord };

/**
 * Signs pairs stored without MinHash bands (inserted other than by an
 * import), so near-duplicate lookups see them. Normally finds none.
 */
export async function signUnsignedPairs(pool: pg.Pool, chunk = 5000): Promise<number> {
  let signed = 0;
  for (;;) {
    const done = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ id: string; trigrams: string[] }>(
        `select id, show_trgm(question_normalised) as trigrams from qa_pair
          where question_bands is null limit $1 for update skip locked`,
        [chunk],
      );
      if (rows.length === 0) return 0;
      await client.query(
        `update qa_pair p set question_bands = x.bands
           from jsonb_to_recordset($1::jsonb) as x(id uuid, bands bigint[]) where p.id = x.id`,
        [JSON.stringify(rows.map((r) => ({ id: r.id, bands: questionBands(r.trigrams) })))],
      );
      return rows.length;
    });
    signed += done;
    if (done < chunk) return signed;
  }
}

/**
 * A batch with each valid row's normalised question, trigrams and MinHash
 * bands worked out. Depends on the rows alone (not on what is stored), so the
 * next batch is prepared while the previous one is written (handler.ts).
 */
export interface PreparedBatch {
  rows: readonly BatchRow[];
  candidates: readonly Candidate[];
}

const trigramsOf = (joined: string): string[] => (joined === '' ? [] : joined.split(','));

/** One statement for the whole batch (qa_normalise_question and show_trgm are Postgres's), then the bands in memory. */
export async function prepareBatch(db: Queryable, rows: readonly BatchRow[]): Promise<PreparedBatch> {
  const valid = rows.filter((r): r is BatchRow & { pair: QaPairInput } => r.pair !== undefined);
  if (valid.length === 0) return { rows, candidates: [] };
  const { rows: shapes } = await db.query<{ normalised: string; trigrams: string }>(
    `select qa_normalise_question(q) as normalised, array_to_string(show_trgm(qa_normalise_question(q)), ',') as trigrams
       from unnest($1::text[]) with ordinality as x(q, n) order by n`,
    [valid.map((r) => r.pair.question)],
  );
  const candidates = valid.map((r, index): Candidate => {
    const { normalised, trigrams } = shapes[index]!;
    return { id: randomUUID(), row: r.row, line: r.line, pair: r.pair, normalised, trigrams, bands: questionBands(trigramsOf(trigrams)), duplicate: null };
  });
  return { rows, candidates };
}

/**
 * The rows a batch keeps, to compare later rows of the same batch with. By
 * bands, as stored pairs are looked up; below BANDS_MIN_THRESHOLD exactly:
 * shared trigrams are counted through an inverted index, so a row is compared
 * only with rows it shares a trigram with, and similarity is pg_trgm's
 * shared / (|a| + |b| - shared).
 */
class KeptRows {
  private readonly byKey = new Map<number | string, Candidate[]>();
  constructor(private readonly byBands: boolean) {}

  private keys(c: Candidate): readonly (number | string)[] {
    return this.byBands ? c.bands : trigramsOf(c.trigrams);
  }

  add(c: Candidate): void {
    for (const key of this.keys(c)) {
      const rows = this.byKey.get(key);
      if (rows) rows.push(c);
      else this.byKey.set(key, [c]);
    }
  }

  mostSimilarTo(c: Candidate): { id: string; similarity: number } | null {
    let best: { id: string; similarity: number } | null = null;
    const consider = (earlier: Candidate, similarity: number) => {
      if (!best || similarity > best.similarity) best = { id: earlier.id, similarity };
    };
    if (this.byBands) {
      const seen = new Set<Candidate>();
      const trigrams = trigramsOf(c.trigrams);
      for (const band of c.bands) {
        for (const earlier of this.byKey.get(band) ?? []) {
          if (seen.has(earlier)) continue;
          seen.add(earlier);
          consider(earlier, trigramSimilarity(trigrams, trigramsOf(earlier.trigrams)));
        }
      }
      return best;
    }
    const trigrams = trigramsOf(c.trigrams);
    const shared = new Map<Candidate, number>();
    for (const trigram of trigrams) for (const earlier of this.byKey.get(trigram) ?? []) shared.set(earlier, (shared.get(earlier) ?? 0) + 1);
    for (const [earlier, count] of shared) {
      consider(earlier, Math.fround(count / (trigrams.length + trigramsOf(earlier.trigrams).length - count)));
    }
    return best;
  }
}

export async function writeBatch(pool: pg.Pool, jobId: string, batch: PreparedBatch, policy: DuplicatePolicy): Promise<BatchResult> {
  const { rows, candidates } = batch;
  const first = rows[0]!.row;
  return withTransaction(pool, async (client) => {
    const { rows: state } = await client.query<{ processedRowCount: number; tenantId: string }>(
      'select processed_row_count as "processedRowCount", tenant_id as "tenantId" from import_job where job_id = $1 for update',
      [jobId],
    );
    if (state.length === 0) throw new Error(`import job ${jobId} no longer exists`);
    const { tenantId, processedRowCount } = state[0]!;
    if (processedRowCount !== first - 1) {
      throw new Error(`import job ${jobId} is at row ${processedRowCount}, not ${first - 1}: another attempt moved it on`);
    }

    const storedExact = new Map<string, string>(); // normalised question -> stored pair id
    const storedNear = new Map<number, { id: string; similarity: number }>(); // row -> best stored match
    if (candidates.length > 0) {
      const exact = await client.query<{ id: string; question_normalised: string }>(
        'select id, question_normalised from qa_pair where question_normalised = any($1::text[]) and tenant_id = $2',
        [candidates.map((c) => c.normalised), tenantId],
      );
      for (const { id, question_normalised } of exact.rows) storedExact.set(question_normalised, id);

      const probes = candidates.filter((c) => !storedExact.has(c.normalised) && c.bands.length > 0);
      if (probes.length > 0) {
        const byBands = policy.similarityThreshold >= BANDS_MIN_THRESHOLD;
        if (!byBands) await client.query(`select set_config('pg_trgm.similarity_threshold', $1, true)`, [String(policy.similarityThreshold)]);
        const near = await client.query<{ row: number; id: string; similarity: number }>(
          `select x.row, m.id, m.similarity
             from jsonb_to_recordset($1::jsonb) as x("row" int, normalised text, bands bigint[])
             cross join lateral (
               select p.id, similarity(p.question_normalised, x.normalised) as similarity
                 from qa_pair p
                where ${byBands ? 'p.question_bands && x.bands' : 'p.question_normalised % x.normalised'}
                  and similarity(p.question_normalised, x.normalised) >= $2
                  -- Compared as an expression: as a plain column the planner may walk
                  -- qa_pair_question_normalised_key over the whole tenant instead of the bands index.
                  and p.tenant_id || '' = $3
                order by similarity desc, p.id
                limit 1
             ) m`,
          [JSON.stringify(probes.map(({ row, normalised, bands }) => ({ row, normalised, bands }))), policy.similarityThreshold, tenantId],
        );
        for (const m of near.rows) storedNear.set(m.row, { id: m.id, similarity: m.similarity });
      }
    }

    // Decide in row order against stored pairs and the batch's earlier kept rows.
    const keptByQuestion = new Map<string, Candidate>();
    const kept = new KeptRows(policy.similarityThreshold >= BANDS_MIN_THRESHOLD);
    const decisions = new Map<number, Decision>();
    const duplicateError = (c: Candidate, id: string, similarity: number): Decision => ({
      error: toErrorRecord(new DuplicateDetectedError(c.row, id, similarity), c.row, c.line),
    });
    for (const c of candidates) {
      const exactId = storedExact.get(c.normalised) ?? keptByQuestion.get(c.normalised)?.id;
      if (exactId) {
        decisions.set(c.row, duplicateError(c, exactId, 1));
        continue;
      }
      let best = storedNear.get(c.row) ?? null;
      const earlier = kept.mostSimilarTo(c);
      if (earlier && earlier.similarity >= policy.similarityThreshold && (!best || earlier.similarity > best.similarity)) best = earlier;
      if (best && policy.action === 'REJECT') {
        decisions.set(c.row, duplicateError(c, best.id, best.similarity));
        continue;
      }
      c.duplicate = best;
      decisions.set(c.row, { keep: c });
      keptByQuestion.set(c.normalised, c);
      kept.add(c);
    }

    const keptRows = candidates.filter((c) => 'keep' in decisions.get(c.row)!);
    const inserted = new Set<string>();
    if (keptRows.length > 0) {
      const json = JSON.stringify(
        keptRows.map((c) => ({
          id: c.id,
          row: c.row,
          question: c.pair.question,
          answer: c.pair.answer,
          tags: c.pair.tags,
          bands: c.bands,
          duplicate_of: c.duplicate?.id ?? null,
          duplicate_similarity: c.duplicate?.similarity ?? null,
        })),
      );
      const insert = await client.query<{ id: string }>(
        `insert into qa_pair (id, question, answer, tags, import_job_id, import_row, question_bands, duplicate_of, duplicate_similarity)
         select x.id, x.question, x.answer, array(select jsonb_array_elements_text(x.tags)), $1, x.row, x.bands,
                x.duplicate_of, x.duplicate_similarity
           from jsonb_to_recordset($2::jsonb) as x(id uuid, "row" int, question text, answer text, tags jsonb, bands bigint[],
                                                   duplicate_of uuid, duplicate_similarity real)
          order by x.row
         on conflict do nothing
         returning id`,
        [jobId, json],
      );
      for (const { id } of insert.rows) inserted.add(id);
      // Turned away by the unique index: a concurrent import stored the same question first.
      const refused = keptRows.filter((c) => !inserted.has(c.id));
      if (refused.length > 0) {
        const found = await client.query<{ id: string; question_normalised: string }>(
          'select id, question_normalised from qa_pair where question_normalised = any($1::text[]) and tenant_id = $2',
          [refused.map((c) => c.normalised), tenantId],
        );
        const byQuestion = new Map(found.rows.map((f) => [f.question_normalised, f.id]));
        for (const c of refused) {
          const id = byQuestion.get(c.normalised);
          if (!id) throw new Error(`row ${c.row} was neither stored nor found to be a duplicate`);
          decisions.set(c.row, duplicateError(c, id, 1));
        }
      }
    }

    const errors: ImportErrorRecord[] = [];
    for (const r of rows) {
      if (r.error) errors.push(r.error);
      else {
        const decision = decisions.get(r.row)!;
        if ('error' in decision) errors.push(decision.error);
      }
    }
    await new ImportJobRepository(client).appendErrors(jobId, errors);
    const { rows: counters } = await client.query<BatchResult>(
      `update import_job
          set processed_row_count = processed_row_count + $2, success_count = success_count + $3,
              error_count = error_count + $4, committed_batch_count = committed_batch_count + 1
        where job_id = $1
        returning processed_row_count as "processedRowCount", success_count as "successCount", error_count as "errorCount"`,
      [jobId, rows.length, inserted.size, errors.length],
    );
    return counters[0]!;
  });
}
