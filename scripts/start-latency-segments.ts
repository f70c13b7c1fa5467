// Where a lone job's start latency goes, segment by segment (docs/performance.md,
// "Start latency"): one job at a time into an idle worker, as bench:peers'
// `jobwire` row (defaults but WORKER_CONCURRENCY=10), with timestamps at the
// create call, the create's statement sent and answered, the NOTIFY heard by
// graphile-worker's LISTEN connection, get_job sent and answered, the read of
// the taken job sent and answered, and the handler's call; pg-boss 12's path on
// the same Postgres beside it (send sent/answered, fetch sent/answered,
// handler). Also the WAL flushes a sample costs (pg_stat_wal.wal_sync).
//   npx tsx scripts/start-latency-segments.ts   (SEGMENT_SAMPLES, 300; SEGMENT_ROUNDS, 2; SEGMENT_SYSTEMS=jobwire,pg-boss)
// SEGMENT_SYSTEMS=jobwire-ab: the read-ahead and the create's named statement on
// against off, alternating sample by sample in one process (two databases, two
// idle workers), so both sides see the same load.
import { setTimeout as delay } from 'node:timers/promises';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { z } from 'zod';
import type { WorkerEvents } from 'graphile-worker';
import { LOCAL_PRINCIPAL } from '../src/auth/principal.ts';
import type { JobHandler } from '../src/core/handler.ts';
import { Listener } from '../src/db/listener.ts';
import { createPool } from '../src/db/pool.ts';
import { createRegistry } from '../src/handlers.ts';
import { createJobs } from '../src/jobs/create.ts';
import { loadConfig } from '../src/service-config.ts';
import { createMigratedDatabase, databaseUrl, onServer, startPostgresServer } from '../src/testing/postgres-server.ts';
import { startWorker } from '../src/worker/runner.ts';
import { ReadAhead } from '../src/worker/read-ahead.ts';
import { logger, percentile, round, servePlaceholderWorker } from '../bench/support.ts';

const SAMPLES = Number(process.env.SEGMENT_SAMPLES ?? 300);
const ROUNDS = Number(process.env.SEGMENT_ROUNDS ?? 2);
const SYSTEMS = (process.env.SEGMENT_SYSTEMS ?? 'jobwire,pg-boss').split(',');
const IDLE_MS = 20;

/** SEGMENT_SYSTEMS=jobwire-ab: this branch's changes on (read-ahead, the create's named statement) or off, sample by sample. */
let featuresOn = true;
const originalJobCreated = ReadAhead.prototype.jobCreated;
ReadAhead.prototype.jobCreated = function (this: ReadAhead) {
  if (featuresOn) originalJobCreated.call(this);
};

/** Marks of the current sample: name → performance.now() (the first time only). */
let marks = new Map<string, number>();
const mark = (name: string) => {
  if (!marks.has(name)) marks.set(name, performance.now());
};

// Every statement of every pg client: when it is handed to the client and when its answer arrives.
const classify = (text: string): string | undefined => {
  if (text.includes('graphile_worker.add_jobs') || text.includes('insert into job (id, kind')) return 'create';
  if (text.includes('_private_jobs as jobs') && text.includes('skip locked')) return 'get_job';
  if (text.includes('head_entry_id')) return 'read ahead';
  if (text.includes('"takenAt"')) return 'read';
  if (/skip locked/i.test(text) && text.includes('pgboss')) return 'fetch';
  if (/insert into pgboss\.job/i.test(text) || /insert into pgboss\.j[0-9a-f]/i.test(text)) return 'send';
  return undefined;
};
const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text?: string };
  const text = typeof first === 'string' ? first : (first?.text ?? '');
  const kind = classify(text);
  // The A/B's "as main" side: the create's statement unnamed, as before it was prepared.
  if (!featuresOn && typeof first === 'object' && (first as { name?: string }).name === 'jobwire-insert-jobs') {
    args[0] = { ...(first as object), name: undefined };
  }
  if (process.env.SEGMENT_TRACE && marks.has('call')) console.log(kind ?? '-', text.replace(/\s+/g, ' ').slice(0, 100));
  if (kind) {
    mark(`${kind} sent`);
    // pg-pool's query passes a callback; graphile-worker's and pg-boss' await a promise.
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (...result: unknown[]) => {
        mark(`${kind} answered`);
        return (callback as (...a: unknown[]) => unknown)(...result);
      };
    }
  }
  const result = (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
  if (kind && result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).then(() => mark(`${kind} answered`), () => {});
  return result;
} as typeof pg.Client.prototype.query;

