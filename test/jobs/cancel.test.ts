// Cancel reaches the process that runs the job; retry re-queues it.
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnWorker, startTestApp, type TestApp } from '../support/app.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createJob, queueEntryOf, removeQueueEntry } from '../support/jobs.ts';
import { eventually } from '../support/wait.ts';
import { CancelJob, CreateJobs, JobUpdated, JobWithHistory, RetryJob } from '../support/operations.ts';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  // The API runs here; the only worker is another process.
  api = await startTestApp(db.url, { roles: { api: true, worker: false } });
  // RUNNING is written only when a job reports progress (or after a minute), so
  // a job can be seen running while its row is still PENDING; one job at a
  // time, with a local queue, so a job can wait in the worker unstarted.
  await spawnWorker(db.url, { WORKER_RUNNING_WRITE_DELAY_MS: '60000', WORKER_CONCURRENCY: '1', WORKER_LOCAL_QUEUE_SIZE: '10' });
});

describe('cancelJob', () => {
  it('stops a running job in another process: its handler ends, freeing the worker for the next job; it ends CANCELLED', async () => {
    const job = await createJob(api.client, { jobType: 'system.sleep', payload: { ms: 60_000, ticks: 600 } });
    const updates = api.client.subscribe(JobUpdated, { id: job.id });
    await updates.waitFor('RUNNING with progress', (r) => r.some((u) => u.jobUpdated.status === 'RUNNING' && u.jobUpdated.progress > 0));

    const result = await api.client.request(CancelJob, { id: job.id });
    expect(result.cancelJob.__typename).toBe('MutationCancelJobSuccess');
    const received = await updates.waitFor('CANCELLED', (r) => r.some((u) => u.jobUpdated.status === 'CANCELLED'));
    expect(received.find((u) => u.jobUpdated.status === 'CANCELLED')!.jobUpdated.progress).toBeLessThan(100);
    // The handler itself stopped: the worker runs one job at a time, and the
    // next one completes, which the 60-second sleep would have kept waiting.
    const next = await createJob(api.client, { jobType: 'system.noop', queueName: 'after-cancel' });
    const nextUpdates = api.client.subscribe(JobUpdated, { id: next.id });
    await nextUpdates.waitFor('the next job to complete', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));

    // Idempotent: cancelling again changes nothing and is not an error.
    const again = await api.client.request(CancelJob, { id: job.id });
    expect(again.cancelJob.__typename).toBe('MutationCancelJobSuccess');
    const history = await api.client.request(JobWithHistory, { id: job.id });
    expect(history.job!.events.edges.map((e) => e.node.status)).toEqual(['PENDING', 'RUNNING', 'CANCELLED']);
    updates.close();
  });

  it('stops a job its worker runs before writing RUNNING; it ends CANCELLED, not unrun', async () => {
    const job = await createJob(api.client, { jobType: 'system.sleep', payload: { ms: 60_000, ticks: 1 } });
    await untilTaken(job.id);
    const updates = api.client.subscribe(JobUpdated, { id: job.id });
    await updates.waitFor('the current state', (r) => r.length > 0);
    expect(updates.received[0]!.jobUpdated.status).toBe('PENDING');

    const result = await api.client.request(CancelJob, { id: job.id });
    if (result.cancelJob.__typename !== 'MutationCancelJobSuccess') throw new Error(JSON.stringify(result));
    // Asked of the worker, not cancelled outright under a running handler.
    expect(result.cancelJob.data.cancelRequestedAt).not.toBeNull();
    await updates.waitFor('CANCELLED', (r) => r.some((u) => u.jobUpdated.status === 'CANCELLED'));
    const history = await api.client.request(JobWithHistory, { id: job.id });
    expect(history.job!.events.edges.map((e) => e.node.status)).toEqual(['PENDING', 'RUNNING', 'CANCELLED']);
    updates.close();
  });

  it('keeps a job waiting in a worker\'s local queue from running; it ends CANCELLED unrun', async () => {
    const created = await api.client.request(CreateJobs, {
      jobs: [
        { jobType: 'system.sleep', payload: { ms: 60_000, ticks: 600 }, priority: 10 },
        { jobType: 'system.noop', priority: 0 },
      ],
    });
    if (created.createJobs.__typename !== 'MutationCreateJobsSuccess') throw new Error(JSON.stringify(created));
    const [busy, waiting] = created.createJobs.data;
    const busyUpdates = api.client.subscribe(JobUpdated, { id: busy!.id });
    await busyUpdates.waitFor('the first job RUNNING', (r) => r.some((u) => u.jobUpdated.status === 'RUNNING'));
    await untilTaken(waiting!.id);

    const updates = api.client.subscribe(JobUpdated, { id: waiting!.id });
    await updates.waitFor('the current state', (r) => r.length > 0);
    await api.client.request(CancelJob, { id: waiting!.id });
    // At once, while the worker's only slot is still busy with the first job.
    await updates.waitFor('CANCELLED', (r) => r.some((u) => u.jobUpdated.status === 'CANCELLED'));
    expect(busyUpdates.received.at(-1)!.jobUpdated.status).toBe('RUNNING');
    const history = await api.client.request(JobWithHistory, { id: waiting!.id });
    expect(history.job!.events.edges.map((e) => [e.node.status, e.node.message])).toEqual([
      ['PENDING', null],
      ['CANCELLED', 'cancelled before it started'],
    ]);
    await api.client.request(CancelJob, { id: busy!.id });
    await busyUpdates.waitFor('the first job CANCELLED', (r) => r.some((u) => u.jobUpdated.status === 'CANCELLED'));
    updates.close();
    busyUpdates.close();
  });

  it('asks, rather than cancels outright, a queued job whose task is gone (a worker is writing its outcome)', async () => {
    const job = await createJob(api.client, { jobType: 'system.noop', scheduledAt: new Date(Date.now() + 3_600_000).toISOString() });
    await removeQueueEntry(db.pool, uuidOf(job.id));
    const result = await api.client.request(CancelJob, { id: job.id });
    if (result.cancelJob.__typename !== 'MutationCancelJobSuccess') throw new Error(JSON.stringify(result));
    expect(result.cancelJob.data).toMatchObject({ status: 'SCHEDULED', cancelRequestedAt: expect.any(String) });
  });

  it('takes a queued job off the queue at once', async () => {
    const job = await createJob(api.client, { jobType: 'system.noop', scheduledAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect(job.status).toBe('SCHEDULED');
    const entry = await queueEntryOf(db.pool, uuidOf(job.id));
    expect(entry).not.toBeNull();
    const result = await api.client.request(CancelJob, { id: job.id });
    if (result.cancelJob.__typename !== 'MutationCancelJobSuccess') throw new Error(JSON.stringify(result));
    expect(result.cancelJob.data.status).toBe('CANCELLED');
    const queued = await db.pool.query('select 1 from graphile_worker.jobs where id = $1', [entry!.id]);
    expect(queued.rowCount).toBe(0);
  });

  it('refuses to cancel a finished job, naming its status', async () => {
    const job = await createJob(api.client, { jobType: 'system.noop' });
    const updates = api.client.subscribe(JobUpdated, { id: job.id });
    await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));
    const result = await api.client.request(CancelJob, { id: job.id });
    expect(result.cancelJob).toMatchObject({
      __typename: 'InvalidTransitionError',
      action: 'cancel',
      status: 'COMPLETED',
      allowedStatuses: ['PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING'],
    });
    updates.close();
  });
});

