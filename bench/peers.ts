// jobwire beside its peers, side by side in one run: pg-boss 12 on the same
// Postgres and BullMQ 6 on Redis (Debian's redis-server, installed with apt-get
// when missing, started on a free port in a temporary folder and stopped at the
// end). Two workloads, each system with a worker of concurrency 10:
//   throughput: BENCH_JOBS (20,000) no-op jobs queued, then run; jobs/s from the
//     worker's start until the last one is recorded done;
//   start latency: one job at a time into an idle worker (the previous one done
//     and 20 ms passed): from the create call to the handler's start, BENCH_LATENCY_SAMPLES (200), p50/p99.
// BENCH_ROUNDS (3) rounds, the order of the systems rotating each round; medians.
// Every system runs with its durable settings (printed, and in docs/benchmarks.md):
// Postgres with fsync and synchronous_commit on, Redis with appendonly yes and
// appendfsync everysec. `jobwire` runs at its defaults but WORKER_CONCURRENCY=10;
// `jobwire-batched` with bench:throughput's settings (support.ts: a local queue
// of 50, completions batched), which are not the defaults (docs/configuration.md says why).
// `jobwire-turns-off` (not run unless named) is `jobwire` with tenant turns off
// on its connections (jobwire.tenant_turns = off, docs/fairness.md): what the
// turns cost a lone job's start.
//   npm run bench:peers   (BENCH_PEERS=jobwire,jobwire-batched,pg-boss,bullmq: only those; also jobwire-turns-off)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Queue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { z } from 'zod';
import { LOCAL_PRINCIPAL } from '../src/auth/principal.ts';
import type { JobHandler } from '../src/core/handler.ts';
import { Listener } from '../src/db/listener.ts';
import { createPool } from '../src/db/pool.ts';
import { createRegistry } from '../src/handlers.ts';
import { createJobs } from '../src/jobs/create.ts';
import { loadConfig } from '../src/service-config.ts';
import { freePort } from '../src/testing/ports.ts';
import { databaseUrl, onServer } from '../src/testing/postgres-server.ts';
import { startWorker } from '../src/worker/runner.ts';
import { logger, median, percentile, report, round, servePlaceholderWorker, startBenchServer, throughputConfig, withTenantTurns } from './support.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const SAMPLES = Number(process.env.BENCH_LATENCY_SAMPLES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 10;
const BATCH = 1000;
/** The pause after a job is done before the next is created: the worker is idle when it comes. */
const IDLE_MS = 20;
const SYSTEMS = ['jobwire', 'jobwire-turns-off', 'jobwire-batched', 'pg-boss', 'bullmq'] as const;
type System = (typeof SYSTEMS)[number];
const chosen = (process.env.BENCH_PEERS ?? SYSTEMS.filter((name) => name !== 'jobwire-turns-off').join(',')).split(',').map((name) => name.trim());
for (const name of chosen) if (!SYSTEMS.includes(name as System)) throw new Error(`BENCH_PEERS: unknown system "${name}" (known: ${SYSTEMS.join(', ')})`);
const systems = SYSTEMS.filter((name) => chosen.includes(name));

interface Result {
  jobsPerSecond: number;
  p50: number;
  p99: number;
}

/** Resolves each time the current sample's handler starts. */
let onHandlerStart: (() => void) | null = null;
const handlerStarted = () => {
  const at = performance.now();
  onHandlerStart?.();
  return at;
};
let lastStart = 0;

/** Runs one latency sample: `create` the job, wait for its handler to start, then until `done` says it finished. */
async function sample(create: () => Promise<string>, done: (id: string) => Promise<boolean>): Promise<number> {
  const started = new Promise<void>((resolve) => (onHandlerStart = resolve));
  const t0 = performance.now();
  const id = await create();
  await started;
  onHandlerStart = null;
  const latency = lastStart - t0;
  while (!(await done(id))) await delay(2);
  await delay(IDLE_MS);
  return latency;
}

