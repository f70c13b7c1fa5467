// Read-ahead (src/worker/read-ahead.ts): a lone job into an idle worker is
// read while graphile-worker's get_job locks it, so the task reads nothing
// after the lock; its history stays PENDING, RUNNING, COMPLETED, in time
// order. A row read ahead never stands for the read when a cancel was heard
// meanwhile, when the LISTEN connection reconnected, or for another entry, or
// for an entry taken before.
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import type { WorkerEvents } from 'graphile-worker';
import { z } from 'zod';
import { LOCAL_PRINCIPAL } from '../../src/auth/principal.ts';
import type { JobHandler } from '../../src/core/handler.ts';
import { Listener } from '../../src/db/listener.ts';
import { createPool } from '../../src/db/pool.ts';
import { createRegistry } from '../../src/handlers.ts';
import { createJobs } from '../../src/jobs/create.ts';
import { cancelJob } from '../../src/job-state/cancel.ts';
import { jobTaskIdentifier } from '../../src/job-state/queue-entry.ts';
import { createLogger } from '../../src/logger.ts';
import { loadConfig } from '../../src/service-config.ts';
import { ReadAhead } from '../../src/worker/read-ahead.ts';
import { startWorker, type WorkerHandle } from '../../src/worker/runner.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { serveJobTypes } from '../support/registry.ts';
import { eventually } from '../support/wait.ts';

const logger = createLogger('silent');
let db: TestDatabase;
let pool: pg.Pool;
let listener: Listener;
let worker: WorkerHandle | undefined;
/** The names of the statements the worker's pool ran (pool.query). */
const statements: string[] = [];
const started: string[] = [];
/** Creates one job through the running worker's registry. */
let created: (jobType: string) => Promise<string>;

/** Sleeps a minute unless aborted: a missed cancel shows as a job that does not end. */
const sleeper: JobHandler<Record<string, unknown>> = {
  jobType: 'test.read_ahead_sleep',
  description: 'Sleeps 60 s or until aborted.',
  payload: z.record(z.string(), z.unknown()),
  async handle(_job, ctx) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 60_000);
      ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    return ctx.signal.aborted ? { success: false, error: new Error('aborted') } : { success: true };
  },
};

const handler: JobHandler<Record<string, unknown>> = {
  jobType: 'test.read_ahead',
  description: 'Records its start.',
  payload: z.record(z.string(), z.unknown()),
  async handle(job) {
    started.push(job.id);
    return { success: true };
  },
};

beforeAll(async () => {
  db = await createTestDatabase();
  pool = createPool(db.url, 10, logger);
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => {
    const config = args[0] as { name?: string };
    if (typeof config === 'object' && config?.name) statements.push(config.name);
    return query(...args);
  }) as typeof pool.query;
  listener = new Listener(db.url, logger);
  await listener.start();
});
afterAll(async () => {
  await worker?.stop();
  await listener?.stop();
  await pool?.end();
});

