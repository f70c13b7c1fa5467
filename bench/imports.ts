// Import throughput: a 10,000-row CSV (1% malformed, 1% invalid, 1% near
// duplicates) uploaded to an API process and imported by a worker process,
// with 100,000 pairs already stored, so every row's duplicate check searches
// them. Prints rows/second and the worker's peak RSS.
//   npm run bench:imports   (BENCH_IMPORT_ROWS=10000 BENCH_STORED_PAIRS=100000)
import pg from 'pg';
import { uuidOf } from '../src/testing/global-id.ts';
import { postMultipart } from '../src/testing/multipart.ts';
import { nearDuplicateOf, randomQuestion, seededRandom } from '../src/testing/qa-pairs.ts';
import { report, round, spawnCli, startBenchServer } from './support.ts';

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 10_000);
const STORED = Number(process.env.BENCH_STORED_PAIRS ?? 100_000);
const BATCH_SIZE = process.env.IMPORT_BATCH_SIZE ?? '500';

const random = seededRandom(42);
const server = await startBenchServer();
const databaseUrl = await server.database('bench_imports');
const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();

// The stored pairs, 20,000 an insert.
const stored: string[] = [];
const seedStarted = performance.now();
for (let i = 0; i < STORED; i += 20_000) {
  const questions = Array.from({ length: Math.min(20_000, STORED - i) }, () => randomQuestion(random));
  stored.push(...questions);
  await db.query(`insert into qa_pair (question, answer) select q, 'stored answer' from unnest($1::text[]) as q on conflict do nothing`, [questions]);
}
await db.query('analyze qa_pair');
const storedCount = Number((await db.query('select count(*) as n from qa_pair')).rows[0].n);
console.log(`stored ${storedCount} pairs in ${round((performance.now() - seedStarted) / 1000)} s`);

// The file: one malformed, one invalid and one near-duplicate row in every hundred.
const lines = ['question,answer,tags'];
for (let i = 0; i < ROWS; i++) {
  const question = randomQuestion(random);
  if (i % 100 === 37) lines.push(`${question},answer ${i},tags,one field too many`);
  else if (i % 100 === 53) lines.push(`${question},,`);
  else if (i % 100 === 71) lines.push(`${nearDuplicateOf(stored[i % stored.length]!)},answer ${i},`);
  else lines.push(`${question},"answer ${i}, with a comma",bench;t${i % 7}`);
}
const csv = `${lines.join('\n')}\n`;

const settings = { DATABASE_URL: databaseUrl, IMPORT_BATCH_SIZE: BATCH_SIZE };
const api = await spawnCli('serve', settings);
const worker = await spawnCli('work', settings);
try {
  const idleRssMb = await worker.peakRssMb();
  const mutation = 'mutation ($input: CreateImportJobInput!) { createImportJob(input: $input) { __typename ... on MutationCreateImportJobSuccess { data { id } } ... on ValidationError { message } } }';
  const uploadStarted = performance.now();
  const { body } = await postMultipart<{ data?: { createImportJob: { __typename: string; data?: { id: string }; message?: string } } }>(
    api.url!,
    mutation,
    { input: { file: null } },
    [{ at: 'variables.input.file', name: 'bench.csv', content: csv, type: 'text/csv' }],
  );
  const created = body.data?.createImportJob;
  if (created?.__typename !== 'MutationCreateImportJobSuccess') throw new Error(`upload refused: ${JSON.stringify(body)}`);
  const uploadMs = performance.now() - uploadStarted;
  const jobId = uuidOf(created.data!.id);

  // The job's own timestamps give the import's duration; LISTEN wakes the wait.
  await db.query('listen jobwire_job');
  type Row = { status: string; started_at: Date | null; completed_at: Date | null; success_count: number; error_count: number; processed_rows: number };
  const read = async () =>
    (
      await db.query<Row>(
        `select status, started_at, completed_at, success_count, error_count, processed_rows
           from job join import_job on job_id = id where id = $1`,
        [jobId],
      )
    ).rows[0]!;
  let row = await read();
  while (!['COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'].includes(row.status)) {
    await new Promise<void>((resolve) => {
      const wake = () => resolve();
      db.once('notification', wake);
      setTimeout(() => {
        db.off('notification', wake);
        resolve();
      }, 1000);
    });
    row = await read();
  }
  if (row.status !== 'COMPLETED') throw new Error(`the import ended ${row.status}`);
  const importSeconds = (row.completed_at!.getTime() - row.started_at!.getTime()) / 1000;
  const peakRssMb = await worker.peakRssMb();

  await report('imports', [
    {
      rows: ROWS,
      'stored pairs': storedCount,
      'file MB': round(csv.length / 1024 / 1024, 2),
      'batch size': Number(BATCH_SIZE),
      'upload ms': Math.round(uploadMs),
      'import s': round(importSeconds, 2),
      'rows/s': Math.round(ROWS / importSeconds),
      stored: row.success_count,
      'bad rows': row.error_count,
      'worker RSS idle MB': Math.round(idleRssMb),
      'worker RSS peak MB': Math.round(peakRssMb),
    },
  ]);
} finally {
  await db.end();
  await worker.stop();
  await api.stop();
  await server.stop();
}
