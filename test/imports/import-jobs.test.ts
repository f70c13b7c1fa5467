// ImportJob end to end: uploads over GraphQL multipart requests, a real
// worker, a live jobUpdated subscriber. Each import pauses after its first
// batch until the test lets it go on (so a subscriber or a cancel is in place
// before the rest runs), through the handler's onBatchCommitted hook.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/service-config.ts';
import { createImportHandler } from '../../src/imports/handler.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { STATEMENT_MAX_BYTES } from '../../src/portfolios/kind.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import { startTestApp, TEST_ENV, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { nearDuplicateOf, randomQuestion, seededRandom } from '../../src/testing/qa-pairs.ts';
import {
  createdImport,
  postImport,
  toCsv,
  toJsonArray,
  toJsonLines,
  toText,
  uploadImport,
  type Pair,
} from '../support/imports.ts';
import { GetImportJob, ImportCountsByOldNames, ImportJobUpdated, ListImportJobs, QaPairs } from '../support/operations-imports.ts';
import { CancelJob, RetryJob } from '../support/operations.ts';
import { deferred } from '../support/wait.ts';

const BATCH_SIZE = 500;
const UPLOAD_MAX_BYTES = 4 * 1024 * 1024;

let db: TestDatabase;
let service: TestApp;

/** Per job: opened by the test to let the import go on after its first batch. */
const gates = new Map<string, ReturnType<typeof deferred<void>>>();
const gateOf = (jobId: string) => {
  if (!gates.has(jobId)) gates.set(jobId, deferred<void>(`the test to let import ${jobId} go on`, 60_000));
  return gates.get(jobId)!;
};
const letGo = (jobId: string) => gateOf(jobId).resolve();
/** The UUID inside a Job's global ID. */

beforeAll(async () => {
  db = await createTestDatabase();
  const env = { IMPORT_BATCH_SIZE: String(BATCH_SIZE), IMPORT_UPLOAD_MAX_BYTES: String(UPLOAD_MAX_BYTES), IMPORT_SIMILARITY_THRESHOLD: '0.8' };
  const config = loadConfig({ ...TEST_ENV, ...env, DATABASE_URL: db.url });
  const registry = new HandlerRegistry().register(
    createImportHandler({
      pool: db.pool,
      config,
      onBatchCommitted: async (jobId, result, signal) => {
        if (result.processedRowCount > BATCH_SIZE) return;
        const aborted = new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve())));
        await Promise.race([gateOf(jobId).promise, aborted]);
      },
    }),
  );
  service = await startTestApp(db.url, { registry, env });
});

type Update = { status: string; rowCount: number; processedRowCount: number; successCount: number; errorCount: number };

/** Uploads, subscribes, lets the import go on once the subscriber is live; resolves with what it saw. */
async function runImport(file: { name: string; content: string }, until = 'COMPLETED') {
  const job = createdImport(await uploadImport(service.client, file));
  const updates = service.client.subscribe(ImportJobUpdated, { id: job.id });
  await updates.waitFor('the current state', (r) => r.length > 0);
  letGo(uuidOf(job.id));
  const received = await updates.waitFor(until, (r) => r.some((u) => u.jobUpdated.status === until), 60_000);
  updates.close();
  const seen = received.map((u) => u.jobUpdated as Update & { __typename: string });
  return { job, seen };
}

async function storedPairs(jobId: string) {
  const { rows } = await db.pool.query<{ question: string; answer: string; tags: string[]; import_row: number }>(
    'select question, answer, tags, import_row from qa_pair where import_job_id = $1 order by import_row',
    [uuidOf(jobId)],
  );
  return rows;
}

