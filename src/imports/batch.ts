// Writes one batch of rows in one transaction: the pairs that are new, the
// errors of the rows that are not, and the job's counters (whose
// processed_rows is the resume point). A retry resumes after the last
// committed batch; a batch that does not follow it (another worker moved the
// import on) is refused, so no row is imported twice.
//
// Duplicates are found by the database, after normalising the question
// (qa_normalise_question): exact ones by qa_pair's unique index, near ones by
// pg_trgm similarity (GIN index) against stored pairs and the batch's earlier
// rows. The batch is inserted first so one query compares it with both; rows
// found to be near duplicates are deleted again before the commit.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from '../db/pool.ts';
import { DuplicateDetectedError, toErrorRecord, type ImportErrorRecord } from './errors.ts';
import { appendErrors } from './repository.ts';
import type { QaPairInput } from './validation.ts';

/** One row of the file, read and validated: a pair to store, or why not. */
export type BatchRow = { row: number; line: number } & ({ pair: QaPairInput; error?: undefined } | { error: ImportErrorRecord; pair?: undefined });

export interface BatchResult {
  /** Rows 1..processedRows are now written. */
  processedRows: number;
  successCount: number;
  errorCount: number;
}

/** A near-duplicate candidate of an inserted row (up to this many each). */
const MATCHES_PER_ROW = 5;

interface Match {
  row: number;
  id: string;
  /** The match is a row of this batch (then it counts only if it was kept). */
  in_batch: boolean;
  similarity: number;
}

