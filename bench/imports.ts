// Import throughput with near-duplicate checks on: a CSV (1% malformed, 1%
// invalid, 1% near duplicates of stored pairs) uploaded to an API process and
// imported by a worker process, once per scenario of stored pairs (by default
// 50,000 rows against 100,000 stored pairs, then another 50,000 against
// 1,000,000). Prints rows/second end to end (the job's started_at to
// completed_at) and the worker's peak RSS.
//   npm run bench:imports
//   BENCH_IMPORT_ROWS=10000 BENCH_STORED_PAIRS=100000,300000 npm run bench:imports   (smaller)
import pg from 'pg';
import { questionBands } from '../src/imports/question-bands.ts';
import { uuidOf } from '../src/testing/global-id.ts';
import { postMultipart } from '../src/testing/multipart.ts';
import { nearDuplicateOf, randomQuestion, seededRandom } from '../src/testing/qa-pairs.ts';
import { buildService, report, round, spawnCli, startBenchServer, waitForJobEnd } from './support.ts';

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 50_000);
const SCENARIOS = (process.env.BENCH_STORED_PAIRS ?? '100000,1000000').split(',').map(Number);
const BATCH_SIZE = process.env.IMPORT_BATCH_SIZE ?? '500';
const SEED_CHUNK = 20_000;

const random = seededRandom(42);
const server = await startBenchServer();
const databaseUrl = await server.database('bench_imports');
const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();

/**
 * Stores pairs as an import would (with their MinHash bands), the GIN
 * indexes dropped meanwhile and built again after: seeding a million pairs
 * row by row through them would take longer than the benchmark. Two
 * connections take the chunks in turn, so one computes bands in this process
 * while the other's insert runs in Postgres, and the two GIN indexes are built
 * side by side, with room to sort in memory (only the setup is faster: the
 * rows stored are the same).
 */
async function seed(count: number, stored: string[]) {
  const { rows: indexes } = await db.query<{ indexname: string; indexdef: string }>(
    `select indexname, indexdef from pg_indexes where tablename = 'qa_pair' and indexdef like '%USING gin%'`,
  );
  for (const { indexname } of indexes) await db.query(`drop index ${indexname}`);
  // Generated first, in order: the questions do not depend on which connection stores them.
  const chunks: string[][] = [];
  for (let i = 0; i < count; i += SEED_CHUNK) chunks.push(Array.from({ length: Math.min(SEED_CHUNK, count - i) }, () => randomQuestion(random)));
  for (const questions of chunks) stored.push(...questions);
  const second = new pg.Client({ connectionString: databaseUrl });
  await second.connect();
  try {
    let next = 0;
    const lane = async (client: pg.Client) => {
      for (let index = next++; index < chunks.length; index = next++) {
        const questions = chunks[index]!;
        const { rows } = await client.query<{ trigrams: string[] }>(
          'select show_trgm(qa_normalise_question(q)) as trigrams from unnest($1::text[]) with ordinality as x(q, n) order by n',
          [questions],
        );
        await client.query(
          `insert into qa_pair (question, answer, question_bands)
           select x.question, 'stored answer', x.bands from jsonb_to_recordset($1::jsonb) as x(question text, bands bigint[])
           on conflict do nothing`,
          [JSON.stringify(questions.map((question, n) => ({ question, bands: questionBands(rows[n]!.trigrams) })))],
        );
      }
    };
    await Promise.all([lane(db), lane(second)]);
    for (const client of [db, second]) await client.query(`set maintenance_work_mem = '256MB'`);
    const builds = [...indexes];
    await Promise.all([db, second].map(async (client) => {
      for (let index = builds.shift(); index; index = builds.shift()) await client.query(index.indexdef);
    }));
  } finally {
    await second.end();
  }
  await db.query('vacuum analyze qa_pair');
}

/** One malformed, one invalid and one near-duplicate row in every hundred. */
function csvFile(stored: readonly string[]): string {
  const lines = ['question,answer,tags'];
  for (let i = 0; i < ROWS; i++) {
    const question = randomQuestion(random);
    if (i % 100 === 37) lines.push(`${question},answer ${i},tags,one field too many`);
    else if (i % 100 === 53) lines.push(`${question},,`);
    else if (i % 100 === 71) lines.push(`${nearDuplicateOf(stored[Math.floor(random() * stored.length)]!)},answer ${i},`);
    else lines.push(`${question},"answer ${i}, with a comma",bench;t${i % 7}`);
  }
  return `${lines.join('\n')}\n`;
}