async function latencies(create: () => Promise<string>, done: (id: string) => Promise<boolean>) {
  const values: number[] = [];
  for (let i = 0; i < SAMPLES; i++) values.push(await sample(create, done));
  values.sort((a, b) => a - b);
  return { p50: percentile(values, 50), p99: percentile(values, 99) };
}

async function untilCount(count: () => Promise<number>, target: number) {
  for (;;) {
    if ((await count()) >= target) return;
    await delay(20);
  }
}

// ---- jobwire: its worker at the documented defaults, concurrency 10 ----

const markHandler: JobHandler<Record<string, unknown>> = {
  jobType: 'bench.mark',
  description: 'A no-op that records when it starts (bench:peers).',
  payload: z.record(z.string(), z.unknown()),
  async handle() {
    lastStart = handlerStarted();
    return { success: true };
  },
};

async function jobwire(url: string, batched: boolean): Promise<Result> {
  const settings = { WORKER_CONCURRENCY: String(CONCURRENCY), CREATE_JOBS_MAX: String(BATCH) };
  const config = batched ? throughputConfig(url, settings) : loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'warn', ...settings });
  const pool = createPool(url, config.DATABASE_POOL_SIZE, logger);
  const registry = createRegistry({ pool, config }).register(markHandler);
  const deps = { pool, registry, config };
  // Queued before the worker starts, as for the others: a placeholder worker serves the type meanwhile (support.ts).
  await servePlaceholderWorker(pool, registry, ['bench.mark']);
  for (let i = 0; i < JOBS; i += BATCH) {
    await createJobs(deps, LOCAL_PRINCIPAL, Array.from({ length: Math.min(BATCH, JOBS - i) }, () => ({ jobType: 'bench.mark' })), 'jobs');
  }
  const listener = new Listener(url, logger);
  await listener.start();
  const count = async (sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);
  const started = performance.now();
  const worker = await startWorker({ config, connectionString: url, pool, listener, registry, logger });
  await untilCount(() => count(`select count(*) as n from job where status = 'COMPLETED'`), JOBS);
  const jobsPerSecond = JOBS / ((performance.now() - started) / 1000);

  const { p50, p99 } = await latencies(
    async () => (await createJobs(deps, LOCAL_PRINCIPAL, [{ jobType: 'bench.mark' }]))[0]!,
    async (id) => (await pool.query<{ status: string }>('select status from job where id = $1', [id])).rows[0]?.status === 'COMPLETED',
  );
  await worker.stop();
  // The full history: one event per status change (PENDING, RUNNING, COMPLETED), none missing.
  const events = await count('select count(*) as n from job_event');
  if (events !== 3 * (JOBS + SAMPLES)) throw new Error(`jobwire: expected ${3 * (JOBS + SAMPLES)} events, found ${events}`);
  await listener.stop();
  await pool.end();
  return { jobsPerSecond, p50, p99 };
}

// ---- pg-boss 12: the same Postgres, its defaults, LISTEN/NOTIFY on ----

async function pgBoss(url: string): Promise<Result> {
  // useListenNotify + a queue with notify: an idle worker wakes when a job is sent, not at its next poll.
  const boss = new PgBoss({ connectionString: url, useListenNotify: true });
  boss.on('error', (error) => logger.error({ err: error }, 'pg-boss error'));
  await boss.start();
  const name = 'bench';
  await boss.createQueue(name, { notify: true });
  for (let i = 0; i < JOBS; i += BATCH) await boss.insert(name, Array.from({ length: Math.min(BATCH, JOBS - i) }, () => ({ data: {} })));
  const db = new pg.Pool({ connectionString: url, max: 2 });
  const count = async () => Number((await db.query<{ n: string }>(`select count(*) as n from pgboss.job where name = $1 and state = 'completed'`, [name])).rows[0]!.n);
  const started = performance.now();
  // Ten jobs at a time: one fetch of ten, fetching again at once while fetches come back full.
  await boss.work(name, { batchSize: CONCURRENCY, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    if (jobs.length > 0) lastStart = handlerStarted();
  });
  await untilCount(count, JOBS);
  const jobsPerSecond = JOBS / ((performance.now() - started) / 1000);

  const { p50, p99 } = await latencies(
    async () => (await boss.send(name, {}))!,
    async (id) => (await db.query<{ state: string }>('select state from pgboss.job where name = $1 and id = $2', [name, id])).rows[0]?.state === 'completed',
  );
  await boss.stop({ graceful: true });
  await db.end();
  return { jobsPerSecond, p50, p99 };
}