// Without a local queue (the default) each slot runs get_job; with one the pool fetches batches.
describe.each(['0', '10'])('a lone job into an idle worker (WORKER_LOCAL_QUEUE_SIZE=%s)', (localQueueSize) => {
  const batched = localQueueSize !== '0';
  afterAll(async () => {
    await worker?.stop();
    worker = undefined;
  });

  it('starts from the row read ahead, with no read after the lock, and keeps its history in order', async () => {
    // Polls far apart: only the jobs:insert of each create wakes a slot.
    const config = loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent', WORKER_CONCURRENCY: '4', WORKER_POLL_INTERVAL_MS: '60000', WORKER_LOCAL_QUEUE_SIZE: localQueueSize });
    const registry = createRegistry({ pool, config }).register(handler).register(sleeper);
    created = (jobType) => createJobs({ pool, registry, config }, LOCAL_PRINCIPAL, [{ jobType }]).then(([id]) => id!);
    const events: WorkerEvents = new EventEmitter();
    let empty = 0;
    events.on('worker:getJob:empty', () => empty++);
    // The local queue's fetches that found nothing (its slots then wait on it, not on get_job).
    events.on('localQueue:getJobs:complete', ({ jobs }) => void (jobs.length === 0 && empty++));
    worker = await startWorker({ config, connectionString: db.url, pool, listener, registry, logger, events, serviceTasks: false });
    // Every slot (or the local queue) has looked once and found nothing: the worker is idle.
    await eventually('every slot idle', async () => (empty >= (batched ? 1 : 4) ? true : undefined));

    const ids: string[] = [];
    started.length = 0;
    let emptyAtCreate = empty;
    let readAhead = 0;
    // The first job is one of a task new to the database, which workers add to their task list when told (routing.ts): not measured.
    for (let i = -1; i < 5; i++) {
      // Idle again: the slot that ran the last job has looked for the next and found nothing
      // (the local queue fetched fewer than it asks for: it waits for jobs:insert, holding nothing).
      if (i >= 0 && !batched) await eventually('the slot to look again', async () => (empty > emptyAtCreate ? true : undefined));
      emptyAtCreate = empty;
      statements.length = 0;
      const [id] = await createJobs({ pool, registry, config }, LOCAL_PRINCIPAL, [{ jobType: handler.jobType }]);
      if (i >= 0) ids.push(id!);
      await eventually('the job to complete', async () => {
        const { rows } = await db.pool.query(`select status from job where id = $1`, [id]);
        return rows[0]?.status === 'COMPLETED' ? true : undefined;
      });
      if (i < 0) continue;
      // Read once, ahead; read after the lock only when the read ahead came too late (on a loaded machine its
      // snapshot may follow get_job's commit, and the entry is taken already): a fallback, not an error.
      // By its key: the create's jobs:insert names it.
      expect(statements.filter((name) => name === 'jobwire-read-queued-job')).toHaveLength(1);
      expect(statements).not.toContain('jobwire-read-queue-head');
      if (!statements.includes('jobwire-take-queued-jobs')) readAhead++;
    }
    expect(readAhead).toBeGreaterThan(0);
    expect(started.slice(1)).toEqual(ids);

    const { rows } = await db.pool.query<{ job_id: string; statuses: string[]; ordered: boolean; started_after_created: boolean }>(
      `select e.job_id, array_agg(e.status::text order by e.id) as statuses,
              array_agg(e.created_at order by e.id) = array_agg(e.created_at order by e.created_at, e.id) as ordered,
              bool_and(j.started_at > j.created_at and j.started_at <= j.completed_at) as started_after_created
         from job_event e join job j on j.id = e.job_id
        where e.job_id = any($1::uuid[]) group by e.job_id`,
      [ids],
    );
    expect(rows).toHaveLength(5);
    for (const row of rows) {
      expect(row.statuses).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
      expect(row.ordered).toBe(true);
      expect(row.started_after_created).toBe(true);
    }
  });

  it('still honours a cancel asked for at any moment of the take: every job ends CANCELLED, run or not', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = await created(sleeper.jobType);
      ids.push(id);
      // A few turns of the event loop, more each time: the cancel falls before, during and after the take.
      for (let turn = 0; turn < i; turn++) await new Promise((resolve) => setImmediate(resolve));
      await cancelJob(pool, LOCAL_PRINCIPAL, id);
      await eventually('the job to end CANCELLED', async () => {
        const { rows } = await db.pool.query(`select status from job where id = $1`, [id]);
        return rows[0]?.status === 'CANCELLED' ? true : undefined;
      });
    }
    const { rows } = await db.pool.query<{ statuses: string[] }>(
      `select array_agg(status::text order by id) as statuses from job_event where job_id = any($1::uuid[]) group by job_id`,
      [ids],
    );
    for (const row of rows) expect([['PENDING', 'CANCELLED'], ['PENDING', 'RUNNING', 'CANCELLED']]).toContainEqual(row.statuses);
  });
});