describe('a 10,000-row CSV with 1% malformed, 1% invalid and 1% duplicate rows', () => {
  it('stores the 9,700 good rows, reports each bad one with its row, line and field, and a subscriber sees the counters rise to COMPLETED', async () => {
    const random = seededRandom(1);
    // Pairs stored before the import: some rows of the file repeat them nearly.
    const stored = Array.from({ length: 200 }, () => randomQuestion(random));
    const { rows: storedIds } = await db.pool.query<{ id: string; question: string }>(
      `insert into qa_pair (question, answer) select q, 'stored answer' from unnest($1::text[]) as q returning id, question`,
      [stored],
    );
    const storedId = new Map(storedIds.map((r) => [r.question, r.id]));

    const lines = ['Tags,Question,ANSWER']; // any order, any case
    let line = 2;
    const expected = new Map<number, { type: string; line: number; field: string | null; duplicateOf?: string | number; exact?: boolean }>();
    const questions: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const row = i + 1;
      let record: string;
      const question = randomQuestion(random);
      questions.push(question);
      if (i % 100 === 37) {
        // Malformed: a field too many, or a quote inside an unquoted field.
        record = i % 200 === 37 ? `t,${question},answer,extra` : `t,${question.slice(0, 5)}"oops,answer`;
        expected.set(row, { type: 'ParseError', line, field: null });
      } else if (i % 100 === 53) {
        const kind = (i / 100) % 4 | 0;
        const [rec, field] = (
          [
            [`t,${question},`, 'answer'],
            [`t,${'x'.repeat(1001)},answer`, 'question'],
            [`${'y'.repeat(51)},${question},answer`, 'tags'],
            [`t,"   ",answer`, 'question'],
          ] as const
        )[kind]!;
        record = rec;
        expected.set(row, { type: 'ImportValidationError', line, field });
      } else if (i % 100 === 71) {
        // Duplicates: of a stored pair (first half of the file) or of a row 30 earlier; every fourth one exact.
        const original = i < 5000 ? stored[i / 100 | 0]! : questions[i - 30]!;
        const exact = (i / 100 | 0) % 4 === 0;
        const repeat = exact ? `  ${original.toUpperCase().replace(' ', '   ')} ` : nearDuplicateOf(original);
        record = `t,"${repeat}",answer ${row}`;
        expected.set(row, { type: 'DuplicateDetectedError', line, field: 'question', duplicateOf: i < 5000 ? storedId.get(original)! : i - 30 + 1, exact });
      } else if (i % 10 === 3) {
        // RFC 4180: a quoted answer over two lines, with quotes and a comma.
        record = `a;b,${question},"Say ""yes"",\nthen go on (${row})"`;
      } else {
        record = `tag${i % 7},${question},answer ${row}`;
      }
      lines.push(record);
      line += 1 + (record.match(/\n/g)?.length ?? 0);
    }
    const csv = `\uFEFF${lines.join('\r\n')}\r\n`;

    const { job, seen } = await runImport({ name: 'pairs.csv', content: csv });
    expect(job.sourceType).toBe('CSV');
    expect(job.filename).toBe('pairs.csv');

    // Live: counters only rise, through values in between, and end COMPLETED.
    expect(seen.at(-1)).toMatchObject({ status: 'COMPLETED', rowCount: 10_000, processedRowCount: 10_000, successCount: 9_700, errorCount: 300 });
    for (let k = 1; k < seen.length; k++) {
      expect(seen[k]!.processedRowCount).toBeGreaterThanOrEqual(seen[k - 1]!.processedRowCount);
      expect(seen[k]!.successCount).toBeGreaterThanOrEqual(seen[k - 1]!.successCount);
      expect(seen[k]!.errorCount).toBeGreaterThanOrEqual(seen[k - 1]!.errorCount);
    }
    expect(new Set(seen.map((u) => u.processedRowCount)).size).toBeGreaterThan(3);

    const result = await service.client.request(GetImportJob, { id: job.id, errorsFirst: 100 });
    const imported = result.importJob!;
    expect(imported).toMatchObject({ status: 'COMPLETED', importStatus: 'COMPLETED', successCount: 9_700, errorCount: 300 });
    expect(imported.result).toEqual({ rowCount: 10_000, successCount: 9_700, errorCount: 300 });
    expect(imported.errors.totalCount).toBe(300);

    // Every bad row, paged through, is the one we wrote, where we wrote it.
    const errors = [...imported.errors.edges.map((e) => e.node)];
    for (let page = imported.errors.pageInfo; page.hasNextPage; ) {
      const next = (await service.client.request(GetImportJob, { id: job.id, errorsFirst: 100, errorsAfter: page.endCursor })).importJob!;
      errors.push(...next.errors.edges.map((e) => e.node));
      page = next.errors.pageInfo;
    }
    expect(errors).toHaveLength(300);
    const ids = new Map((await storedPairs(job.id)).map((p) => [p.import_row, p]));
    const { rows: idRows } = await db.pool.query<{ id: string; import_row: number }>('select id, import_row from qa_pair where import_job_id = $1', [uuidOf(job.id)]);
    const idOfRow = new Map(idRows.map((r) => [r.import_row, r.id]));
    for (const error of errors) {
      const want = expected.get(error.row);
      expect(want, `row ${error.row} was reported: ${error.message}`).toBeDefined();
      expect({ row: error.row, type: error.type, line: error.line, field: error.field }).toEqual({ row: error.row, type: want!.type, line: want!.line, field: want!.field });
      if (want!.type === 'DuplicateDetectedError') {
        const existing = typeof want!.duplicateOf === 'number' ? idOfRow.get(want!.duplicateOf) : want!.duplicateOf;
        expect(error.existingId).toBe(existing);
        if (want!.exact) expect(error.similarity).toBe(1);
        else expect(error.similarity).toBeGreaterThanOrEqual(0.8);
      }
      if (want!.type === 'ParseError') expect(error.rawData).toBeTruthy();
    }
    expect(new Set(errors.map((e) => e.row)).size).toBe(300);
    expect(errors.map((e) => e.row)).toEqual([...errors.map((e) => e.row)].sort((a, b) => a - b));

    // The good rows, once each, as written (the multi-line answer with its quotes and comma).
    expect(ids.size).toBe(9_700);
    expect(ids.get(4)).toEqual({ question: questions[3], answer: 'Say "yes",\nthen go on (4)', tags: ['a', 'b'], import_row: 4 });
    expect(ids.get(1)).toMatchObject({ question: questions[0], answer: 'answer 1', tags: ['tag0'] });

    // The seed's JSON list holds the same records (fewer than its cap of 1,000).
    const { rows: listed } = await db.pool.query<{ errors: Array<{ row: number; type: string }> }>('select errors from import_job where job_id = $1', [uuidOf(job.id)]);
    expect(listed[0]!.errors.map((e) => e.row)).toEqual(errors.map((e) => e.row));

    const search = await service.client.request(QaPairs, { search: `  ${questions[1]!.slice(0, 12).toUpperCase()} `, first: 5 });
    expect(search.qaPairs.edges.map((e) => e.node.question)).toContain(questions[1]);
  });
});

