// Every writer of src/job-state/, called directly on a real database: the
// status each moves a job to, the job_event it leaves, and what it refuses.
// (statuses.test.ts checks the status machine itself, pair by pair.)
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/principal.ts';
import { withTransaction } from '../../src/db/pool.ts';
import { NO_FLOW_OPTIONS } from '../../src/flow/options.ts';
import { JobKind } from '../../src/generated/prisma/enums.ts';
import { cancelJob, cancelRunningJob, cancelTakenJob } from '../../src/job-state/cancel.ts';
import { completeRunningJobs, completeTakenJobs } from '../../src/job-state/complete.ts';
import { failRunningJob } from '../../src/job-state/fail.ts';
import { insertJobs, type NewJob } from '../../src/job-state/insert.ts';
import { lockJob } from '../../src/job-state/job-row.ts';
import { markJobsRunning } from '../../src/job-state/mark-running.ts';
import { requeueRunningJob } from '../../src/job-state/requeue.ts';
import { retryJob } from '../../src/job-state/retry.ts';
import { JobStatus } from '../../src/job-state/statuses.ts';
import { takeOverJob } from '../../src/job-state/take-over.ts';
import { takeQueuedJobs } from '../../src/job-state/take.ts';
import { applyTransition } from '../../src/job-state/transition.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { serveJobTypes } from '../support/registry.ts';
import { noopHandler } from '../../src/system/handlers.ts';
import { HandlerRegistry } from '../../src/worker/registry.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  // A worker serves system.noop: new jobs do not wait with NO_WORKER (src/registry/).
  await serveJobTypes(db.pool, new HandlerRegistry().register(noopHandler));
});

const WORKER = 'worker-a';
const admin: Principal = { principalId: 'test', tenantId: 'default', scopes: new Set(['admin']), expiresAt: null };

async function newJob(overrides: Partial<NewJob> = {}): Promise<string> {
  const job: NewJob = {
    id: randomUUID(),
    kind: JobKind.PLAIN,
    queueName: 'job-state',
    jobType: 'system.noop',
    payload: {},
    priority: 0,
    maxRetries: 1,
    scheduledAt: null,
    parentJobId: null,
    createdBy: null,
    tenantId: 'default',
    metadata: {},
    steps: [],
    flow: NO_FLOW_OPTIONS,
    ...overrides,
  };
  await withTransaction(db.pool, (client) => insertJobs(client, [job]));
  return job.id;
}

async function running(overrides: Partial<NewJob> = {}) {
  const id = await newJob(overrides);
  expect(await markJobsRunning(db.pool, [id], WORKER)).toHaveLength(1);
  return id;
}

async function stateOf(id: string) {
  const { rows } = await db.pool.query<{ status: string; retryCount: number; errorMessage: string | null; error: unknown; result: unknown; workerId: string | null }>(
    `select status, retry_count as "retryCount", error_message as "errorMessage", error, result, worker_id as "workerId" from job where id = $1`,
    [id],
  );
  return rows[0]!;
}

async function eventsOf(id: string) {
  const { rows } = await db.pool.query<{ status: string; message: string | null }>(
    `select status, message from job_event where job_id = $1 and step_id is null order by tx_id, id`,
    [id],
  );
  return rows.map((row) => [row.status, row.message]);
}

describe('insert', () => {
  it('enters PENDING, or SCHEDULED when due later, each with a queue entry', async () => {
    const now = await newJob();
    const later = await newJob({ scheduledAt: new Date(Date.now() + 3_600_000) });
    expect((await stateOf(now)).status).toBe('PENDING');
    expect((await stateOf(later)).status).toBe('SCHEDULED');
    const entries = await db.pool.query(`select count(*)::int as n from job join graphile_worker.jobs e on e.id = job.queue_entry_id where job.id = any($1)`, [[now, later]]);
    expect(entries.rows[0].n).toBe(2);
  });
});

