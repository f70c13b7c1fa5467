// First sync of a large budget: a budget of 100,000 transactions served by the
// local YNAB server (src/testing/ynab-server.ts, pages of
// YNAB_TRANSACTIONS_PAGE_SIZE) and synced by a worker process into Postgres.
// Prints transactions stored per second (the job's started_at to
// completed_at) and the worker's peak RSS.
//   npm run bench:budget-sync
//   BENCH_BUDGET_TRANSACTIONS=20000 npm run bench:budget-sync   (smaller)
import pg from 'pg';
import { generateBudget, startYnabServer } from '../src/testing/ynab-server.ts';
import { uuidOf } from '../src/testing/global-id.ts';
import { buildService, report, round, spawnCli, startBenchServer, waitForJobEnd } from './support.ts';

const TRANSACTIONS = Number(process.env.BENCH_BUDGET_TRANSACTIONS ?? 100_000);
const PAGE_SIZE = process.env.YNAB_TRANSACTIONS_PAGE_SIZE ?? '1000';
const TOKEN = 'bench-ynab-token';

const generated = performance.now();
const budget = generateBudget({ seed: 100, transactions: TRANSACTIONS, payees: 300, name: 'Bench budget' });
console.log(`generated a budget of ${TRANSACTIONS} transactions in ${round((performance.now() - generated) / 1000)} s`);
const ynab = await startYnabServer({ budgets: [budget], token: TOKEN });
const server = await startBenchServer();
const databaseUrl = await server.database('bench_budget_sync');
const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();

const settings = {
  DATABASE_URL: databaseUrl,
  BUDGET_PROVIDER: 'ynab',
  YNAB_API_URL: ynab.url,
  // One tenant (authentication off): the server's own token.
  PROVIDER_CREDENTIALS: 'server',
  YNAB_ACCESS_TOKEN: TOKEN,
  OUTBOUND_ALLOW_LIST: '127.0.0.1',
  YNAB_TRANSACTIONS_PAGE_SIZE: PAGE_SIZE,
};
// The worker runs as in production (`npm start`: the compiled build); BENCH_RUNTIME=tsx runs the sources.
const RUNTIME = process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'dist';
if (RUNTIME === 'dist') buildService();
const api = await spawnCli('serve', settings, RUNTIME);
const worker = await spawnCli('work', settings, RUNTIME);

type JobRow = { status: string; error_message: string | null; started_at: Date | null; completed_at: Date | null; synced_transaction_count: number };

async function sync(): Promise<JobRow> {
  const mutation = `mutation { createBudgetSyncJob(input: { budgetId: "${budget.id}" }) { __typename ... on MutationCreateBudgetSyncJobSuccess { data { id } } ... on Error { message } } }`;
  const response = await fetch(api.url!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: mutation }) });
  const body = (await response.json()) as { data?: { createBudgetSyncJob: { __typename: string; data?: { id: string }; message?: string } } };
  const created = body.data?.createBudgetSyncJob;
  if (!created?.data) throw new Error(`create refused: ${JSON.stringify(body)}`);
  const jobId = uuidOf(created.data.id);
  const read = async () =>
    (
      await db.query<JobRow>(
        `select status, error_message, started_at, completed_at, synced_transaction_count from job join budget_job on job_id = id where id = $1`,
        [jobId],
      )
    ).rows[0]!;
  // The job's own timestamps give the sync's duration; LISTEN wakes the wait.
  const job = await waitForJobEnd(db, read);
  if (job.status !== 'COMPLETED') throw new Error(`the sync ended ${job.status}: ${job.error_message}`);
  return job;
}

await db.query('listen jobwire_job');
try {
  const idleRssMb = await worker.peakRssMb();
  const job = await sync();
  const seconds = (job.completed_at!.getTime() - job.started_at!.getTime()) / 1000;
  const stored = Number((await db.query(`select count(*) as n from budget_transaction where budget_id = $1`, [budget.id])).rows[0].n);
  await report('budget-sync', [
    {
      transactions: TRANSACTIONS,
      'page size': Number(PAGE_SIZE),
      pages: ynab.requests.filter((r) => r.path.endsWith('/transactions')).length,
      'sync s': round(seconds, 2),
      'transactions/s': Math.round(stored / seconds),
      stored,
      'worker RSS idle MB': Math.round(idleRssMb),
      'worker RSS peak MB': Math.round(await worker.peakRssMb()),
      worker: RUNTIME === 'dist' ? 'node dist/main.js work' : 'tsx src/main.ts work',
    },
  ]);
} finally {
  await db.end();
  await worker.stop();
  await api.stop();
  await server.stop();
  await ynab.close();
}
