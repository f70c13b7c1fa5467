// Live lag under load: jobs are created through the API at a steady rate
// (createJobs, one call every 100 ms) and run by a worker with the throughput
// bench's settings, while one graphql-ws subscriber follows jobEvents with the
// README's selection (status, message, cursor, job { id jobType }). For each
// event: the time from its insert (created_at, in the committing transaction)
// to its arrival at the subscriber. Also lost and duplicated events.
//   npm run bench:live-lag   (BENCH_LAG_RATE jobs/s, default 1000; BENCH_LAG_SECONDS, default 10;
//   BENCH_API_NODE_OPTIONS: Node flags for the API process only, e.g. --cpu-prof)
import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { percentile, report, round, spawnCli, startBenchServer } from './support.ts';

const RATE = Number(process.env.BENCH_LAG_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_LAG_SECONDS ?? 10);
const TICK_MS = 100;
const QUEUE = 'live-lag';

const SUBSCRIPTION = `subscription ($queue: String!) {
  jobEvents(filter: { queueNames: [$queue] }) { id status previousStatus message cursor createdAt job { id jobType } }
}`;

const server = await startBenchServer();
const databaseUrl = await server.database('bench_live_lag');
// The throughput bench's worker settings (bench/throughput.ts benchConfig).
const settings = {
  DATABASE_URL: databaseUrl,
  DATABASE_POOL_SIZE: '20',
  WORKER_CONCURRENCY: '10',
  WORKER_LOCAL_QUEUE_SIZE: '50',
  WORKER_COMPLETE_BATCH_DELAY_MS: '0',
  WORKER_POLL_INTERVAL_MS: '1000',
  CREATE_JOBS_MAX: '1000',
};
const api = await spawnCli('serve', { ...settings, ...(process.env.BENCH_API_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_API_NODE_OPTIONS } : {}) });
const worker = await spawnCli('work', settings);
const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();

const arrivals = new Map<string, number>();
const lags: number[] = [];
let duplicates = 0;
let errors = 0;
const client = createClient({ url: api.url!.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
let live!: () => void;
const firstEvent = new Promise<void>((resolve) => (live = resolve));
client.subscribe<{ jobEvents: { id: string; createdAt: string } }>(
  { query: SUBSCRIPTION, variables: { queue: QUEUE } },
  {
    next: ({ data, errors: failed }) => {
      const arrived = Date.now();
      if (failed?.length || !data) {
        errors++;
        return;
      }
      const event = data.jobEvents;
      if (arrivals.has(event.id)) duplicates++;
      arrivals.set(event.id, arrived);
      lags.push(arrived - Date.parse(event.createdAt));
      live();
    },
    error: (error) => console.error('subscription failed', error),
    complete: () => undefined,
  },
);

async function createJobs(count: number) {
  const jobs = Array.from({ length: count }, () => `{ jobType: "system.noop", queueName: "${QUEUE}" }`).join(', ');
  const response = await fetch(api.url!, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `mutation { createJobs(jobs: [${jobs}]) { __typename } }` }),
  });
  const body = (await response.json()) as { data?: { createJobs: { __typename: string } } };
  if (body.data?.createJobs.__typename !== 'MutationCreateJobsSuccess') throw new Error(JSON.stringify(body));
}

try {
  // A probe shows the subscription is live (graphql-ws does not acknowledge a subscribe).
  await createJobs(1);
  await firstEvent;
  while ((await db.query(`select count(*)::int as n from job where status <> 'COMPLETED'`)).rows[0].n > 0) await delay(50);
  await delay(500);
  arrivals.clear();
  lags.length = 0;
  const baseline = (await db.query(`select coalesce(max(id), 0)::text as id from job_event`)).rows[0].id as string;

  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
  const ticks = Math.round((SECONDS * 1000) / TICK_MS);
  const started = performance.now();
  const halfway: { created: number; received: number } = { created: 0, received: 0 };
  for (let tick = 0; tick < ticks; tick++) {
    const due = started + tick * TICK_MS;
    const wait = due - performance.now();
    if (wait > 0) await delay(wait);
    await createJobs(perTick);
    if (tick === Math.floor(ticks / 2)) {
      halfway.created = (tick + 1) * perTick;
      halfway.received = arrivals.size;
    }
  }
  const createSeconds = (performance.now() - started) / 1000;
  const created = ticks * perTick;
  const expected = Number(
    (await (async () => {
      for (;;) {
        const { rows } = await db.query(`select count(*)::int as n from job where status <> 'COMPLETED'`);
        if (rows[0].n === 0) break;
        await delay(50);
      }
      return db.query(`select count(*)::int as n from job_event where id > $1`, [baseline]);
    })()).rows[0].n,
  );
  const deadline = Date.now() + 60_000;
  while (arrivals.size < expected && Date.now() < deadline) await delay(50);
  const sorted = [...lags].sort((a, b) => a - b);
  const rows = [
    {
      'jobs created': created,
      'create rate (jobs/s)': round(created / createSeconds),
      'events expected': expected,
      'events received': arrivals.size,
      lost: expected - arrivals.size,
      duplicates,
      'error payloads': errors,
      'received at halfway (of ~3 per created job)': `${halfway.received} of ${halfway.created * 3}`,
      'lag p50 (ms)': percentile(sorted, 50),
      'lag p99 (ms)': percentile(sorted, 99),
      'lag max (ms)': sorted[sorted.length - 1],
    },
  ];
  await report('live-lag', rows, { rate: RATE, seconds: SECONDS, settings });
  // A bench that loses or repeats events is broken, whatever its lag (bench:smoke runs this in CI).
  const [row] = rows;
  if (row!.lost || row!.duplicates || row!['error payloads']) throw new Error(`lost ${row!.lost}, duplicated ${row!.duplicates}, error payloads ${row!['error payloads']}`);
} finally {
  await client.dispose();
  await db.end();
  await worker.stop();
  await api.stop();
  await server.stop();
}
