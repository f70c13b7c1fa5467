// Shared by the benchmark scripts: a real Postgres (embedded unless
// BENCH_DATABASE_URL names a server), fresh databases cloned from a migrated template, child processes
// of the real CLI, percentiles, and a table + JSON report under bench/results/.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { HandlerRegistry } from '../src/core/registry.ts';
import { createLogger } from '../src/logger.ts';
import { registerJobTypes, registrationOf } from '../src/registry/registry.ts';
import { loadConfig, type ServiceConfig } from '../src/service-config.ts';
import { freePort } from '../src/testing/ports.ts';
import { createMigratedDatabase, databaseUrl, onServer, startPostgresServer } from '../src/testing/postgres-server.ts';

export const logger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn');

export interface BenchServer {
  /** The server's maintenance database (for create/drop database). */
  adminUrl: string;
  /** A fresh database on the server, cloned from a migrated template. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a Postgres (or reaches BENCH_DATABASE_URL's) whose databases are
 * clones of one migrated template, as the tests' are (test/support): a clone
 * costs a file copy where migrating costs every migration again. The template
 * is BENCH_TEMPLATE_DATABASE when a runner made one (npm run bench,
 * bench:smoke), else one this process migrates on its first database() and
 * drops on stop. A clone is the same schema as a migrated database: no
 * migration sets anything per database (alter database ... set).
 */
export async function startBenchServer(): Promise<BenchServer> {
  const server = await startPostgresServer({ url: process.env.BENCH_DATABASE_URL, logger, tmpPrefix: 'jobwire-bench-' });
  const given = process.env.BENCH_TEMPLATE_DATABASE;
  // Its own name per process: two benches on one BENCH_DATABASE_URL must not drop each other's.
  const own = `jobwire_bench_template_${process.pid}`;
  let template: Promise<string> | undefined = given ? Promise.resolve(given) : undefined;
  return {
    adminUrl: server.adminUrl,
    async database(name) {
      template ??= createMigratedDatabase(server.adminUrl, own, logger).then(() => own);
      return cloneDatabase(server.adminUrl, name, await template);
    },
    async stop() {
      if (template && !given) await onServer(server.adminUrl, `drop database if exists ${own} with (force)`).catch(() => undefined);
      await server.stop();
    },
  };
}

/** Creates database `name` afresh (dropping one of that name) as a copy of `template`; returns its URL. */
export async function cloneDatabase(adminUrl: string, name: string, template: string): Promise<string> {
  await onServer(adminUrl, `drop database if exists ${name} with (force)`, `create database ${name} template ${template}`);
  return databaseUrl(adminUrl, name);
}

/** CPU time (ms) of the Postgres server's processes (the postmaster and its children), or NaN when it is not on this machine. */
export async function postgresCpuMs(databaseUrl: string): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const dataDirectory = (await db.query<{ setting: string }>(`select setting from pg_settings where name = 'data_directory'`)).rows[0]!.setting;
    const postmaster = (await readFile(`${dataDirectory}/postmaster.pid`, 'utf8')).split('\n')[0]!;
    let ticks = 0;
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      // After the command name: state, ppid, ..., utime (12th), stime (13th), and the
      // reaped children's cutime and cstime; clock ticks of 10 ms. The postmaster's
      // reaped children count too: a connection that closed keeps its time in the sum.
      const fields = stat.split(') ')[1]?.split(' ');
      if (fields && pid === postmaster) ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      else if (fields && fields[1] === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
    }
    return ticks * 10;
  } catch {
    return NaN;
  } finally {
    await db.end();
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * One figure of a bench for `npm run bench`'s summary (scripts/bench-all.ts):
 * a bench passes its headline figures to report() as `extra.headline`; one
 * that passes none is summarised by its `summary` object, else its first row.
 */
export interface Headline {
  figure: string;
  value: string | number;
  /** The target the issue sets, when there is one. */
  target?: string;
  held?: boolean;
}

/**
 * Prints a table and writes the same rows as JSON to bench/results/<name>.json
 * (BENCH_RESULTS_DIR: another folder; bench:smoke's tiny runs must not replace real figures).
 * `extra.headline` (Headline[]): the figures `npm run bench`'s summary shows.
 */
export async function report(name: string, rows: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) {
  console.log(`\n${name}`);
  console.table(rows);
  const directory = process.env.BENCH_RESULTS_DIR || 'bench/results';
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, `${name}.json`);
  await writeFile(file, `${JSON.stringify({ name, at: new Date().toISOString(), machine: { cpus: os.cpus().length, node: process.version }, ...extra, rows }, null, 2)}\n`);
  console.log(`written to ${file}`);
}