let onHandler: (() => void) | null = null;
const handlerCalled = () => {
  mark('handler');
  onHandler?.();
};

interface Segment {
  name: string;
  from: string;
  to: string;
}

async function takeSample(create: () => Promise<string>, done: (id: string) => Promise<boolean>): Promise<Map<string, number>> {
  marks = new Map();
  const started = new Promise<void>((resolve) => (onHandler = resolve));
  mark('call');
  const id = await create();
  mark('create returned');
  await started;
  onHandler = null;
  const taken = marks;
  marks = new Map();
  while (!(await done(id))) await delay(2);
  await delay(IDLE_MS);
  return taken;
}

function summarise(segments: Segment[], taken: Map<string, number>[]) {
  return segments.map((s) => {
    const sorted = taken.flatMap((m) => (m.has(s.from) && m.has(s.to) ? [m.get(s.to)! - m.get(s.from)!] : [])).sort((a, b) => a - b);
    return { segment: s.name, n: sorted.length, p50: round(percentile(sorted, 50), 2), p90: round(percentile(sorted, 90), 2), p99: round(percentile(sorted, 99), 2) };
  });
}

async function samples(segments: Segment[], create: () => Promise<string>, done: (id: string) => Promise<boolean>) {
  const syncsBefore = await walSyncs(server.adminUrl);
  const taken: Map<string, number>[] = [];
  for (let i = 0; i < SAMPLES; i++) taken.push(await takeSample(create, done));
  // Each sample also polls its job's status every 2 ms until done (reads: no flush).
  const syncs = (await walSyncs(server.adminUrl)) - syncsBefore - 1;
  console.log(`WAL syncs during the samples: ${syncs}, ${round(syncs / SAMPLES, 2)} a sample (create, take, completion: all commits of the sample)`);
  return summarise(segments, taken);
}

async function walSyncs(adminUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return Number((await client.query('select wal_sync from pg_stat_wal')).rows[0].wal_sync);
  } finally {
    await client.end();
  }
}

const JOBWIRE_SEGMENTS: Segment[] = [
  { name: 'call → create sent', from: 'call', to: 'create sent' },
  { name: 'create sent → answered (statement + commit)', from: 'create sent', to: 'create answered' },
  { name: 'create answered → returned', from: 'create answered', to: 'create returned' },
  { name: 'create sent → NOTIFY heard', from: 'create sent', to: 'notify' },
  { name: 'NOTIFY → getJob start', from: 'notify', to: 'getJob start' },
  { name: 'getJob start → get_job sent', from: 'getJob start', to: 'get_job sent' },
  { name: 'get_job sent → answered (statement + commit)', from: 'get_job sent', to: 'get_job answered' },
  { name: 'get_job answered → task called', from: 'get_job answered', to: 'task' },
  { name: 'task called → read sent', from: 'task', to: 'read sent' },
  { name: 'read sent → answered', from: 'read sent', to: 'read answered' },
  { name: 'read answered → handler', from: 'read answered', to: 'handler' },
  { name: 'NOTIFY → read ahead sent', from: 'notify', to: 'read ahead sent' },
  { name: 'read ahead sent → answered', from: 'read ahead sent', to: 'read ahead answered' },
  { name: 'get_job answered → handler', from: 'get_job answered', to: 'handler' },
  { name: 'call → handler (total)', from: 'call', to: 'handler' },
];

async function jobwireSetup(url: string) {
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '10' });
  const pool = createPool(url, config.DATABASE_POOL_SIZE, logger);
  const handler: JobHandler<Record<string, unknown>> = {
    jobType: 'bench.mark',
    description: 'A no-op that marks its start.',
    payload: z.record(z.string(), z.unknown()),
    async handle() {
      handlerCalled();
      return { success: true };
    },
  };
  const registry = createRegistry({ pool, config }).register(handler);
  const deps = { pool, registry, config };
  await servePlaceholderWorker(pool, registry, ['bench.mark']);
  const listener = new Listener(url, logger);
  await listener.start();
  const events: WorkerEvents = new EventEmitter();
  events.on('pool:listen:notification', ({ message }) => message.channel === 'jobs:insert' && mark('notify'));
  events.on('worker:getJob:start', () => mark('getJob start'));
  events.on('job:start', () => mark('task'));
  const worker = await startWorker({ config, connectionString: url, pool, listener, registry, logger, events });
  // Warm up: the first creates learn the task, plan statements.
  for (let i = 0; i < 20; i++) await createJobs(deps, LOCAL_PRINCIPAL, [{ jobType: 'bench.mark' }]);
  await delay(500);
  return {
    create: async () => (await createJobs(deps, LOCAL_PRINCIPAL, [{ jobType: 'bench.mark' }]))[0]!,
    done: async (id: string) => (await pool.query<{ status: string }>('select status from job where id = $1', [id])).rows[0]?.status === 'COMPLETED',
    async stop() {
      await worker.stop();
      await listener.stop();
      // The full history: PENDING, RUNNING, COMPLETED for every job.
      const bad = await pool.query(`select job_id from job_event group by job_id having array_agg(status::text order by id) <> array['PENDING', 'RUNNING', 'COMPLETED']`);
      if (bad.rowCount) throw new Error(`${bad.rowCount} jobs without the history PENDING, RUNNING, COMPLETED`);
      await pool.end();
    },
  };
}