describe('retryJob', () => {
  it('brings a cancelled job back and it completes', async () => {
    const job = await createJob(api.client, { jobType: 'system.sleep', payload: { ms: 50 }, scheduledAt: new Date(Date.now() + 3_600_000).toISOString() });
    // Not ended yet: a typed error naming its status, and nothing changes.
    const early = await api.client.request(RetryJob, { id: job.id });
    expect(early.retryJob).toMatchObject({ __typename: 'JobStillActiveError', jobId: uuidOf(job.id), action: 'retry', status: 'SCHEDULED' });
    await api.client.request(CancelJob, { id: job.id });
    const updates = api.client.subscribe(JobUpdated, { id: job.id });
    const retried = await api.client.request(RetryJob, { id: job.id });
    expect(retried.retryJob.__typename).toBe('MutationRetryJobSuccess');
    await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));
    const history = await api.client.request(JobWithHistory, { id: job.id });
    expect(history.job!.events.edges.map((e) => e.node.status)).toEqual(['SCHEDULED', 'CANCELLED', 'PENDING', 'RUNNING', 'COMPLETED']);
    expect(history.job!.events.edges[2]!.node.message).toBe('retried by local-dev');
    updates.close();
  });

  it('answers JobStillActiveError for a RUNNING job, which runs on untouched', async () => {
    const job = await createJob(api.client, { jobType: 'system.sleep', payload: { ms: 60_000, ticks: 600 } });
    const updates = api.client.subscribe(JobUpdated, { id: job.id });
    await updates.waitFor('RUNNING with progress', (r) => r.some((u) => u.jobUpdated.status === 'RUNNING' && u.jobUpdated.progress > 0));
    const before = await db.pool.query('select status, retry_count, started_at from job where id = $1', [uuidOf(job.id)]);

    const retried = await api.client.request(RetryJob, { id: job.id });
    expect(retried.retryJob).toMatchObject({ __typename: 'JobStillActiveError', jobId: uuidOf(job.id), action: 'retry', status: 'RUNNING' });
    if (retried.retryJob.__typename !== 'JobStillActiveError') throw new Error('unreachable');
    expect(retried.retryJob.message).toMatch(/is still RUNNING.*only FAILED, DEAD_LETTER, CANCELLED jobs can be retried/);
    expect((await db.pool.query('select status, retry_count, started_at from job where id = $1', [uuidOf(job.id)])).rows).toEqual(before.rows);
    const history = await api.client.request(JobWithHistory, { id: job.id });
    expect(history.job!.events.edges.map((e) => e.node.status)).toEqual(['PENDING', 'RUNNING']);

    // Free the one-job worker for the other tests.
    await api.client.request(CancelJob, { id: job.id });
    await updates.waitFor('CANCELLED', (r) => r.some((u) => u.jobUpdated.status === 'CANCELLED'));
    updates.close();
  });
});


/** Waits until a worker holds the job's queue entry (running it, or about to). */
async function untilTaken(id: string) {
  await eventually('a worker to take the job', async () => {
    const entry = await queueEntryOf(db.pool, uuidOf(id));
    return entry?.locked_at ? true : undefined;
  });
}