export interface Child {
  process: ChildProcess;
  url?: string;
  stop(): Promise<void>;
  /** Peak resident set size so far (VmHWM), in MB. */
  peakRssMb(): Promise<number>;
  /** CPU time the process has used so far (user + system, as the kernel counts it), in ms. */
  cpuMs(): Promise<number>;
  /** Resident set size now (VmRSS), in MB. */
  rssMb(): Promise<number>;
}

async function statusMb(pid: number | undefined, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
}

/** Compiles the service to dist/ (npm run build), for spawnCli's `dist` runtime. */
export function buildService(): void {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build failed');
}

/**
 * Runs the real CLI (`serve` or `work`) and waits until it is up: the API
 * answers HTTP, the worker has written its first heartbeat.
 */
export async function spawnCli(
  command: 'serve' | 'work',
  env: Record<string, string> & { DATABASE_URL: string },
  /** `dist`: the compiled build, as `npm start` runs it (build it first with buildService); `tsx`: the sources. */
  runtime: 'tsx' | 'dist' = 'tsx',
): Promise<Child> {
  const port = await freePort();
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  const workersBefore = Number((await db.query('select count(*) as n from worker')).rows[0].n);
  const entry = runtime === 'dist' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  // BENCH_NODE_ARGS: flags for the child's node, e.g. '--cpu-prof --cpu-prof-dir=prof' to profile it (NODE_OPTIONS refuses --cpu-prof).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...entry, command], {
    env: { ...process.env, LOG_LEVEL: 'warn', CI: '1', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  const url = command === 'serve' ? `http://127.0.0.1:${port}/graphql` : undefined;
  for (;;) {
    if (exited) throw new Error(`${command} exited before it was ready`);
    const up = url
      ? await fetch(`${url}?query=${encodeURIComponent('{__typename}')}`, { headers: { 'x-graphql-yoga-csrf': '1' } }).then((r) => r.ok, () => false)
      : Number((await db.query('select count(*) as n from worker')).rows[0].n) > workersBefore;
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await db.end();
  return {
    process: child,
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await done;
    },
    peakRssMb: () => statusMb(child.pid, 'VmHWM'),
    rssMb: () => statusMb(child.pid, 'VmRSS'),
    async cpuMs() {
      // Fields 14 and 15 of /proc/PID/stat (after the command name): utime and stime, in clock ticks (100 a second).
      const fields = (await readFile(`/proc/${child.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    },
  };
}

/**
 * Reads a job until it has ended: `read` again on each notification of
 * `listening` (which must LISTEN on jobwire_job), or after a second without one.
 */
export async function waitForJobEnd<Row extends { status: string }>(listening: pg.Client, read: () => Promise<Row>): Promise<Row> {
  let job = await read();
  while (!['COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'].includes(job.status)) {
    await new Promise<void>((resolve) => {
      const wake = () => resolve();
      listening.once('notification', wake);
      setTimeout(() => {
        listening.off('notification', wake);
        resolve();
      }, 1000);
    });
    job = await read();
  }
  return job;
}

/**
 * Jobs a bench inserts before its measured workers start would wait with
 * NO_WORKER (one more event each, and a release to measure): a placeholder
 * worker, leased long enough for the bench, serves their types meanwhile.
 */
export async function servePlaceholderWorker(pool: pg.Pool, registry: HandlerRegistry, jobTypes: readonly string[]): Promise<void> {
  await pool.query(`insert into worker (id, hostname, pid, lease_seconds) values ('bench-placeholder', 'bench', 0, 600) on conflict do nothing`);
  await registerJobTypes(
    pool,
    'bench-placeholder',
    jobTypes.map((jobType) => registrationOf(registry.get(jobType)!)),
  );
}

/**
 * bench:throughput's worker settings (concurrency 10, local queue 50, batched
 * completions), shared by the benches that compare against it.
 */
/** The database URL with tenant turns on or off on its connections (docs/fairness.md; on by default). */
export const withTenantTurns = (url: string, turns: boolean) =>
  `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c jobwire.tenant_turns=${turns ? 'on' : 'off'}`)}`;

export function throughputConfig(databaseUrl: string, extra: Record<string, string> = {}): ServiceConfig {
  return loadConfig({
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    DATABASE_POOL_SIZE: '20',
    WORKER_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? '10',
    WORKER_LOCAL_QUEUE_SIZE: process.env.BENCH_LOCAL_QUEUE ?? '50',
    WORKER_COMPLETE_BATCH_DELAY_MS: process.env.BENCH_COMPLETE_BATCH_DELAY_MS ?? '0',
    WORKER_POLL_INTERVAL_MS: '1000',
    ...extra,
  });
}