describe('ReadAhead', () => {
  const jobType = 'test.read_ahead_unit';
  const tasks = () => [jobTaskIdentifier(jobType, 'default')];
  let generation: number | null = 0;

  /** A queued job whose entry nobody takes (no worker runs here), and its entry id. */
  async function queuedJob(): Promise<{ id: string; entry: string }> {
    const config = loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' });
    const registry = createRegistry({ pool, config }).register({ ...handler, jobType });
    await serveJobTypes(pool, registry);
    await db.pool.query(`delete from graphile_worker._private_jobs where task_id = (select id from graphile_worker._private_tasks where identifier = $1)`, tasks());
    const [id] = await createJobs({ pool, registry, config }, LOCAL_PRINCIPAL, [{ jobType }]);
    const { rows } = await db.pool.query<{ entry: string }>(`select queue_entry_id as entry from job where id = $1`, [id]);
    return { id: id!, entry: rows[0]!.entry };
  }
  const readAhead = () => new ReadAhead({ pool, tasks, listenerGeneration: () => generation });

  it('gives the row for the entry it read, taken for the first time', async () => {
    const job = await queuedJob();
    const ahead = readAhead();
    ahead.jobCreated();
    const row = await ahead.take({ id: job.entry, attempts: 1 });
    expect(row?.id).toBe(job.id);
    expect(row?.queueEntryId).toBe(job.entry);
    expect(ahead.used).toBe(1);
    // Used once: the next task reads after its lock.
    expect(await ahead.take({ id: job.entry, attempts: 1 })).toBeNull();
  });

  it('gives nothing for another entry, or for one taken before (attempts above 1)', async () => {
    const job = await queuedJob();
    const ahead = readAhead();
    ahead.jobCreated();
    expect(await ahead.take({ id: `${BigInt(job.entry) + 1n}`, attempts: 1 })).toBeNull();
    ahead.jobCreated();
    expect(await ahead.take({ id: job.entry, attempts: 2 })).toBeNull();
    expect(ahead.used).toBe(0);
  });

  it('gives nothing once a cancel was heard, or once the LISTEN connection reconnected or is down', async () => {
    const job = await queuedJob();
    const ahead = readAhead();
    ahead.jobCreated();
    ahead.cancelHeard();
    expect(await ahead.take({ id: job.entry, attempts: 1 })).toBeNull();

    ahead.jobCreated();
    const taking = ahead.take({ id: job.entry, attempts: 1 });
    // Heard while the task waits for the row: still refused.
    ahead.cancelHeard();
    expect(await taking).toBeNull();

    ahead.jobCreated();
    generation = 1;
    expect(await ahead.take({ id: job.entry, attempts: 1 })).toBeNull();

    generation = null;
    ahead.jobCreated();
    expect(await ahead.take({ id: job.entry, attempts: 1 })).toBeNull();
    generation = 0;
    expect(ahead.used).toBe(0);
  });

  it('is dropped when a get_job that began after it finds nothing, not by one that began before', async () => {
    const job = await queuedJob();
    const ahead = readAhead();
    const before = {};
    const after = {};
    ahead.getJobStarted(before);
    ahead.jobCreated();
    ahead.getJobStarted(after);
    ahead.nothingTaken(before);
    expect((await ahead.take({ id: job.entry, attempts: 1 }))?.id).toBe(job.id);

    ahead.getJobStarted(before);
    ahead.jobCreated();
    ahead.getJobStarted(after);
    ahead.nothingTaken(after);
    expect(await ahead.take({ id: job.entry, attempts: 1 })).toBeNull();
  });

  it('reads the job jobs:insert names by its key, and gives it as the head would be given', async () => {
    const job = await queuedJob();
    statements.length = 0;
    const ahead = readAhead();
    ahead.jobCreated(job.id);
    expect((await ahead.take({ id: job.entry, attempts: 1 }))?.id).toBe(job.id);
    expect(statements).toEqual(['jobwire-read-queued-job']);
  });

  it('with a local queue: the batch fetched after it ends it, and gives the row for its entry once', async () => {
    const job = await queuedJob();
    const ahead = readAhead();
    ahead.jobCreated(job.id);
    const check = ahead.takeForBatch()!;
    expect(ahead.takeForBatch()).toBeNull();
    expect(await check({ id: `${BigInt(job.entry) + 1n}`, attempts: 1 })).toBeNull();
    expect(await check({ id: job.entry, attempts: 2 })).toBeNull();
    expect((await check({ id: job.entry, attempts: 1 }))?.id).toBe(job.id);
    expect(await check({ id: job.entry, attempts: 1 })).toBeNull();
    expect(ahead.used).toBe(1);

    ahead.jobCreated(job.id);
    const afterCancel = ahead.takeForBatch()!;
    ahead.cancelHeard();
    expect(await afterCancel({ id: job.entry, attempts: 1 })).toBeNull();
  });

  it('does not read a debounced job ahead (its payload may be replaced while it waits)', async () => {
    const config = loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' });
    const registry = createRegistry({ pool, config }).register({ ...handler, jobType });
    await db.pool.query(`delete from graphile_worker._private_jobs where task_id = (select id from graphile_worker._private_tasks where identifier = $1)`, tasks());
    const [id] = await createJobs({ pool, registry, config }, LOCAL_PRINCIPAL, [{ jobType, debounce: { key: 'k', delayMs: 1 } }]);
    const { rows } = await db.pool.query<{ entry: string }>(`select queue_entry_id as entry from job where id = $1`, [id]);
    await eventually('the debounced job to be due', async () => {
      const due = await db.pool.query(`select 1 from graphile_worker._private_jobs where id = $1 and is_available and run_at <= now()`, [rows[0]!.entry]);
      return due.rowCount === 1 ? true : undefined;
    });
    const ahead = readAhead();
    ahead.jobCreated();
    expect(await ahead.take({ id: rows[0]!.entry, attempts: 1 })).toBeNull();
    ahead.jobCreated(id);
    expect(await ahead.take({ id: rows[0]!.entry, attempts: 1 })).toBeNull();
  });
});