export async function writeBatch(
  pool: pg.Pool,
  jobId: string,
  rows: readonly BatchRow[],
  options: { similarityThreshold: number },
): Promise<BatchResult> {
  const first = rows[0]!.row;
  return withTransaction(pool, async (client) => {
    const { rows: state } = await client.query<{ processed_rows: number }>(
      'select processed_rows from import_job where job_id = $1 for update',
      [jobId],
    );
    if (state.length === 0) throw new Error(`import job ${jobId} no longer exists`);
    if (state[0]!.processed_rows !== first - 1) {
      throw new Error(`import job ${jobId} is at row ${state[0]!.processed_rows}, not ${first - 1}: another attempt moved it on`);
    }

    const candidates = rows.flatMap((r) => (r.pair ? [{ id: randomUUID(), row: r.row, line: r.line, ...r.pair }] : []));
    const inserted = new Set<string>();
    const matches = new Map<number, Match[]>();
    const conflicts = new Map<number, { id: string; row: number | null; in_batch: boolean }>();
    if (candidates.length > 0) {
      const json = JSON.stringify(candidates.map(({ id, row, question, answer, tags }) => ({ id, row, question, answer, tags })));
      const insert = await client.query<{ id: string }>(
        `insert into qa_pair (id, question, answer, tags, import_job_id, import_row)
         select x.id, x.question, x.answer, array(select jsonb_array_elements_text(x.tags)), $1, x.row
           from jsonb_to_recordset($2::jsonb) as x(id uuid, "row" int, question text, answer text, tags jsonb)
          order by x.row
         on conflict do nothing
         returning id`,
        [jobId, json],
      );
      for (const { id } of insert.rows) inserted.add(id);

      // Exact duplicates: the rows the unique index turned away, and whom they collided with.
      if (inserted.size < candidates.length) {
        const refused = candidates.filter((c) => !inserted.has(c.id)).map(({ row, question }) => ({ row, question }));
        const found = await client.query<{ row: number; id: string; import_row: number | null; in_batch: boolean }>(
          `select x.row, p.id, p.import_row, (p.import_job_id = $1 and p.import_row >= $3) as in_batch
             from jsonb_to_recordset($2::jsonb) as x("row" int, question text)
             join qa_pair p on p.question_normalised = qa_normalise_question(x.question)
                           and p.tenant_id = (select tenant_id from job where id = $1)`,
          [jobId, JSON.stringify(refused), first],
        );
        for (const f of found.rows) conflicts.set(f.row, { id: f.id, row: f.import_row, in_batch: f.in_batch });
      }

      // Near duplicates of each inserted row among stored pairs and the batch's earlier rows.
      if (inserted.size > 0) {
        await client.query(`select set_config('pg_trgm.similarity_threshold', $1, true)`, [String(options.similarityThreshold)]);
        const near = await client.query<Match>(
          `select a.import_row as row, m.id, m.in_batch, m.similarity
             from qa_pair a
             cross join lateral (
               select b.id, (b.import_job_id = $1 and b.import_row >= $3) as in_batch,
                      similarity(b.question_normalised, a.question_normalised) as similarity
                 from qa_pair b
                where b.question_normalised % a.question_normalised
                  and b.id <> a.id
                  -- Per tenant, compared as an expression: as a plain column the planner
                  -- walks qa_pair_question_normalised_key over the whole tenant instead of the trigram index.
                  and b.tenant_id || '' = a.tenant_id
                  and (b.import_job_id is distinct from $1 or b.import_row < a.import_row)
                order by similarity desc, b.id
                limit ${MATCHES_PER_ROW}
             ) m
            where a.id = any($2::uuid[])`,
          [jobId, [...inserted], first],
        );
        for (const m of near.rows) matches.set(m.row, [...(matches.get(m.row) ?? []), m]);
      }
    }

    // Decide in row order: a row is a duplicate of a stored pair, or of an
    // earlier row of this batch that was kept.
    const kept = new Set(inserted);
    const errors: ImportErrorRecord[] = [];
    const duplicateOf = new Map<string, { id: string; similarity: number }>(); // rejected id -> what it duplicates
    const candidateByRow = new Map(candidates.map((c) => [c.row, c]));
    const idByRow = new Map(candidates.map((c) => [c.row, c.id]));
    for (const r of rows) {
      if (r.error) {
        errors.push(r.error);
        continue;
      }
      const candidate = candidateByRow.get(r.row)!;
      let duplicate: { id: string; similarity: number } | null = null;
      if (!inserted.has(candidate.id)) {
        const conflict = conflicts.get(r.row);
        if (!conflict) throw new Error(`row ${r.row} was neither stored nor found to be a duplicate`);
        // Equal to an earlier row of this batch that was itself a near duplicate: a duplicate of what that was.
        const earlierId = conflict.in_batch && conflict.row !== null ? idByRow.get(conflict.row) : undefined;
        duplicate = earlierId && duplicateOf.has(earlierId) ? duplicateOf.get(earlierId)! : { id: conflict.id, similarity: 1 };
      } else {
        const valid = (matches.get(r.row) ?? []).filter((m) => !m.in_batch || kept.has(m.id));
        const best = valid.reduce<Match | null>((top, m) => (top && top.similarity >= m.similarity ? top : m), null);
        if (best) {
          duplicate = { id: best.id, similarity: best.similarity };
          kept.delete(candidate.id);
          duplicateOf.set(candidate.id, duplicate);
        }
      }
      if (duplicate) {
        errors.push(toErrorRecord(new DuplicateDetectedError(r.row, duplicate.id, duplicate.similarity), r.row, r.line));
      }
    }
    const rejected = [...inserted].filter((id) => !kept.has(id));
    if (rejected.length > 0) await client.query('delete from qa_pair where id = any($1::uuid[])', [rejected]);

    await appendErrors(client, jobId, errors);
    const { rows: counters } = await client.query<{ processed_rows: number; success_count: number; error_count: number }>(
      `update import_job
          set processed_rows = processed_rows + $2, success_count = success_count + $3,
              error_count = error_count + $4, committed_batches = committed_batches + 1
        where job_id = $1
        returning processed_rows, success_count, error_count`,
      [jobId, rows.length, kept.size, errors.length],
    );
    const result = counters[0]!;
    return { processedRows: result.processed_rows, successCount: result.success_count, errorCount: result.error_count };
  });
}
