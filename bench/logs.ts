// Job logs (docs/end-user-live-jobs.md#job-logs): does a job logging 1,000
// lines a second slow the worker's other jobs? One worker (concurrency 10)
// runs a backlog of no-op jobs, first alone, then beside one job calling
// ctx.log.info BENCH_LOG_RATE times a second for BENCH_LOG_SECONDS. Printed:
// the no-op jobs completed per second in the same window (from the first
// completion, BENCH_LOG_SECONDS long) in both runs and their ratio (target:
// with ≥ 0.9 × without), and the logging job's lines kept against the bound.
// The process's log level is BENCH_LOG_LEVEL (default warn): the info lines
// are stored, not printed.
//   npm run bench:logs   (BENCH_LOG_RATE 1000, BENCH_LOG_SECONDS 10, BENCH_NOOP_JOBS 100000, BENCH_ROUNDS 2)
import pg from 'pg';
import { z } from 'zod';
import { startApp } from '../src/app.ts';
import type { JobHandler } from '../src/core/handler.ts';
import { HandlerRegistry } from '../src/core/registry.ts';
import { JOB_LOG_MAX_BYTES, JOB_LOG_MAX_LINES } from '../src/jobs/job-logs.ts';
import { logger, median, report, round, startBenchServer, throughputConfig } from './support.ts';

const RATE = Number(process.env.BENCH_LOG_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_LOG_SECONDS ?? 10);
const NOOP_JOBS = Number(process.env.BENCH_NOOP_JOBS ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

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
  const run = async (name: string, withLogs: boolean) => {
    const url = await server.database(name);
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    // Started first: it registers the job types add_job checks.
    const app = await startApp(throughputConfig(url), logger, { api: false, worker: true }, { registry: new HandlerRegistry().register(noopHandler).register(logHandler) });
    try {
      if (withLogs) await pool.query(`select add_job('bench.log', '{}'::jsonb)`);
      // One statement: the backlog appears at once, on commit.
      console.log(`${name}: adding ${NOOP_JOBS} no-op jobs`);
      await pool.query(`select add_job('bench.noop', '{}'::jsonb) from generate_series(1, $1::int)`, [NOOP_JOBS]);
      console.log(`${name}: running`);
      // The window: from the first no-op completion, SECONDS long.
      let first: Date | null = null;
      while (!first) {
        const { rows } = await pool.query<{ at: Date | null }>(`select min(completed_at) as at from job where job_type = 'bench.noop' and status = 'COMPLETED'`);
        first = rows[0]!.at;
        if (!first) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, first!.getTime() + SECONDS * 1000 + 500 - Date.now()));
      const { rows } = await pool.query<{ done: number; left: number }>(
        `select count(*) filter (where completed_at < $1::timestamptz + make_interval(secs => $2))::int as done,
                count(*) filter (where status <> 'COMPLETED')::int as left
           from job where job_type = 'bench.noop'`,
        [first, SECONDS],
      );
      if (rows[0]!.left === 0) console.warn(`${name}: the backlog of ${NOOP_JOBS} no-op jobs ran out inside the window: raise BENCH_NOOP_JOBS`);
      let kept: { lines: number; bytes: number; marker: string | null } | null = null;
      if (withLogs) {
        for (;;) {
          const { rows: status } = await pool.query<{ status: string }>(`select status from job where job_type = 'bench.log'`);
          if (status[0]!.status === 'COMPLETED') break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const { rows: lines } = await pool.query<{ lines: number; bytes: number; marker: string | null }>(
          `select count(*) filter (where not fields ? 'droppedLineCount')::int as lines, coalesce(sum(octet_length(message) + octet_length(fields::text)), 0)::int as bytes,
                  max(message) filter (where fields ? 'droppedLineCount') as marker
             from job_log_line`,
        );
        kept = lines[0]!;
      }
      // What is left of the backlog goes before the worker stops: its leaving would mark every one NO_WORKER (slowly).
      await pool.query(`delete from job where job_type = 'bench.noop' and status = 'PENDING'`);
      return { perSecond: rows[0]!.done / SECONDS, kept };
    } finally {
      await app.stop();
      await pool.end();
    }
  };

  const without: number[] = [];
  const beside: number[] = [];
  let kept: { lines: number; bytes: number; marker: string | null } | null = null;
  for (let round = 1; round <= ROUNDS; round++) {
    without.push((await run(`bench_logs_without_${round}`, false)).perSecond);
    const result = await run(`bench_logs_with_${round}`, true);
    beside.push(result.perSecond);
    kept = result.kept;
    console.log(`round ${round}: no-op jobs/s without ${round1(without.at(-1)!)}, beside the logging job ${round1(beside.at(-1)!)}`);
  }
  const ratio = median(beside) / median(without);
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
      headline: [{ figure: 'no-op jobs/s beside a job logging 1,000 lines/s, as a share of without', value: round(ratio, 3), target: '≥ 0.9', held: ratio >= 0.9 }],
    },
  );
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await server.stop();
}

function round1(value: number) {
  return round(value, 1);
}