describe('formats', () => {
  it('the same pairs as CSV, JSON array, JSON Lines and text give the same stored pairs', async () => {
    const random = seededRandom(2);
    const pairs: Pair[] = Array.from({ length: 300 }, (_, i) => ({
      question: randomQuestion(random),
      answer: i % 3 === 0 ? `First line, "quoted";\nsecond line ${i} — ünïcödé` : `answer ${i}`,
      tags: i % 2 === 0 ? ['alpha', `t${i % 5}`] : [],
    }));
    const files = [
      { name: 'pairs.csv', content: toCsv(pairs) },
      { name: 'pairs.json', content: toJsonArray(pairs) },
      { name: 'pairs.jsonl', content: toJsonLines(pairs) },
      { name: 'pairs.txt', content: toText(pairs) },
      // Detected from the content when the name does not tell.
      { name: 'pairs-lines', content: toJsonLines(pairs) },
      { name: 'pairs-text', content: toText(pairs) },
    ];
    const results: unknown[] = [];
    for (const file of files) {
      await db.pool.query('delete from qa_pair');
      const { job, seen } = await runImport(file);
      expect(seen.at(-1), file.name).toMatchObject({ status: 'COMPLETED', rowCount: 300, successCount: 300, errorCount: 0 });
      results.push((await storedPairs(job.id)).map(({ question, answer, tags }) => ({ question, answer, tags })));
    }
    expect(results[0]).toEqual(pairs);
    for (const result of results.slice(1)) expect(result).toEqual(results[0]);
    await db.pool.query('delete from qa_pair');
  });
});

