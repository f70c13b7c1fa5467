// `npm run bench:smoke`: every bench that `npm run bench` runs, at a tiny size
// (seconds each), one after another, so that a bench that no longer runs fails
// CI (.ci/run runs this after the tests). Figures at these sizes mean nothing;
// only whether each bench ends with exit status 0 within its time. Their JSON
// reports go to a temporary folder, not bench/results/. One embedded Postgres
// serves them all (BENCH_DATABASE_URL; each bench makes its own database on it),
// which saves a server start per bench, and every bench database is a clone of
// one migrated template (BENCH_TEMPLATE_DATABASE), which saves a migration per
// database; bench:readiness and bench:chaos start their own, to stop,
// and bench:memory its own embedded one, as `npm start` does.
// BENCH_SMOKE_TIMEOUT_SECONDS: the longest a bench may take (default 120).
//
// A new bench is one line in SMOKE: the runner refuses to start while a bench
// in bench/ has no line (or a line names a bench that is no longer there).
//   npm run bench:smoke                  every bench
//   npm run bench:smoke -- latency api   only those
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/logger.ts';
import { createMigratedDatabase, onServer, startPostgresServer } from '../src/testing/postgres-server.ts';
import { benchNames } from './benches.ts';

interface Run {
  /** Environment of the run, on top of this process's. */
  env?: Record<string, string>;
  /** Arguments after `--` (benches that take their sizes from argv). */
  args?: string[];
  /** Longer than this (default BENCH_SMOKE_TIMEOUT_SECONDS, 120) is a failure: a bench that waits forever must not hang CI. */
  timeoutSeconds?: number;
}

/** The tiny size of each bench: one run, or several (a bench's variants). */
const SMOKE: Record<string, Run | Run[]> = {
  'bench:throughput': [
    { env: { BENCH_JOBS: '200', BENCH_ROUNDS: '1' } },
    { env: { BENCH_JOBS: '200', BENCH_ROUNDS: '1', BENCH_SCENARIO: 'concurrency-key' } },
    { env: { BENCH_JOBS: '200', BENCH_ROUNDS: '1', BENCH_SCENARIO: 'webhook' } },
  ],
  // 100 subscribers: more than a principal's socket cap with authentication on (bench:latency hung there once).
  'bench:latency': { env: { BENCH_SIZES: '1,100', BENCH_LATENCY_JOBS: '10' } },
  'bench:live-lag': { env: { BENCH_LAG_RATE: '100', BENCH_LAG_SECONDS: '2' } },
  'bench:take-over': { env: { BENCH_TAKE_OVER_ROUNDS: '1' } },
  'bench:readiness': { env: { BENCH_READINESS_ROUNDS: '1' } },
  'bench:api': { env: { BENCH_SECONDS: '1', BENCH_AUTH_ROUNDS: '1', BENCH_CONNECTIONS: '2' } },
  'bench:scale-out': { env: { BENCH_JOBS: '200' } },
  'bench:collections': { args: ['3', '50'] },
  'bench:flex-statement': { args: ['200'] },
  'bench:imports': { env: { BENCH_IMPORT_ROWS: '200', BENCH_STORED_PAIRS: '1000' } },
  'bench:metrics': { env: { BENCH_JOBS: '200', BENCH_STORED_JOBS: '1000', BENCH_SCRAPE_INTERVAL_MS: '200' } },
  'bench:startup': { env: { BENCH_STARTUP_RUNS: '1' } },
  // Starts its own embedded Postgres, as `npm start` does (initdb included).
  'bench:memory': { env: { BENCH_MEMORY_BUDGET_SYNCS: '1' }, timeoutSeconds: 240 },
  'bench:graphiql': {},
  'bench:dashboard': { args: ['50', '1000', '1000'] },
  // Pages of 100: the sync still walks several pages.
  'bench:budget-sync': { env: { BENCH_BUDGET_TRANSACTIONS: '500', YNAB_TRANSACTIONS_PAGE_SIZE: '100' } },
  // One scenario (a Postgres restart under load), every phase a fifth as long.
  'bench:chaos': { env: { CHAOS_SCALE: '0.2' }, args: ['postgres_restart'], timeoutSeconds: 240 },
  'bench:remote-worker': { env: { BENCH_JOBS: '200', BENCH_ROUNDS: '1', BENCH_REMOTE_BATCH: '20' } },
  'bench:add-job': { env: { BENCH_JOBS: '200', BENCH_ROUNDS: '1' } },
  'bench:quota': { env: { BENCH_JOBS: '50', BENCH_ROUNDS: '1', BENCH_BACKLOG: '50', BENCH_CONCURRENCY: '2' } },
  'bench:waits': { env: { BENCH_JOBS: '100', BENCH_WAKE_SPREAD_SECONDS: '2' } },
  // Installs redis-server with apt-get when it is missing (CI runs as root).
  'bench:peers': { env: { BENCH_JOBS: '200', BENCH_LATENCY_SAMPLES: '20', BENCH_ROUNDS: '1' }, timeoutSeconds: 240 },
  // Every scenario, each phase about a second (a fiftieth, with 1 s at least).
  'bench:pressure': { env: { PRESSURE_SCALE: '0.02', PRESSURE_BURST_JOBS: '1000', PRESSURE_PEAK_JOBS: '300' }, timeoutSeconds: 420 },
  'bench:search': { env: { BENCH_STORED_JOBS: '2000', BENCH_SEARCH_QUERIES: '5' } },
  'bench:rate-limit': { env: { BENCH_RATE_JOBS: '6', BENCH_RATE_WORKERS: '1' } },
  'bench:fairness': { env: { FAIRNESS_JOBS: '200', FAIRNESS_AGING_STEP_MS: '100' } },
  'bench:logs': { env: { BENCH_LOG_RATE: '200', BENCH_LOG_SECONDS: '1', BENCH_NOOP_JOBS: '40000', BENCH_ROUNDS: '1' } },
};