// ---- BullMQ 6 on Redis (appendonly yes, appendfsync everysec) ----

async function bullmq(redisPort: number): Promise<Result> {
  const connection = { host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: null };
  const flush = new Redis(connection);
  await flush.flushall();
  await flush.quit();
  const name = 'bench';
  const queue = new Queue(name, { connection });
  for (let i = 0; i < JOBS; i += BATCH) await queue.addBulk(Array.from({ length: Math.min(BATCH, JOBS - i) }, () => ({ name: 'noop', data: {} })));
  let completed = 0;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((resolve) => (allDone = resolve));
  const started = performance.now();
  const worker = new BullWorker(
    name,
    async () => {
      lastStart = handlerStarted();
    },
    { connection, concurrency: CONCURRENCY },
  );
  worker.on('completed', () => {
    if (++completed === JOBS) allDone();
  });
  await finished;
  const jobsPerSecond = JOBS / ((performance.now() - started) / 1000);
  const stored = await queue.getCompletedCount();
  if (stored !== JOBS) throw new Error(`bullmq: expected ${JOBS} completed jobs, found ${stored}`);

  const { p50, p99 } = await latencies(
    async () => (await queue.add('noop', {})).id!,
    async (id) => (await queue.getJobState(id)) === 'completed',
  );
  await worker.close();
  await queue.close();
  return { jobsPerSecond, p50, p99 };
}

// ---- Redis: Debian's redis-server, installed when missing ----

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/bin', '/usr/sbin')) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function redisServerBinary(): string {
  const found = onPath('redis-server');
  if (found) return found;
  console.log("redis-server is missing: installing Debian's (apt-get install redis-server)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: 'inherit', env }).status === 0;
  // The package lists may be missing or old: update them once and try again.
  if (!install()) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    if (!install()) throw new Error('redis-server is missing and apt-get could not install it: install it (Debian: apt-get install redis-server) and run again');
  }
  const installed = onPath('redis-server');
  if (!installed) throw new Error('apt-get installed redis-server, but it is not on PATH');
  return installed;
}

const REDIS_SETTINGS = { appendonly: 'yes', appendfsync: 'everysec', save: '', 'maxmemory-policy': 'noeviction' };

