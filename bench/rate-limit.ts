// Queue rate limits (issue 27): how evenly a limited queue starts its jobs.
//   Rate limit: BENCH_RATE_JOBS (30) jobs created at once in a queue limited
//   to 5 starts a second, run by one API and BENCH_RATE_WORKERS worker
//   processes (1 and 2); the time from the first start to the last, against
//   the (jobs / 5 - 1) s the limit allows at best, and the waits recorded.
//   npm run bench:rate-limit
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { report, round, spawnCli, startBenchServer, type Child } from './support.ts';

const RATE_JOBS = Number(process.env.BENCH_RATE_JOBS ?? 30);
const RATE_PER_SECOND = 5;

const server = await startBenchServer();
const children: Child[] = [];
const pools: pg.Pool[] = [];
const rows: Array<Record<string, unknown>> = [];

async function graphql(url: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: Record<string, { __typename: string }>; errors?: unknown };
  if (body.errors || !body.data) throw new Error(JSON.stringify(body));
  for (const value of Object.values(body.data)) if (!value.__typename.endsWith('Success')) throw new Error(JSON.stringify(body.data));
  return body.data;
}

async function until(pool: pg.Pool, sql: string, done: (n: number) => boolean) {
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(sql);
    if (done(rows[0]!.n)) return;
    await delay(20);
  }
}

try {
  // 1. Smooth rate limit, one API and one or two worker processes at the default poll interval.
  for (const workers of (process.env.BENCH_RATE_WORKERS ?? '1,2').split(",").map(Number)) {
    const databaseUrl = await server.database(`bench_rate_limit_${workers}`);
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    pools.push(pool);
    const settings = { DATABASE_URL: databaseUrl, WORKER_CONCURRENCY: '10' };
    const api = await spawnCli('serve', settings);
    children.push(api);
    for (let i = 0; i < workers; i++) children.push(await spawnCli('work', settings));
    await graphql(api.url!, `mutation { setQueueRateLimit(queueName: "paced", maxStarts: ${RATE_PER_SECOND}, intervalMs: 1000) { __typename } }`);
    const jobs = Array.from({ length: RATE_JOBS }, () => '{ jobType: "system.noop", queueName: "paced" }').join(', ');
    await graphql(api.url!, `mutation { createJobs(jobs: [${jobs}]) { __typename } }`);
    await until(pool, `select count(*)::int as n from job where queue_name = 'paced' and status = 'COMPLETED'`, (n) => n === RATE_JOBS);
    const { rows: span } = await pool.query<{ seconds: number; waits: number }>(
      `select extract(epoch from max(started_at) - min(started_at))::float8 as seconds,
              (select count(*)::int from job_event where message like 'waiting: queue paced%') as waits
         from job where queue_name = 'paced'`,
    );
    rows.push({
      scenario: `rate limit ${RATE_PER_SECOND}/s, ${RATE_JOBS} jobs, ${workers} worker process${workers > 1 ? 'es' : ''}`,
      'first to last start (s)': round(span[0]!.seconds, 2),
      'best the limit allows (s)': round(Math.ceil(RATE_JOBS / RATE_PER_SECOND) - 1, 2),
      'waits recorded': span[0]!.waits,
    });
    await Promise.all(children.splice(0).map((child) => child.stop()));
  }
  await report('rate-limit', rows);
} finally {
  await Promise.all(children.map((child) => child.stop()));
  await Promise.all(pools.map((pool) => pool.end()));
  await server.stop();
}