describe('take and mark running', () => {
  it('take reads queued jobs without writing; mark running moves them to RUNNING on one worker, once', async () => {
    const id = await newJob();
    expect((await takeQueuedJobs(db.pool, [id])).map((job) => job.id)).toEqual([id]);
    expect(await eventsOf(id)).toEqual([['PENDING', null]]);
    expect(await markJobsRunning(db.pool, [id], WORKER)).toHaveLength(1);
    expect(await markJobsRunning(db.pool, [id], 'worker-b')).toHaveLength(0);
    expect(await stateOf(id)).toMatchObject({ status: 'RUNNING', workerId: WORKER });
    expect(await takeQueuedJobs(db.pool, [id])).toEqual([]);
  });
});

describe('complete', () => {
  it('a RUNNING job of this worker completes with its result; another worker cannot complete it', async () => {
    const id = await running();
    expect(await completeRunningJobs(db.pool, [{ jobId: id, result: { n: 1 } }], 'worker-b')).toEqual([]);
    expect(await completeRunningJobs(db.pool, [{ jobId: id, result: { n: 1 } }], WORKER)).toEqual([id]);
    expect(await stateOf(id)).toMatchObject({ status: 'COMPLETED', result: { n: 1 }, workerId: null, error: null });
    expect(await eventsOf(id)).toEqual([['PENDING', null], ['RUNNING', null], ['COMPLETED', null]]);
  });

  it('a taken job completes through RUNNING in one write', async () => {
    const id = await newJob();
    const [taken] = await takeQueuedJobs(db.pool, [id]);
    expect(await completeTakenJobs(db.pool, [{ jobId: id, takenAt: taken!.takenAt, result: {} }])).toEqual([id]);
    expect(await eventsOf(id)).toEqual([['PENDING', null], ['RUNNING', null], ['COMPLETED', null]]);
  });
});

describe('fail', () => {
  it('FAILED keeps the error (structured) and the resultData', async () => {
    const id = await running();
    const error = { name: 'NonRetriableError', message: 'bad row', data: { row: 3 } };
    expect(await failRunningJob(db.pool, { id, jobType: 'system.noop', queueName: 'job-state', priority: 0, maxRetries: 1 }, WORKER, { status: JobStatus.FAILED, errorMessage: 'bad row', error, resultData: { rows: 2 } })).toBe(true);
    expect(await stateOf(id)).toMatchObject({ status: 'FAILED', errorMessage: 'bad row', error, result: { rows: 2 }, workerId: null });
    expect((await eventsOf(id)).at(-1)).toEqual(['FAILED', 'bad row']);
  });

  it('RETRYING counts the retry and queues the job again; DEAD_LETTER ends it; a plain message becomes an Error', async () => {
    const id = await running();
    const runAt = new Date(Date.now() + 60_000);
    expect(await failRunningJob(db.pool, { id, jobType: 'system.noop', queueName: 'job-state', priority: 0, maxRetries: 1 }, WORKER, { status: JobStatus.RETRYING, errorMessage: 'flaky', retryCount: 1, runAt })).toBe(true);
    expect(await stateOf(id)).toMatchObject({ status: 'RETRYING', retryCount: 1, error: { name: 'Error', message: 'flaky' } });
    const entry = await db.pool.query(`select e.run_at from job join graphile_worker.jobs e on e.id = job.queue_entry_id where job.id = $1`, [id]);
    expect(entry.rows[0].run_at.getTime()).toBe(runAt.getTime());
    await markJobsRunning(db.pool, [id], WORKER);
    expect(await failRunningJob(db.pool, { id, jobType: 'system.noop', queueName: 'job-state', priority: 0, maxRetries: 1 }, WORKER, { status: JobStatus.DEAD_LETTER, errorMessage: 'flaky (after 2 attempts)' })).toBe(true);
    expect((await eventsOf(id)).map(([status]) => status)).toEqual(['PENDING', 'RUNNING', 'RETRYING', 'RUNNING', 'DEAD_LETTER']);
  });

  it('does nothing to a job this worker does not run', async () => {
    const id = await running();
    expect(await failRunningJob(db.pool, { id, jobType: 'system.noop', queueName: 'job-state', priority: 0, maxRetries: 1 }, 'worker-b', { status: JobStatus.FAILED, errorMessage: 'no' })).toBe(false);
    expect((await stateOf(id)).status).toBe('RUNNING');
  });
});

