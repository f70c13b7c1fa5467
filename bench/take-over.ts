// Take-over time: a long job runs on a `work` process, a second one starts, the
// first is killed with SIGKILL; the time from the kill to the job's RUNNING
// again on the survivor (its "taken over" event), with default settings. The
// survivor is then killed in turn, BENCH_TAKE_OVER_ROUNDS times.
//   npm run bench:take-over   (BENCH_TAKE_OVER_ROUNDS, default 5)
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { LOCAL_PRINCIPAL } from '../src/auth/principal.ts';
import { loadConfig } from '../src/service-config.ts';
import { createRegistry } from '../src/handlers.ts';
import { createJobs } from '../src/jobs/create.ts';
import { median, report, spawnCli, startBenchServer, type Child } from './support.ts';

const ROUNDS = Number(process.env.BENCH_TAKE_OVER_ROUNDS ?? 5);

const server = await startBenchServer();
const databaseUrl = await server.database('bench_take_over');
// Default settings, but for the log level.
const env = { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' };
const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const children: Child[] = [];
try {
  let holder = await spawnCli('work', env);
  children.push(holder);
  const config = loadConfig(env);
  const [job] = await createJobs({ pool, registry: createRegistry({ pool, config }), config }, LOCAL_PRINCIPAL, [
    // Each take-over spends a retry: with the default 3, the fourth kill would leave it DEAD_LETTER, never RUNNING again.
    { jobType: 'system.sleep', payload: { ms: 3_600_000, ticks: 1000 }, maxRetries: ROUNDS },
  ], 'jobs');
  const jobId = job!;
  const runningEvents = async () =>
    Number((await pool.query(`select count(*)::int as n from job_event where job_id = $1 and status = 'RUNNING' and step_id is null`, [jobId])).rows[0].n);
  while ((await runningEvents()) < 1) await delay(20);

  const rows = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const survivor = await spawnCli('work', env);
    children.push(survivor);
    const before = await runningEvents();
    holder.process.kill('SIGKILL');
    const killedAt = Date.now();
    while ((await runningEvents()) <= before) {
      const { rows: state } = await pool.query<{ status: string }>('select status from job where id = $1', [jobId]);
      if (state[0]!.status === 'DEAD_LETTER') throw new Error(`round ${round}: the job went DEAD_LETTER instead of being taken over`);
      await delay(20);
    }
    const { rows: taken } = await pool.query<{ at: Date; message: string }>(
      `select created_at as at, message from job_event where job_id = $1 and status = 'RUNNING' and step_id is null order by tx_id desc, id desc limit 1`,
      [jobId],
    );
    rows.push({ round, 'SIGKILL → RUNNING again (ms)': taken[0]!.at.getTime() - killedAt, event: taken[0]!.message });
    holder = survivor;
  }
  await report('take-over', rows, {
    'median (ms)': median(rows.map((row) => row['SIGKILL → RUNNING again (ms)'])),
    settings: 'defaults (WORKER_LIVENESS_INTERVAL_MS 1000, WORKER_TAKE_OVER_AFTER_MS 2000)',
  });
  console.log({ 'median SIGKILL → RUNNING again (ms)': median(rows.map((row) => row['SIGKILL → RUNNING again (ms)'])) });
} finally {
  for (const child of children) child.process.kill('SIGKILL');
  await pool.end();
  await server.stop();
}