describe('cancel and retry', () => {
  it('cancel stops at the batch boundary and keeps the committed rows; retry imports every valid row exactly once', async () => {
    const random = seededRandom(3);
    const pairs: Pair[] = Array.from({ length: 2_600 }, (_, i) => ({ question: randomQuestion(random), answer: `answer ${i}`, tags: [] }));
    // A bad row in every batch, so the errors are resumed too.
    const csvRows = toCsv(pairs).split('\r\n');
    for (let row = 250; row < csvRows.length; row += BATCH_SIZE) csvRows[row] = 'broken,"row",with,too,many,fields';
    const invalid = Math.floor((csvRows.length - 2 - 250) / BATCH_SIZE) + 1;
    const file = { name: 'cancel.csv', content: csvRows.join('\r\n') };

    const job = createdImport(await uploadImport(service.client, file));
    const updates = service.client.subscribe(ImportJobUpdated, { id: job.id });
    await updates.waitFor('the first batch', (r) => r.some((u) => u.jobUpdated.__typename === 'ImportJob' && u.jobUpdated.processedRowCount === BATCH_SIZE));
    const cancelled = await service.client.request(CancelJob, { id: job.id });
    expect(cancelled.cancelJob.__typename).toBe('MutationCancelJobSuccess');
    await updates.waitFor('CANCELLED', (r) => r.some((u) => u.jobUpdated.status === 'CANCELLED'));

    const afterCancel = (await service.client.request(GetImportJob, { id: job.id })).importJob!;
    expect(afterCancel).toMatchObject({ status: 'CANCELLED', importStatus: 'CANCELLED', processedRowCount: BATCH_SIZE, successCount: BATCH_SIZE - 1, errorCount: 1 });
    // The deprecated names (totalRows, processedRows) answer what the new ones do (here the two differ).
    const counts = (await service.client.request(ImportCountsByOldNames, { id: job.id })).importJob!;
    expect(counts.rowCount).toBeGreaterThan(counts.processedRowCount);
    expect({ totalRows: counts.totalRows, processedRows: counts.processedRows }).toEqual({ totalRows: counts.rowCount, processedRows: counts.processedRowCount });
    expect(await storedPairs(job.id)).toHaveLength(BATCH_SIZE - 1);

    const retried = await service.client.request(RetryJob, { id: job.id });
    expect(retried.retryJob.__typename).toBe('MutationRetryJobSuccess');
    await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));
    updates.close();

    const total = csvRows.filter((r) => r !== '').length - 1;
    const done = (await service.client.request(GetImportJob, { id: job.id, errorsFirst: 100 })).importJob!;
    expect(done).toMatchObject({ status: 'COMPLETED', rowCount: total, processedRowCount: total, successCount: total - invalid, errorCount: invalid });
    expect(done.errors.edges.map((e) => e.node.row)).toEqual(Array.from({ length: invalid }, (_, k) => 250 + k * BATCH_SIZE));
    const rows = await storedPairs(job.id);
    expect(rows).toHaveLength(total - invalid);
    expect(new Set(rows.map((r) => r.import_row)).size).toBe(rows.length);
    const expectedQuestions = pairs.filter((_, i) => !((i + 1 - 250) % BATCH_SIZE === 0 && i + 1 >= 250)).map((p) => p.question);
    expect(rows.map((r) => r.question)).toEqual(expectedQuestions);
  });
});