describe('cancel', () => {
  it('a queued job is cancelled at once; a running one is asked, then its worker ends it CANCELLED; a finished one is refused', async () => {
    const queued = await newJob();
    expect(await cancelJob(db.pool, admin, queued)).toBe('cancelled');
    expect(await cancelJob(db.pool, admin, queued)).toBe('already_cancelled');
    const active = await running();
    expect(await cancelJob(db.pool, admin, active)).toBe('cancel_requested');
    expect((await stateOf(active)).status).toBe('RUNNING');
    expect(await cancelRunningJob(db.pool, active, WORKER)).toBe(true);
    expect((await stateOf(active)).status).toBe('CANCELLED');
    const done = await running();
    await completeRunningJobs(db.pool, [{ jobId: done, result: {} }], WORKER);
    await expect(cancelJob(db.pool, admin, done)).rejects.toMatchObject({ name: 'InvalidTransitionError' });
  });

  it('a taken job its worker finds cancelled is CANCELLED with the message', async () => {
    const id = await newJob();
    expect(await cancelTakenJob(db.pool, id, 'cancelled before it started')).toBe(true);
    expect((await eventsOf(id)).at(-1)).toEqual(['CANCELLED', 'cancelled before it started']);
  });
});

describe('retry', () => {
  it('a FAILED job goes back to PENDING with a fresh retry budget and no error; an active one is refused', async () => {
    const id = await running();
    await failRunningJob(db.pool, { id, jobType: 'system.noop', queueName: 'job-state', priority: 0, maxRetries: 1 }, WORKER, { status: JobStatus.FAILED, errorMessage: 'bad', resultData: { rows: 1 } });
    await retryJob(db.pool, admin, id);
    expect(await stateOf(id)).toMatchObject({ status: 'PENDING', retryCount: 0, errorMessage: null, error: null, result: null });
    await expect(retryJob(db.pool, admin, id)).rejects.toMatchObject({ name: 'JobStillActiveError' });
  });
});

describe('requeue and take-over', () => {
  it('a worker shutting down gives its job back as RETRYING without spending a retry', async () => {
    const id = await running();
    expect(await requeueRunningJob(db.pool, { id, jobType: 'system.noop', queueName: 'job-state', priority: 0, maxRetries: 1 }, WORKER)).toBe(true);
    expect(await stateOf(id)).toMatchObject({ status: 'RETRYING', retryCount: 0, workerId: null });
  });

  it("a dead worker's job is retried by the worker that takes it over, dead-lettered without retries left, cancelled if asked", async () => {
    const outcomes = [];
    for (const setup of ['retry', 'last', 'cancel'] as const) {
      const id = await running({ maxRetries: setup === 'last' ? 0 : 1 });
      if (setup === 'cancel') await cancelJob(db.pool, admin, id);
      outcomes.push(
        await withTransaction(db.pool, async (client) => takeOverJob(client, (await lockJob(client, id, null))!, 'worker-b')),
        (await stateOf(id)).status,
        (await stateOf(id)).error,
      );
    }
    expect(outcomes).toEqual([
      'retrying', 'RETRYING', { name: 'WorkerLostError', message: `worker ${WORKER} stopped while running the job` },
      'dead_lettered', 'DEAD_LETTER', { name: 'WorkerLostError', message: `worker ${WORKER} stopped while running the job; no retries left` },
      'cancelled', 'CANCELLED', null,
    ]);
  });
});

describe("the seeds' checked transition (updateStatus)", () => {
  it('moves only along the status machine, and to a failure only with a reason', async () => {
    const id = await newJob();
    expect(await applyTransition(db.pool, id, JobKind.PLAIN, JobStatus.COMPLETED)).toBe(false);
    expect(await applyTransition(db.pool, id, JobKind.COLLECTION, JobStatus.RUNNING)).toBe(false);
    expect(await applyTransition(db.pool, id, JobKind.PLAIN, JobStatus.RUNNING)).toBe(true);
    expect(await applyTransition(db.pool, id, JobKind.PLAIN, JobStatus.FAILED)).toBe(false);
    expect(await applyTransition(db.pool, id, JobKind.PLAIN, JobStatus.FAILED, 'broken')).toBe(true);
    expect(await stateOf(id)).toMatchObject({ status: 'FAILED', errorMessage: 'broken', error: { name: 'Error', message: 'broken' } });
  });
});
