// Durable waits: N jobs sleeping at once (ctx.sleepUntil) hold no worker slot
// and no connection, and each resumes close to its time on whichever worker
// is free. Two workers in this process (concurrency 10 each) run the jobs; each
// job runs a moment, sleeps until its own wake time (spread over
// BENCH_WAKE_SPREAD_SECONDS after every job sleeps), and on resume records
// when it resumed. Printed: while all sleep, the RUNNING jobs, the locked queue
// entries (worker slots held) and the database's connections (against before
// the jobs existed); then the lateness of the resumes (resumed − wake time),
// and the rate the workers resumed at against the rate the wake times asked for.
//   npm run bench:waits   (BENCH_JOBS, default 10000; BENCH_WAKE_SPREAD_SECONDS, default 20)
import pg from 'pg';
import { z } from 'zod';
import { startApp, type App } from '../src/app.ts';
import type { JobHandler } from '../src/core/handler.ts';
import { HandlerRegistry } from '../src/core/registry.ts';
import { logger, percentile, report, round, startBenchServer, throughputConfig } from './support.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 10_000);
const SPREAD_MS = Number(process.env.BENCH_WAKE_SPREAD_SECONDS ?? 20) * 1000;

const sleepPayload = z.object({ index: z.number().int() });
/** Sleeps until the time its step "plan" read (a day ahead; the bench moves it once every job sleeps). */
const sleepHandler: JobHandler<z.infer<typeof sleepPayload>> = {
  jobType: 'bench.sleep',
  description: 'Sleeps until the wake time the bench gives it, then records when it resumed.',
  payload: sleepPayload,
  async handle(_job, ctx) {
    const { wakeAt } = await ctx.step('plan', async () => {
      const { rows } = await ctx.db.query<{ wakeAt: string }>(`select wake_at as "wakeAt" from bench_wake where id = 1`);
      return { wakeAt: new Date(rows[0]!.wakeAt).toISOString() };
    });
    await ctx.sleepUntil('nap', new Date(wakeAt));
    return { success: true, resultData: { wakeAt, resumedAt: Date.now() } };
  },
};