async function jobwire(url: string) {
  const system = await jobwireSetup(url);
  const result = await samples(JOBWIRE_SEGMENTS, system.create, system.done);
  await system.stop();
  return result;
}

/** This branch against itself with its changes off, sample by sample in one process (two databases, two workers). */
async function jobwireAB(urlOn: string, urlOff: string) {
  const on = await jobwireSetup(urlOn);
  const off = await jobwireSetup(urlOff);
  const taken: Record<'on' | 'off', Map<string, number>[]> = { on: [], off: [] };
  for (let i = 0; i < SAMPLES; i++) {
    for (const side of i % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      featuresOn = side === 'on';
      const system = side === 'on' ? on : off;
      taken[side].push(await takeSample(system.create, system.done));
    }
  }
  featuresOn = true;
  await on.stop();
  await off.stop();
  const rows = (side: 'on' | 'off') => summarise(JOBWIRE_SEGMENTS, taken[side]);
  const offRows = rows('off');
  return rows('on').map((row, i) => ({ segment: row.segment, n: row.n, 'p50 on': row.p50, 'p50 off': offRows[i]!.p50, 'p99 on': row.p99, 'p99 off': offRows[i]!.p99 }));
}

const PGBOSS_SEGMENTS: Segment[] = [
  { name: 'call → send sent', from: 'call', to: 'send sent' },
  { name: 'send sent → answered (statement + commit)', from: 'send sent', to: 'send answered' },
  { name: 'send answered → fetch sent', from: 'send answered', to: 'fetch sent' },
  { name: 'fetch sent → answered (statement + commit)', from: 'fetch sent', to: 'fetch answered' },
  { name: 'fetch answered → handler', from: 'fetch answered', to: 'handler' },
  { name: 'call → handler (total)', from: 'call', to: 'handler' },
];

async function pgBoss(url: string) {
  const boss = new PgBoss({ connectionString: url, useListenNotify: true });
  boss.on('error', (error) => logger.error({ err: error }, 'pg-boss error'));
  await boss.start();
  const name = 'bench';
  await boss.createQueue(name, { notify: true });
  const db = new pg.Pool({ connectionString: url, max: 2 });
  await boss.work(name, { batchSize: 10, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    if (jobs.length > 0) handlerCalled();
  });
  for (let i = 0; i < 20; i++) await boss.send(name, {});
  await delay(500);
  const result = await samples(
    PGBOSS_SEGMENTS,
    async () => (await boss.send(name, {}))!,
    async (id) => (await db.query<{ state: string }>('select state from pgboss.job where name = $1 and id = $2', [name, id])).rows[0]?.state === 'completed',
  );
  await boss.stop({ graceful: true });
  await db.end();
  return result;
}

const server = await startPostgresServer({ url: process.env.BENCH_DATABASE_URL, logger, tmpPrefix: 'jobwire-segments-' });
try {
  for (let round_ = 1; round_ <= ROUNDS; round_++) {
    for (const system of round_ % 2 ? SYSTEMS : [...SYSTEMS].reverse()) {
      const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
      let rows;
      if (system === 'jobwire-ab') {
        rows = await jobwireAB(
          await createMigratedDatabase(server.adminUrl, `segments_on_${round_}`, logger),
          await createMigratedDatabase(server.adminUrl, `segments_off_${round_}`, logger),
        );
      } else if (system === 'jobwire') {
        rows = await jobwire(await createMigratedDatabase(server.adminUrl, `segments_jobwire_${round_}`, logger));
      } else {
        const name = `segments_pgboss_${round_}`;
        await onServer(server.adminUrl, `drop database if exists ${name} with (force)`, `create database ${name}`);
        rows = await pgBoss(databaseUrl(server.adminUrl, name));
      }
      console.log(`${system}, round ${round_}: ${SAMPLES} samples, load average ${load} → ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`);
      console.table(rows);
    }
  }
} finally {
  await server.stop();
}