type JobRow = { status: string; started_at: Date | null; completed_at: Date | null; success_count: number; error_count: number };

async function runImport(apiUrl: string, csv: string): Promise<{ uploadMs: number; job: JobRow }> {
  const mutation = 'mutation ($input: CreateImportJobInput!) { createImportJob(input: $input) { __typename ... on MutationCreateImportJobSuccess { data { id } } ... on ValidationError { message } } }';
  const uploadStarted = performance.now();
  const { body } = await postMultipart<{ data?: { createImportJob: { __typename: string; data?: { id: string }; message?: string } } }>(
    apiUrl,
    mutation,
    { input: { file: null } },
    [{ at: 'variables.input.file', name: 'bench.csv', content: csv, type: 'text/csv' }],
  );
  const created = body.data?.createImportJob;
  if (created?.__typename !== 'MutationCreateImportJobSuccess') throw new Error(`upload refused: ${JSON.stringify(body)}`);
  const uploadMs = performance.now() - uploadStarted;
  const jobId = uuidOf(created.data!.id);

  // The job's own timestamps give the import's duration; LISTEN wakes the wait.
  const read = async () =>
    (
      await db.query<JobRow>(
        `select status, started_at, completed_at, success_count, error_count
           from job join import_job on job_id = id where id = $1`,
        [jobId],
      )
    ).rows[0]!;
  const job = await waitForJobEnd(db, read);
  if (job.status !== 'COMPLETED') throw new Error(`the import ended ${job.status}`);
  return { uploadMs, job };
}

await db.query('listen jobwire_job');
const settings = { DATABASE_URL: databaseUrl, IMPORT_BATCH_SIZE: BATCH_SIZE };
// The worker runs as in production (`npm start`: the compiled build); BENCH_RUNTIME=tsx runs the sources.
const RUNTIME = process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'dist';
if (RUNTIME === 'dist') buildService();
const api = await spawnCli('serve', settings, RUNTIME);
const worker = await spawnCli('work', settings, RUNTIME);
const rows: Array<Record<string, unknown>> = [];
try {
  const idleRssMb = await worker.peakRssMb();
  const stored: string[] = [];
  for (const target of SCENARIOS) {
    const seedStarted = performance.now();
    const have = Number((await db.query('select count(*) as n from qa_pair')).rows[0].n);
    if (target > have) await seed(target - have, stored);
    const storedCount = Number((await db.query('select count(*) as n from qa_pair')).rows[0].n);
    console.log(`${storedCount} pairs stored (seeding took ${round((performance.now() - seedStarted) / 1000)} s)`);

    const csv = csvFile(stored);
    const { uploadMs, job } = await runImport(api.url!, csv);
    const importSeconds = (job.completed_at!.getTime() - job.started_at!.getTime()) / 1000;
    rows.push({
      rows: ROWS,
      'stored pairs': storedCount,
      'file MB': round(csv.length / 1024 / 1024, 2),
      'batch size': Number(BATCH_SIZE),
      'upload ms': Math.round(uploadMs),
      'import s': round(importSeconds, 2),
      'rows/s': Math.round(ROWS / importSeconds),
      stored: job.success_count,
      'bad rows': job.error_count,
      'worker RSS idle MB': Math.round(idleRssMb),
      'worker RSS peak MB': Math.round(await worker.peakRssMb()),
      worker: RUNTIME === 'dist' ? 'node dist/main.js work' : 'tsx src/main.ts work',
    });
    console.table(rows.slice(-1));
  }
  // The targets (docs/benchmarks.md#imports): ≥ 2,000 rows/s against 100,000 stored pairs, ≥ 1,000 against 1,000,000, the worker ≤ 300 MB.
  const floor = (pairs: number) => (pairs >= 1_000_000 ? 1000 : pairs >= 100_000 ? 2000 : null);
  const headline = rows.flatMap((row) => {
    const pairs = Number(row['stored pairs']);
    const rate = Number(row['rows/s']);
    const min = floor(pairs);
    return [{ figure: `rows/s against ${pairs.toLocaleString('en')} stored pairs`, value: rate, ...(min ? { target: `≥ ${min.toLocaleString('en')}`, held: rate >= min } : {}) }];
  });
  const peak = Math.max(...rows.map((row) => Number(row['worker RSS peak MB'])));
  headline.push({ figure: 'worker peak RSS MB', value: peak, target: '≤ 300', held: peak <= 300 });
  await report('imports', rows, { headline });
} finally {
  await db.end();
  await worker.stop();
  await api.stop();
  await server.stop();
}