async function startRedis(): Promise<{ port: number; settings: Record<string, string>; stop(): Promise<void> }> {
  const binary = redisServerBinary();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'jobwire-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no'];
  for (const [key, value] of Object.entries(REDIS_SETTINGS)) args.push(`--${key}`, value);
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  let exited = false;
  child.once('exit', () => (exited = true));
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused until the server listens: the loop below tries again.
  client.on('error', () => {});
  for (;;) {
    if (exited) throw new Error('redis-server exited at its start');
    if (await client.connect().then(() => true, () => false)) break;
    await delay(50);
  }
  const settings: Record<string, string> = { version: (await client.info('server')).match(/redis_version:(\S+)/)?.[1] ?? '?' };
  for (const key of Object.keys(REDIS_SETTINGS)) settings[key] = ((await client.config('GET', key)) as string[])[1] ?? '?';
  await client.quit();
  return {
    port,
    settings,
    async stop() {
      if (!exited) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---- the run ----

const server = await startBenchServer();
const redis = systems.includes('bullmq') ? await startRedis() : undefined;
try {
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  const postgresSettings: Record<string, string> = {};
  for (const name of ['server_version', 'fsync', 'synchronous_commit', 'wal_level', 'full_page_writes']) {
    postgresSettings[name] = (await admin.query(`show ${name}`)).rows[0][name];
  }
  await admin.end();
  const durable = { postgres: postgresSettings, ...(redis ? { redis: redis.settings } : {}) };
  console.log('durable settings:', durable);
  if (postgresSettings.fsync !== 'on' || postgresSettings.synchronous_commit !== 'on') throw new Error('Postgres must run with fsync and synchronous_commit on');

  const results: Record<System, Result[]> = { jobwire: [], 'jobwire-turns-off': [], 'jobwire-batched': [], 'pg-boss': [], bullmq: [] };
  for (let round_ = 1; round_ <= ROUNDS; round_++) {
    // The order rotates each round, so a slow spell on this shared machine does not always fall on the same system.
    const order = systems.map((_, i) => systems[(i + round_ - 1) % systems.length]!);
    for (const system of order) {
      let result: Result;
      if (system === 'jobwire' || system === 'jobwire-batched' || system === 'jobwire-turns-off') {
        const name = `peers_${system.replaceAll('-', '_')}_${round_}`;
        const url = await server.database(name);
        result = await jobwire(system === 'jobwire-turns-off' ? withTenantTurns(url, false) : url, system === 'jobwire-batched');
      } else if (system === 'pg-boss') {
        const name = `peers_pgboss_${round_}`;
        await onServer(server.adminUrl, `drop database if exists ${name} with (force)`, `create database ${name}`);
        result = await pgBoss(databaseUrl(server.adminUrl, name));
      } else {
        result = await bullmq(redis!.port);
      }
      results[system].push(result);
      console.log({ round: round_, system, 'jobs/s': round(result.jobsPerSecond), 'start p50 ms': round(result.p50, 2), 'start p99 ms': round(result.p99, 2) });
    }
  }
  const bullmqJobsPerSecond = systems.includes('bullmq') ? median(results.bullmq.map((r) => r.jobsPerSecond)) : NaN;
  const rows = systems.map((system) => {
    const jobsPerSecond = median(results[system].map((r) => r.jobsPerSecond));
    return {
      system,
      'jobs/s': round(jobsPerSecond),
      'vs BullMQ': round(jobsPerSecond / bullmqJobsPerSecond, 2),
      'start p50 ms': round(median(results[system].map((r) => r.p50)), 2),
      'start p99 ms': round(median(results[system].map((r) => r.p99)), 2),
      rounds: results[system].map((r) => round(r.jobsPerSecond)).join(' / '),
    };
  });
  await report('peers', rows, {
    jobs: JOBS,
    latencySamples: SAMPLES,
    rounds: ROUNDS,
    concurrency: CONCURRENCY,
    durable,
    settings: {
      jobwire: 'defaults (docs/configuration.md) but WORKER_CONCURRENCY=10; full event history checked',
      'jobwire-turns-off': 'as jobwire, with jobwire.tenant_turns = off on its connections',
      'jobwire-batched': 'bench:throughput settings: WORKER_CONCURRENCY=10, WORKER_LOCAL_QUEUE_SIZE=50, WORKER_COMPLETE_BATCH_DELAY_MS=0, DATABASE_POOL_SIZE=20, WORKER_POLL_INTERVAL_MS=1000; full event history checked',
      'pg-boss': 'defaults, useListenNotify with a notify queue; work: batchSize 10, burstWhenBatchFull, pollingIntervalSeconds 0.5',
      bullmq: 'defaults (completed jobs kept); Worker concurrency 10',
    },
    perRound: results,
    // Issue 26's targets, for the systems this run measured.
    headline: rows.flatMap((row) => {
      if (row.system !== 'jobwire' && row.system !== 'jobwire-batched') return [];
      const vs = Number.isFinite(row['vs BullMQ']) ? [{ figure: `${row.system} jobs/s vs BullMQ (${row['jobs/s']} jobs/s)`, value: row['vs BullMQ'], target: '≥ 1', held: row['vs BullMQ'] >= 1 }] : [];
      if (row.system === 'jobwire-batched') return vs;
      return [
        ...vs,
        { figure: 'jobwire start latency p50 ms', value: row['start p50 ms'], target: '≤ 3', held: row['start p50 ms'] <= 3 },
        { figure: 'jobwire start latency p99 ms', value: row['start p99 ms'], target: '≤ 8', held: row['start p99 ms'] <= 8 },
      ];
    }),
  });
} finally {
  await redis?.stop();
  await server.stop();
}
