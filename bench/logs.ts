// Job logs (docs/end-user-live-jobs.md#job-logs): does a job logging 1,000
// lines a second slow the worker's other jobs? One worker (concurrency 10)
// runs a backlog of no-op jobs: BENCH_LOG_SECONDS alone, then beside one job
// calling ctx.log.info BENCH_LOG_RATE times a second for BENCH_LOG_SECONDS,
// then alone again. Printed: the no-op jobs completed per second beside the
// logging job against the mean of before and after, their ratio (target:
// ≥ 0.9), and the logging job's lines kept against the bound.
// The process's log level is BENCH_LOG_LEVEL (default warn): the info lines
// are stored, not printed.
//   npm run bench:logs   (BENCH_LOG_RATE 1000, BENCH_LOG_SECONDS 10, BENCH_NOOP_JOBS 300000, BENCH_ROUNDS 2)
import pg from 'pg';
import { z } from 'zod';
import { startApp } from '../src/app.ts';
import type { JobHandler } from '../src/core/handler.ts';
import { HandlerRegistry } from '../src/core/registry.ts';
import { JOB_LOG_MAX_BYTES, JOB_LOG_MAX_LINES } from '../src/jobs/job-logs.ts';
import { prepareJob } from '../src/jobs/create.ts';
import { insertJobs } from '../src/job-state/insert.ts';
import { LOCAL_PRINCIPAL } from '../src/auth/principal.ts';
import { logger, median, report, round, startBenchServer, throughputConfig } from './support.ts';