/** Lines of a failed bench's output shown (the CI log shows its end only). */
const TAIL_LINES = 25;

// The benches `npm run bench` runs (scripts/bench-all.ts): every bench/*.ts but support.ts.
const benches = benchNames().map((name) => `bench:${name}`);
const unsized = benches.filter((bench) => !(bench in SMOKE));
const stale = Object.keys(SMOKE).filter((bench) => !benches.includes(bench));
if (unsized.length || stale.length) {
  if (unsized.length) console.error(`bench:smoke: no tiny size for ${unsized.join(', ')}: add a line to SMOKE in scripts/bench-smoke.ts`);
  if (stale.length) console.error(`bench:smoke: SMOKE names ${stale.join(', ')}, which is no longer in bench/`);
  process.exit(2);
}
const wanted = process.argv.slice(2).map((name) => (name.startsWith('bench:') ? name : `bench:${name}`));
const unknown = wanted.filter((name) => !benches.includes(name));
if (unknown.length) {
  console.error(`bench:smoke: unknown bench ${unknown.join(', ')}; the benches are ${benches.join(', ')}`);
  process.exit(2);
}

interface Outcome {
  ok: boolean;
  seconds: number;
  why?: string;
  tail: string[];
}

/** Runs one bench in its own process group, so that a timeout ends it and every process it started. */
function runBench(script: string, run: Run, env: Record<string, string>): Promise<Outcome> {
  const started = performance.now();
  const timeoutSeconds = run.timeoutSeconds ?? Number(process.env.BENCH_SMOKE_TIMEOUT_SECONDS || 120);
  const child = spawn('npm', ['run', '--silent', script, ...(run.args?.length ? ['--', ...run.args] : [])], {
    env: { ...process.env, ...env, ...run.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString().split('\n'));
    if (lines.length > 4 * TAIL_LINES) lines.splice(0, lines.length - TAIL_LINES);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let timedOut = false;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group has ended already.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup('SIGTERM');
    setTimeout(() => killGroup('SIGKILL'), 10_000).unref();
  }, timeoutSeconds * 1000);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // Whatever the bench left running (a server it spawned) goes with it.
      killGroup('SIGKILL');
      const seconds = (performance.now() - started) / 1000;
      const tail = lines.filter((line) => line.trim()).slice(-TAIL_LINES);
      if (timedOut) resolve({ ok: false, seconds, why: `still running after ${timeoutSeconds} s`, tail });
      else if (code !== 0) resolve({ ok: false, seconds, why: signal ? `ended by ${signal}` : `exit status ${code}`, tail });
      else resolve({ ok: true, seconds, tail });
    });
  });
}

const startedAll = performance.now();
const resultsDir = await mkdtemp(path.join(os.tmpdir(), 'jobwire-bench-smoke-'));
const server = await startPostgresServer({ url: process.env.BENCH_DATABASE_URL, logger: createLogger('warn'), tmpPrefix: 'jobwire-bench-smoke-pg-' });
const TEMPLATE = 'jobwire_bench_smoke_template';
const env = { BENCH_RESULTS_DIR: resultsDir, BENCH_DATABASE_URL: server.adminUrl, BENCH_TEMPLATE_DATABASE: TEMPLATE };
const failures: Array<{ name: string; outcome: Outcome }> = [];
try {
  await createMigratedDatabase(server.adminUrl, TEMPLATE, createLogger('warn'));
  for (const script of wanted.length ? wanted : benches) {
    const runs = [SMOKE[script]!].flat();
    for (const run of runs) {
      const name = `${script}${runs.length > 1 ? ` (${Object.entries(run.env ?? {}).map(([key, value]) => `${key}=${value}`).join(' ')})` : ''}`;
      const outcome = await runBench(script, run, env);
      console.log(`${outcome.ok ? 'ok    ' : 'FAILED'} ${name}  ${outcome.seconds.toFixed(1)} s${outcome.why ? `  (${outcome.why})` : ''}`);
      if (!outcome.ok) failures.push({ name, outcome });
    }
  }
} finally {
  await onServer(server.adminUrl, `drop database if exists ${TEMPLATE} with (force)`).catch(() => undefined);
  await server.stop();
  await rm(resultsDir, { recursive: true, force: true });
}
const total = ((performance.now() - startedAll) / 1000).toFixed(0);
if (failures.length) {
  // At the end, where a CI log is read: each failure with the end of its output.
  for (const { name, outcome } of failures) {
    console.log(`\n=== ${name}: ${outcome.why}; the end of its output:`);
    console.log(outcome.tail.length ? outcome.tail.map((line) => `  | ${line}`).join('\n') : '  (no output)');
  }
  console.log(`\nbench:smoke: ${failures.length} failed in ${total} s: ${failures.map(({ name }) => name).join(', ')}`);
  process.exitCode = 1;
} else {
  console.log(`bench:smoke: every bench ran, in ${total} s`);
}