const server = await startBenchServer();
const apps: App[] = [];
try {
  const url = await server.database('bench_waits');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const connections = async () =>
    (
      await pool.query<{ total: number; active: number }>(
        `select count(*)::int as total, count(*) filter (where state = 'active')::int as active from pg_stat_activity where datname = current_database()`,
      )
    ).rows[0]!;
  await pool.query(`create table bench_wake (id int primary key, wake_at timestamptz not null); insert into bench_wake values (1, now() + interval '1 day')`);
  const registry = new HandlerRegistry().register(sleepHandler);
  const config = throughputConfig(url, { WORKER_CONCURRENCY: '10', DATABASE_POOL_SIZE: '10' });
  for (let i = 0; i < 2; i++) apps.push(await startApp(config, logger, { api: false, worker: true }, { registry }));
  const before = await connections();

  // Each job's wake time: a base set below, plus index × spread / jobs.
  await pool.query(`select add_job('bench.sleep', jsonb_build_object('index', i)) from generate_series(0, $1::int - 1) as i`, [JOBS]);
  const sleepingSince = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from job_wait`);
    if (rows[0]!.n === JOBS) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const fellAsleepSeconds = (Date.now() - sleepingSince) / 1000;
  const { rows: held } = await pool.query<{ running: number; locked: number; sleeping: number }>(
    `select (select count(*) from job where status = 'RUNNING')::int as running,
            (select count(*) from graphile_worker._private_jobs where locked_at is not null)::int as locked,
            (select count(*) from job where waiting_reason = 'TIMER')::int as sleeping`,
  );
  const during = await connections();
  console.log(`${JOBS} jobs asleep after ${round(fellAsleepSeconds, 1)} s: ${JSON.stringify(held[0])}; connections before ${JSON.stringify(before)}, while asleep ${JSON.stringify(during)}`);

  // How long falling asleep takes is not known beforehand, so each job's wake time is set now: the bench moves
  // every wait (its row, its queue entry, the step that planned it) to the job's offset from a base 6 s from now,
  // past the workers' wake clocks' next look (at most 5 s), which is how they learn of waits recorded elsewhere.
  const base = Date.now() + 6000;
  await pool.query(
    `with planned as (
       select w.job_id, to_timestamp(($1::double precision + (j.payload->>'index')::int * $2::double precision) / 1000) as wake_at
         from job_wait w join job j on j.id = w.job_id
     ), moved as (
       update job_wait w set wake_at = planned.wake_at from planned where w.job_id = planned.job_id returning w.job_id, w.wake_at
     )
     update graphile_worker._private_jobs e set run_at = moved.wake_at from moved join job j on j.id = moved.job_id where e.id = j.queue_entry_id`,
    [base, SPREAD_MS / JOBS],
  );
  await pool.query(`update job_step s set result = jsonb_build_object('wakeAt', to_char(w.wake_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                      from job_wait w where s.job_id = w.job_id and s.name = 'plan'`);
  for (;;) {
    const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from job where status = 'COMPLETED'`);
    if (rows[0]!.n === JOBS) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const { rows } = await pool.query<{ lateMs: number; resumedAt: string; wakeAt: number }>(
    `select ((result->>'resumedAt')::bigint - extract(epoch from (result->>'wakeAt')::timestamptz) * 1000)::double precision as "lateMs",
            result->>'resumedAt' as "resumedAt", (extract(epoch from (result->>'wakeAt')::timestamptz) * 1000)::double precision as "wakeAt" from job`,
  );
  // The rate the workers resumed at, against the rate the wake times asked for: lateness beyond the wake-up's own is the backlog between them.
  const firstWake = Math.min(...rows.map((row) => row.wakeAt));
  const lastResume = Math.max(...rows.map((row) => Number(row.resumedAt)));
  const resumedPerSecond = JOBS / Math.max((lastResume - firstWake) / 1000, 0.001);
  const late = rows.map((row) => row.lateMs).sort((a, b) => a - b);
  const within1s = late.filter((ms) => ms <= 1000).length;
  await report(
    'waits',
    [
      {
        jobs: JOBS,
        'asleep after s': round(fellAsleepSeconds, 1),
        'RUNNING while asleep': held[0]!.running,
        'slots held while asleep': held[0]!.locked,
        'connections before': before.total,
        'connections while asleep': during.total,
        'active while asleep': during.active,
        'wake spread s': SPREAD_MS / 1000,
        'wakes asked /s': round(JOBS / (SPREAD_MS / 1000), 1),
        'resumed /s': round(resumedPerSecond, 1),
        'late p50 ms': Math.round(percentile(late, 50)),
        'late p99 ms': Math.round(percentile(late, 99)),
        'late max ms': Math.round(late.at(-1)!),
        'min ms': Math.round(late[0]!),
        'within 1 s': `${within1s}/${JOBS}`,
      },
    ],
    {
      workers: 2,
      concurrency: 10,
      // The promise of durable waits: sleepers hold no worker slot and no connection (docs/workflows.md).
      headline: [
        { figure: `${JOBS.toLocaleString('en')} jobs asleep: RUNNING / worker slots held (connections ${before.total} before, ${during.total} while asleep)`, value: `${held[0]!.running} / ${held[0]!.locked}`, target: '0 / 0', held: held[0]!.running === 0 && held[0]!.locked === 0 },
        { figure: `resumes within 1 s of their time (spread over ${SPREAD_MS / 1000} s; late p99 ${Math.round(percentile(late, 99))} ms)`, value: `${within1s}/${JOBS}` },
      ],
    },
  );
  await pool.end();
} finally {
  for (const app of apps) await app.stop();
  await server.stop();
}