describe('error list', () => {
  it('keeps the first 1,000 errors in the JSON list while errorCount and the paginated errors have them all', async () => {
    const content = `question,answer\n${Array.from({ length: 1_200 }, (_, i) => `question ${i},`).join('\n')}\n`;
    const { job, seen } = await runImport({ name: 'empty-answers.csv', content });
    expect(seen.at(-1)).toMatchObject({ status: 'COMPLETED', processedRowCount: 1_200, successCount: 0, errorCount: 1_200 });
    const { rows } = await db.pool.query<{ n: number; errors: number }>(
      `select (select count(*)::int from import_error where job_id = $1) as n,
              (select jsonb_array_length(errors) from import_job where job_id = $1) as errors`,
      [uuidOf(job.id)],
    );
    expect(rows[0]).toEqual({ n: 1_200, errors: 1_000 });
    const page = (await service.client.request(GetImportJob, { id: job.id, errorsFirst: 2 })).importJob!;
    expect(page.errors.totalCount).toBe(1_200);
    expect(page.errors.edges.map((e) => e.node)).toEqual([
      expect.objectContaining({ type: 'ImportValidationError', row: 1, line: 2, field: 'answer', message: 'answer is required (it is empty)' }),
      expect.objectContaining({ row: 2, line: 3, field: 'answer' }),
    ]);
    const list = await service.client.request(ListImportJobs, { status: 'COMPLETED', first: 1 });
    expect(list.importJobs.edges[0]!.node).toMatchObject({ id: job.id, filename: 'empty-answers.csv' });
  });
});

describe('bad files get a clear error and change nothing', () => {
  const counts = async () =>
    (
      await db.pool.query(
        `select (select count(*) from job)::int as jobs, (select count(*) from import_job)::int as imports,
                (select count(*) from import_file)::int as parts, (select count(*) from qa_pair)::int as pairs,
                (select count(*) from import_error)::int as errors, (select count(*) from job_event)::int as events`,
      )
    ).rows[0];
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]);
  const cases: Array<[string, { name: string; content: string | Uint8Array<ArrayBuffer> }, string, RegExp]> = [
    ['an empty file', { name: 'empty.csv', content: '' }, 'file', /is empty/],
    ['a file of white space', { name: 'blank.txt', content: ' \n\n  \n' }, 'file', /is empty \(only white space\)/],
    ['a binary file', { name: 'picture.png', content: png }, 'file', /not a UTF-8 text file/],
    ['a CSV without the answer column', { name: 'pairs.csv', content: 'question,reply\nq,a\n' }, 'file', /must name the columns question and answer.*missing answer/],
    ['JSON that is neither an array nor JSON Lines', { name: 'pairs.json', content: '"just a string"' }, 'file', /array of objects or JSON Lines/],
    ['a file of unknown format', { name: 'notes', content: 'hello there\n' }, 'sourceType', /cannot tell the format of "notes"/],
    ['a file over the limit', { name: 'big.csv', content: `question,answer\n${'q,a\n'.repeat(UPLOAD_MAX_BYTES / 4)}` }, 'file', new RegExp(`must be at most ${UPLOAD_MAX_BYTES} bytes`)],
  ];
  it.each(cases)('%s', async (_name, file, field, message) => {
    const before = await counts();
    const result = await uploadImport(service.client, file);
    expect(result).toMatchObject({ __typename: 'ValidationError', field, message: expect.stringMatching(message) });
    expect(await counts()).toEqual(before);
  });

  it('a file over the largest upload limit is cut off while it streams in: HTTP 413', async () => {
    const before = await counts();
    const tooLarge = STATEMENT_MAX_BYTES + 1;
    const { status, body } = await postImport(service.client, { name: 'huge.csv', content: `question,answer\n${'q'.repeat(tooLarge)}` });
    expect(status).toBe(413);
    expect(body.errors).toEqual([expect.objectContaining({ message: `File size limit exceeded: ${STATEMENT_MAX_BYTES} bytes` })]);
    expect(await counts()).toEqual(before);
  });
});
