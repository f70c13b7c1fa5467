import pg from 'pg';
import { startApp } from '/work/wt/h14ui/src/app.ts';
import { loadConfig } from '/work/wt/h14ui/src/config.ts';
import { createLogger } from '/work/wt/h14ui/src/logger.ts';
import { bulkJobAction } from '/work/wt/h14ui/src/jobs/bulk.ts';
import { readThroughput } from '/work/wt/h14ui/src/jobs/throughput.ts';

const config = loadConfig({ DATA_DIR: '/tmp/h14ui-measure/data', EMBEDDED_POSTGRES_PORT: '55439', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
const app = await startApp(config, createLogger('warn'), { api: true, worker: false });
const pool = new pg.Pool({ connectionString: app.databaseUrl, max: 4 });
try {
  // 1000 scheduled jobs, then one bulk cancel and one bulk retry.
  await pool.query(`delete from job where queue_name = 'measure'`);
  await pool.query(`select graphile_worker.add_job('noop', '{}')`).catch(() => undefined);
  const values = Array.from({ length: 1000 }, (_, i) => `('system.noop', 'measure', 'SCHEDULED', now() + interval '1 hour')`).join(',');
  // Created through the real path would queue entries too; cancelJob handles jobs whose entry is gone by asking, so use createJobs' SQL instead:
  const { createJobs } = await import('/work/wt/h14ui/src/jobs/create.ts');
  const { createRegistry } = await import('/work/wt/h14ui/src/handlers.ts');
  const registry = createRegistry({ pool, config });
  const inputs = Array.from({ length: 1000 }, () => ({ jobType: 'system.noop', queueName: 'measure', scheduledAt: new Date(Date.now() + 3_600_000).toISOString() }));
  await createJobs({ pool, registry, config } as never, { principalId: 'measure' }, inputs as never);
  void values;
  let t = performance.now();
  const cancelled = await bulkJobAction(pool, { principalId: 'measure' }, 'cancel', { queueNames: ['measure'] }, { max: 1000 });
  console.log(`bulk cancel: ${cancelled.affectedJobIds.length} jobs in ${(performance.now() - t).toFixed(0)} ms`);
  t = performance.now();
  const retried = await bulkJobAction(pool, { principalId: 'measure' }, 'retry', { queueNames: ['measure'] }, { max: 1000 });
  console.log(`bulk retry: ${retried.affectedJobIds.length} jobs in ${(performance.now() - t).toFixed(0)} ms`);

  // jobThroughput with a large event log: 1,000,000 old events (2 days ago) and 3,000 recent.
  const { rows: [{ n }] } = await pool.query(`select count(*)::int as n from job_event`);
  if (n < 1_000_000) {
    await pool.query(`insert into job_event (job_id, status, created_at, tx_id)
      select gen_random_uuid(), 'COMPLETED', now() - interval '2 days' + (i * interval '100 ms'), 1 from generate_series(1, 1000000) as i`);
    await pool.query(`insert into job_event (job_id, status, created_at, tx_id)
      select gen_random_uuid(), (case when i % 10 = 0 then 'FAILED' else 'COMPLETED' end)::job_status, now() - (i * interval '1 second'), 1 from generate_series(1, 3000) as i`);
    await pool.query('vacuum analyze job_event');
  }
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    const minutes = await readThroughput(pool, 60);
    console.log(`jobThroughput(60) over ${n >= 1_000_000 ? n : n + 1_003_000} events: ${(performance.now() - t).toFixed(1)} ms, ${minutes.reduce((s, m) => s + m.completedCount + m.failedCount, 0)} counted`);
  }
  const plan = await pool.query(`explain analyze select count(*) from job_event where created_at >= now() - interval '60 minutes' and step_id is null and status in ('COMPLETED','FAILED','DEAD_LETTER')`);
  console.log(plan.rows.map((r) => r['QUERY PLAN']).join('\n'));
} finally {
  await pool.end();
  await app.stop();
}