const RATE = Number(process.env.BENCH_LOG_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_LOG_SECONDS ?? 10);
const NOOP_JOBS = Number(process.env.BENCH_NOOP_JOBS ?? 300_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** Backlog jobs a statement. */
const BACKLOG_BATCH = 10_000;

const noopHandler: JobHandler<Record<string, never>> = {
  jobType: 'bench.noop',
  description: 'Does nothing.',
  payload: z.object({}).strict() as never,
  handle: async () => ({ success: true }),
};

/** Logs RATE lines a second for SECONDS, on schedule (a few lines per timer tick). */
const logHandler: JobHandler<Record<string, never>> = {
  jobType: 'bench.log',
  description: 'Logs a line every millisecond or so.',
  payload: z.object({}).strict() as never,
  async handle(_job, ctx) {
    const start = Date.now();
    const total = RATE * SECONDS;
    for (let n = 1; n <= total; n++) {
      ctx.log.info(`line ${n} of ${total}`, { n, at: Date.now() - start });
      const due = start + (n * 1000) / RATE;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    }
    return { success: true };
  },
};

const server = await startBenchServer();
try {
  /**
   * One database, one worker, one backlog, three windows: no-op completions
   * per second before the logging job, while it runs, and after it. The
   * windows share the table's size and statistics, so the ratio compares like
   * with like (separate databases per side varied 3× between rounds).
   */
  const run = async (name: string) => {
    const url = await server.database(name);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const config = throughputConfig(url);
    const registry = new HandlerRegistry().register(noopHandler).register(logHandler);
    // Started first: its job types are registered before the backlog (no NO_WORKER wait).
    const app = await startApp(config, logger, { api: false, worker: true }, { registry });
    try {
      // One transaction: the backlog appears at once, on commit; analyzed as autovacuum would soon.
      // Written as createJobs writes jobs (job rows, queue entries, PENDING events), in statements
      // of BACKLOG_BATCH: add_job, a function call and a statement per job, took 4 of bench:logs' 5 minutes.
      console.log(`${name}: adding ${NOOP_JOBS} no-op jobs`);
      const adding = performance.now();
      const client = await pool.connect();
      try {
        await client.query('begin');
        for (let from = 0; from < NOOP_JOBS; from += BACKLOG_BATCH) {
          const jobs = Array.from({ length: Math.min(BACKLOG_BATCH, NOOP_JOBS - from) }, () => prepareJob({ registry, config }, LOCAL_PRINCIPAL, { jobType: noopHandler.jobType }));
          await insertJobs(client, jobs);
        }
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw error;
      } finally {
        client.release();
      }
      console.log(`${name}: added in ${round((performance.now() - adding) / 1000)} s`);
      await pool.query('analyze');
      const firstCompletion = await poll(pool, `select min(completed_at) as at from job where job_type = 'bench.noop' and status = 'COMPLETED'`);
      // Before: SECONDS after a second of warm-up.
      const beforeFrom = new Date(firstCompletion.getTime() + 1000);
      await sleepUntil(beforeFrom.getTime() + SECONDS * 1000);
      // Priority 1: taken ahead of the backlog, by the same worker.
      await pool.query(`select add_job('bench.log', '{}'::jsonb, '{"priority": 1}')`);
      const logStarted = await poll(pool, `select started_at as at from job where job_type = 'bench.log' and started_at is not null`);
      const logEnded = await poll(pool, `select completed_at as at from job where job_type = 'bench.log' and status = 'COMPLETED'`);
      await sleepUntil(logEnded.getTime() + SECONDS * 1000 + 500);
      const { rows } = await pool.query<{ before: number; during: number; after: number; left: number }>(
        `select count(*) filter (where completed_at >= $1 and completed_at < $1::timestamptz + make_interval(secs => $4))::int as before,
                count(*) filter (where completed_at >= $2 and completed_at < $3)::int as during,
                count(*) filter (where completed_at >= $3 and completed_at < $3::timestamptz + make_interval(secs => $4))::int as after,
                count(*) filter (where status <> 'COMPLETED')::int as left
           from job where job_type = 'bench.noop'`,
        [beforeFrom, logStarted, logEnded, SECONDS],
      );
      const counts = rows[0]!;
      if (counts.left === 0) throw new Error(`${name}: the backlog of ${NOOP_JOBS} no-op jobs ran out before the last window ended: raise BENCH_NOOP_JOBS`);
      const { rows: lines } = await pool.query<{ lines: number; bytes: number; marker: string | null }>(
        `select count(*) filter (where not fields ? 'droppedLineCount')::int as lines, coalesce(sum(octet_length(message) + octet_length(fields::text)), 0)::int as bytes,
                max(message) filter (where fields ? 'droppedLineCount') as marker
           from job_log_line`,
      );
      // What is left of the backlog goes before the worker stops: its leaving would mark every one NO_WORKER (slowly).
      await pool.query(`delete from job where job_type = 'bench.noop' and status = 'PENDING'`);
      const duringSeconds = (logEnded.getTime() - logStarted.getTime()) / 1000;
      return {
        without: (counts.before + counts.after) / (2 * SECONDS),
        beside: counts.during / duringSeconds,
        before: counts.before / SECONDS,
        after: counts.after / SECONDS,
        kept: lines[0]!,
      };
    } finally {
      await app.stop();
      await pool.end();
    }
  };

  const without: number[] = [];
  const beside: number[] = [];
  const ratios: number[] = [];
  let kept: { lines: number; bytes: number; marker: string | null } | null = null;
  for (let n = 1; n <= ROUNDS; n++) {
    const result = await run(`bench_logs_${n}`);
    without.push(result.without);
    beside.push(result.beside);
    ratios.push(result.beside / result.without);
    kept = result.kept;
    console.log(
      `round ${n}: no-op jobs/s before ${round1(result.before)}, beside the logging job ${round1(result.beside)}, after ${round1(result.after)}: ratio ${round(ratios.at(-1)!, 3)}`,
    );
  }
  const ratio = median(ratios);
  await report(
    'logs',
    [
      {
        'log lines/s': RATE,
        seconds: SECONDS,
        'no-op jobs/s without': round1(median(without)),
        'no-op jobs/s beside logging': round1(median(beside)),
        ratio: round(ratio, 3),
        'lines logged': RATE * SECONDS,
        'lines kept': kept!.lines,
        'bound (lines)': JOB_LOG_MAX_LINES,
        'bytes kept': kept!.bytes,
        'bound (bytes)': JOB_LOG_MAX_BYTES,
        marker: kept!.marker ?? '(none)',
      },
    ],
    {
      rounds: ROUNDS,
      without,
      beside,
      ratios,
      headline: [{ figure: 'no-op jobs/s beside a job logging 1,000 lines/s, as a share of before and after it', value: round(ratio, 3), target: '≥ 0.9', held: ratio >= 0.9 }],
    },
  );
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await server.stop();
}

/** Waits for a query's `at` column to be set (a job reaching a state). */
async function poll(pool: pg.Pool, sql: string): Promise<Date> {
  for (;;) {
    const { rows } = await pool.query<{ at: Date | null }>(sql);
    if (rows[0]?.at) return rows[0].at;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function sleepUntil(time: number) {
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now())));
}

function round1(value: number) {
  return round(value, 1);
}
