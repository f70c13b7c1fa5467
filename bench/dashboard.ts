// What the dashboard costs the database: a bulk cancel and a bulk retry of
// BULK_JOBS_MAX jobs, one jobThroughput(60) read over a large event log, and one
// queue stats read (what each queuesUpdated tick runs) over many stored jobs.
// Against a real Postgres (embedded, or BENCH_DATABASE_URL). Run: npm run bench:dashboard
// [bulk jobs, default 1000] [old events, default 1000000] [stored jobs, default 100000]
import { DEFAULT_TENANT, LOCAL_PRINCIPAL } from '../src/auth/principal.ts';
import { loadConfig } from '../src/service-config.ts';
import { createPool } from '../src/db/pool.ts';
import { bulkJobAction } from '../src/jobs/bulk.ts';
import { createJobs } from '../src/jobs/create.ts';
import { readQueueStats } from '../src/jobs/queue-stats.ts';
import { readThroughput } from '../src/jobs/throughput.ts';
import { createRegistry } from '../src/handlers.ts';
import { logger, median, report, round, startBenchServer } from './support.ts';

const BULK_JOBS = Number(process.argv[2] ?? 1000);
const OLD_EVENTS = Number(process.argv[3] ?? 1_000_000);
const STORED_JOBS = Number(process.argv[4] ?? 100_000);
/** An admin (every tenant), as the dashboard with authentication off. */
const caller = { ...LOCAL_PRINCIPAL, principalId: 'bench' };

/** Milliseconds of each of `times` runs of `fn`. */
async function timings(times: number, fn: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  return samples;
}

const server = await startBenchServer();
const databaseUrl = await server.database('bench_dashboard');
const config = loadConfig({
  ...process.env,
  DATABASE_URL: databaseUrl,
  BULK_JOBS_MAX: String(Math.max(BULK_JOBS, 1)),
  CREATE_JOBS_MAX: String(Math.max(BULK_JOBS, 1)),
});
const pool = createPool(databaseUrl, 4, logger);
try {
  const inAnHour = new Date(Date.now() + 3_600_000);
  await createJobs(
    { pool, registry: createRegistry({ pool, config }), config },
    caller,
    Array.from({ length: BULK_JOBS }, () => ({ jobType: 'system.noop', queueName: 'bench-bulk', scheduledAt: inAnHour })),
  );
  let started = performance.now();
  const cancelled = await bulkJobAction(pool, caller, 'cancel', { queueNames: ['bench-bulk'] }, { max: BULK_JOBS });
  const cancelMs = performance.now() - started;
  started = performance.now();
  const retried = await bulkJobAction(pool, caller, 'retry', { queueNames: ['bench-bulk'] }, { max: BULK_JOBS });
  const retryMs = performance.now() - started;

  // Synthetic history: old events (two days back) and the last hour's.
  await pool.query(
    `insert into job_event (job_id, status, created_at)
     select gen_random_uuid(), 'COMPLETED', now() - interval '2 days' + i * interval '50 ms' from generate_series(1, $1::int) as i`,
    [OLD_EVENTS],
  );
  await pool.query(
    `insert into job_event (job_id, status, created_at)
     select gen_random_uuid(), (case when i % 10 = 0 then 'FAILED' else 'COMPLETED' end)::job_status, now() - i * interval '1 second'
       from generate_series(1, 3000) as i`,
  );
  // Stored jobs: inserted queued, then nine in ten completed (the database allows only real transitions).
  await pool.query(
    `insert into job (job_type, queue_name) select 'system.noop', 'bench-q' || (i % 10) from generate_series(1, $1::int) as i`,
    [STORED_JOBS],
  );
  await pool.query(`update job set status = 'COMPLETED', started_at = now() where queue_name like 'bench-q%' and random() < 0.9`);
  await pool.query('vacuum analyze job_event');
  await pool.query('vacuum analyze job');
  const throughputMs = median(await timings(9, () => readThroughput(pool, null, 60)));
  // One tenant's: each of the last hour's outcome events is checked against its job's tenant.
  const tenantThroughputMs = median(await timings(9, () => readThroughput(pool, DEFAULT_TENANT, 60)));
  const queueStatsMs = median(await timings(9, () => readQueueStats(pool, null, null)));
  const { rows } = await pool.query<{ events: number; jobs: number }>(
    'select (select count(*) from job_event)::int as events, (select count(*) from job)::int as jobs',
  );

  const perSecond = (jobs: number, ms: number) => Math.round((jobs / ms) * 1000);
  await report('dashboard', [
    { measure: `cancelJobs over ${BULK_JOBS} scheduled jobs`, jobs: cancelled.affectedJobIds.length, ms: round(cancelMs, 0), jobsPerSecond: perSecond(cancelled.affectedJobIds.length, cancelMs) },
    { measure: `retryJobs over ${BULK_JOBS} cancelled jobs`, jobs: retried.affectedJobIds.length, ms: round(retryMs, 0), jobsPerSecond: perSecond(retried.affectedJobIds.length, retryMs) },
    { measure: `jobThroughput(60), ${rows[0]!.events} events stored (median of 9)`, ms: round(throughputMs) },
    { measure: `jobThroughput(60) of one tenant, same events (median of 9)`, ms: round(tenantThroughputMs) },
    { measure: `queue stats (a queuesUpdated tick), ${rows[0]!.jobs} jobs stored (median of 9)`, ms: round(queueStatsMs) },
  ]);
} finally {
  await pool.end();
  await server.stop();
}
