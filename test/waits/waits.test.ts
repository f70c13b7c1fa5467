// Durable waits: a job that waits for an event, a signal or a time holds no
// worker slot, shows why it waits, and resumes at the step after the wait on
// any worker. The API runs in this process; two worker processes run the jobs.
import { beforeAll, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { createTestDatabase } from '../support/database.ts';
import { spawnWorker, startTestApp, type ChildWorker, type TestApp } from '../support/app.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { CancelJob, CreateJobFlow } from '../support/operations.ts';
import { JobWaitState, JobWaitUpdated, SendEvent, SignalJob } from '../support/operations-waits.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import type { CreateJobInput } from '../generated/graphql.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { AddJobError, sendEvent, signalJob } from '../../src/sdk/index.ts';

const WORKER_SCRIPT = ['test/support/worker-process.ts'];
// On a loaded machine the tests' 2 s dead-worker bound can take a busy worker for dead (it then exits); nothing here needs it short.
const WORKER_ENV = { WORKER_DEAD_AFTER_MS: '15000' };
let db: TestDatabase;
let api: TestApp;
let workers: ChildWorker[];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false }, registry: createTestRegistry() });
  // One after the other: two starting at once on a loaded machine can exceed the start timeout.
  workers = [await spawnWorker(db.url, WORKER_ENV, WORKER_SCRIPT)];
  workers.push(await spawnWorker(db.url, WORKER_ENV, WORKER_SCRIPT));
});

async function create(input: CreateJobInput) {
  const result = await api.client.request(CreateJobFlow, { input });
  if (result.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(result.createJob));
  return result.createJob.data.id;
}

/** Resolves once the job shows `status` (and the waiting reason, if given), seen live. */
async function until(id: string, status: string, waitingReason?: string) {
  const updates = api.client.subscribe(JobWaitUpdated, { id });
  const state = await api.client.request(JobWaitState, { id });
  const matches = (u: { status: string; waitingReason?: string | null }) => u.status === status && (waitingReason === undefined || u.waitingReason === waitingReason);
  if (!matches(state.job!)) await updates.waitFor(`job ${id} ${status} ${waitingReason ?? ''}`, (all) => all.some((u) => matches(u.jobUpdated)));
  updates.close();
  return (await api.client.request(JobWaitState, { id })).job!;
}

const lockedEntries = async () =>
  (await db.pool.query<{ n: number }>(`select count(*)::int as n from graphile_worker._private_jobs where locked_at is not null`)).rows[0]!.n;
const waitRow = async (id: string) => (await db.pool.query(`select reason, name from job_wait where job_id = $1`, [uuidOf(id)])).rows[0] ?? null;

it('an event wakes exactly the matching waiting jobs, once, only when its transaction commits; the wait is a step the job resumes after', async () => {
  const paid1 = await create({ jobType: 'test.wait_for_event', payload: { event: 'order.paid', match: { orderId: 1 } } });
  const paid2 = await create({ jobType: 'test.wait_for_event', payload: { event: 'order.paid', match: { orderId: 2 } } });
  const shipped = await create({ jobType: 'test.wait_for_event', payload: { event: 'order.shipped' } });
  const waiting = await until(paid1, 'PENDING', 'EVENT');
  await until(paid2, 'PENDING', 'EVENT');
  await until(shipped, 'PENDING', 'EVENT');
  expect(waiting.wait).toEqual({ reason: 'EVENT', step: 'event:order.paid', name: 'order.paid', match: { orderId: 1 }, wakeAt: null });
  // Waiting holds no worker slot: no queue entry is locked.
  expect(await lockedEntries()).toBe(0);

  // Sent in a transaction that rolls back: nothing woke.
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    // The package's call (src/sdk), in the app's own transaction.
    expect(await sendEvent(client, 'order.paid', { orderId: 1 })).toBe(1);
    await client.query('rollback');
  } finally {
    client.release();
  }
  expect(await waitRow(paid1)).toEqual({ reason: 'EVENT', name: 'order.paid' });
  expect((await api.client.request(JobWaitState, { id: paid1 })).job).toMatchObject({ status: 'PENDING', waitingReason: 'EVENT' });

  // Committed (here through GraphQL): only the job whose match the data contains wakes.
  const sent = await api.client.request(SendEvent, { input: { name: 'order.paid', data: { orderId: 1, amount: 42 } } });
  expect(sent.sendEvent).toEqual({ __typename: 'MutationSendEventSuccess', data: { wokenJobCount: 1 } });
  const done = await until(paid1, 'COMPLETED');
  expect(done.result).toMatchObject({ waited: { outcome: 'RECEIVED', data: { orderId: 1, amount: 42 } }, attempt: 0 });
  // Once: the same event again wakes nobody; the other waiters still wait.
  const again = await api.client.request(SendEvent, { input: { name: 'order.paid', data: { orderId: 1 } } });
  expect(again.sendEvent).toEqual({ __typename: 'MutationSendEventSuccess', data: { wokenJobCount: 0 } });
  expect(await waitRow(paid2)).toEqual({ reason: 'EVENT', name: 'order.paid' });
  expect(await waitRow(shipped)).toEqual({ reason: 'EVENT', name: 'order.shipped' });
  expect(await waitRow(paid1)).toBeNull();

  // The history: the wait and the wake are events; step "before" ran once (not again on resume).
  const events = done.events.edges.map((e) => e.node);
  expect(events.filter((e) => !e.step)).toEqual([
    { status: 'PENDING', previousStatus: null, message: null, step: null },
    { status: 'RUNNING', previousStatus: 'PENDING', message: null, step: null },
    { status: 'PENDING', previousStatus: 'RUNNING', message: 'waiting for event order.paid (step event:order.paid)', step: null },
    { status: 'PENDING', previousStatus: 'PENDING', message: 'event order.paid received', step: null },
    { status: 'RUNNING', previousStatus: 'PENDING', message: null, step: null },
    { status: 'COMPLETED', previousStatus: 'RUNNING', message: null, step: null },
  ]);
  expect(events.filter((e) => e.step?.name === 'before').map((e) => e.status)).toEqual(['RUNNING', 'COMPLETED']);
  expect(events.filter((e) => e.step?.name === 'event:order.paid').map((e) => e.status)).toEqual(['RUNNING', 'COMPLETED']);
  expect(done.steps.edges.map((e) => e.node.name)).toEqual(['before', 'event:order.paid', 'after']);
  expect(done.wait).toBeNull();

  // The jsonb containment also wakes the second one; a match on the whole data too.
  await db.pool.query(`select send_event('order.paid', '{"orderId": 2}')`);
  await until(paid2, 'COMPLETED');
  expect(await waitRow(shipped)).toEqual({ reason: 'EVENT', name: 'order.shipped' });
});

it('two transactions sending the same event at once wake the job once', async () => {
  const id = await create({ jobType: 'test.wait_for_event', payload: { event: 'file.uploaded' } });
  await until(id, 'PENDING', 'EVENT');
  const first = await db.pool.connect();
  const second = await db.pool.connect();
  try {
    await first.query('begin');
    await second.query('begin');
    const a = await first.query(`select send_event('file.uploaded', '{"from": "first"}') as n`);
    // Blocks on the wait row the first transaction deleted; finds it gone once that commits.
    const b = second.query(`select send_event('file.uploaded', '{"from": "second"}') as n`);
    await first.query('commit');
    expect(a.rows[0].n).toBe(1);
    expect((await b).rows[0].n).toBe(0);
    await second.query('commit');
  } finally {
    first.release();
    second.release();
  }
  const done = await until(id, 'COMPLETED');
  expect(done.result).toMatchObject({ waited: { outcome: 'RECEIVED', data: { from: 'first' } } });
  const { rows } = await db.pool.query(`select count(*)::int as n from job_event where job_id = $1 and message like 'event file.uploaded received'`, [uuidOf(id)]);
  expect(rows[0].n).toBe(1);
});

it('an event wait times out with outcome TIMED_OUT, and a retry after the wait does not wait again', async () => {
  const timedOut = await create({ jobType: 'test.wait_for_event', payload: { event: 'never.sent', timeoutMs: 300 } });
  const retried = await create({ jobType: 'test.wait_for_event', maxRetries: 2, payload: { event: 'once.sent', failAfterWait: 1 } });
  const done = await until(timedOut, 'COMPLETED');
  expect(done.result).toMatchObject({ waited: { outcome: 'TIMED_OUT' } });
  const waited = done.events.edges.map((e) => e.node).find((e) => e.message?.startsWith('waiting for event'));
  expect(waited!.message).toMatch(/^waiting for event never\.sent until \d{4}-\d\d-\d\dT[\d:.]+Z \(step event:never\.sent\)$/);
  expect(await waitRow(timedOut)).toBeNull();

  await until(retried, 'PENDING', 'EVENT');
  await db.pool.query(`select send_event('once.sent', '{"n": 1}')`);
  const finished = await until(retried, 'COMPLETED');
  // Attempt 1 failed after the wait; attempt 2 got the wait's saved result without waiting again.
  expect(finished).toMatchObject({ retryCount: 1, result: { waited: { outcome: 'RECEIVED', data: { n: 1 } }, attempt: 1 } });
  const events = finished.events.edges.map((e) => e.node).filter((e) => !e.step);
  expect(events.filter((e) => e.message?.startsWith('waiting for event'))).toHaveLength(1);
});

it('a signal wakes the one job waiting for it; a wrong name or a second signal is refused and changes nothing', async () => {
  const id = await create({ jobType: 'test.wait_for_signal', payload: { signal: 'approve' } });
  const waiting = await until(id, 'PENDING', 'SIGNAL');
  expect(waiting.wait).toMatchObject({ reason: 'SIGNAL', name: 'approve', step: 'signal:approve' });

  const wrong = await api.client.request(SignalJob, { input: { id, name: 'reject', data: {} } });
  expect(wrong.signalJob).toMatchObject({ __typename: 'JobNotWaitingError', signalName: 'reject', message: `job ${uuidOf(id)} is not waiting for signal "reject"` });
  const bad = await api.client.request(SignalJob, { input: { id, name: 'approve', data: [1, 2] } });
  expect(bad.signalJob).toMatchObject({ __typename: 'ValidationError', field: 'data', message: 'data: must be a JSON object' });
  const missing = await api.client.request(SignalJob, { input: { id: '00000000-0000-4000-8000-000000000000', name: 'approve' } });
  expect(missing.signalJob).toMatchObject({ __typename: 'JobNotFoundError' });
  expect(await waitRow(id)).toEqual({ reason: 'SIGNAL', name: 'approve' });

  const signalled = await api.client.request(SignalJob, { input: { id, name: 'approve', data: { by: 'ana' } } });
  // Woken: no longer waiting (a worker may already run it).
  expect(signalled.signalJob).toMatchObject({ __typename: 'MutationSignalJobSuccess', data: { waitingReason: null } });
  const done = await until(id, 'COMPLETED');
  expect(done.result).toEqual({ waited: { outcome: 'RECEIVED', data: { by: 'ana' } } });
  const twice = await api.client.request(SignalJob, { input: { id, name: 'approve' } });
  expect(twice.signalJob).toMatchObject({ __typename: 'JobNotWaitingError' });
});

it('cancelling a waiting job cancels it at once: its wait and its queue entry go, its wait step ends CANCELLED', async () => {
  const id = await create({ jobType: 'test.wait_for_signal', payload: { signal: 'approve' } });
  await until(id, 'PENDING', 'SIGNAL');
  const cancelled = await api.client.request(CancelJob, { id });
  expect(cancelled.cancelJob).toMatchObject({ __typename: 'MutationCancelJobSuccess', data: { status: 'CANCELLED' } });
  const job = (await api.client.request(JobWaitState, { id })).job!;
  expect(job).toMatchObject({ status: 'CANCELLED', waitingReason: null, wait: null });
  expect(job.steps.edges.map((e) => e.node)).toEqual([{ name: 'signal:approve', status: 'CANCELLED', result: null }]);
  const { rows } = await db.pool.query(`select count(*)::int as n from graphile_worker._private_jobs where payload->>'jobId' = $1`, [uuidOf(id)]);
  expect(rows[0].n).toBe(0);
  const late = await api.client.request(SignalJob, { input: { id, name: 'approve' } });
  expect(late.signalJob).toMatchObject({ __typename: 'JobNotWaitingError' });
});

it("another tenant's event or signal wakes nothing of this tenant, even with the same name", async () => {
  await createApiKey(db.pool, { name: 'b', tenantId: 'tenant-b', scopes: ['jobs:write'] });
  const id = await create({ jobType: 'test.wait_for_event', payload: { event: 'shared.name' } });
  const signalled = await create({ jobType: 'test.wait_for_signal', payload: { signal: 'approve' } });
  await until(id, 'PENDING', 'EVENT');
  await until(signalled, 'PENDING', 'SIGNAL');
  const other = await db.pool.query(`select send_event('shared.name', '{}', '{"tenantId": "tenant-b"}') as n`);
  expect(other.rows[0].n).toBe(0);
  const otherSignal = await db.pool.query(`select signal_job($1, 'approve', '{}', 'tenant-b') as woken`, [uuidOf(signalled)]);
  expect(otherSignal.rows[0].woken).toBe(false);
  expect(await waitRow(id)).toEqual({ reason: 'EVENT', name: 'shared.name' });
  expect(await waitRow(signalled)).toEqual({ reason: 'SIGNAL', name: 'approve' });
  const unknown = db.pool.query(`select send_event('shared.name', '{}', '{"tenantId": "no-such-tenant"}')`);
  await expect(unknown).rejects.toMatchObject({ message: 'options.tenantId: no tenant "no-such-tenant"', column: 'options.tenantId' });
  await expect(sendEvent(db.pool, '', {})).rejects.toEqual(new AddJobError('name', 'name: must be 1-200 characters'));
  expect(await sendEvent(db.pool, 'shared.name')).toBe(1);
  await until(id, 'COMPLETED');
  expect(await signalJob(db.pool, uuidOf(signalled), 'approve', { ok: true })).toBe(true);
  const done = await until(signalled, 'COMPLETED');
  expect(done.result).toEqual({ waited: { outcome: 'RECEIVED', data: { ok: true } } });
});

it('a sleep survives a restart of every worker: the job resumes once, after its time, on the new worker', async () => {
  const id = await create({ jobType: 'test.durable_sleep', payload: { ms: 1500 } });
  const waiting = await until(id, 'PENDING', 'TIMER');
  const wakeAt = new Date(waiting.wait!.wakeAt!).getTime();
  expect(waiting.wait).toMatchObject({ reason: 'TIMER', step: 'nap', name: null });
  for (const worker of workers) {
    worker.process.kill('SIGTERM');
    await worker.exited;
  }
  workers = [await spawnWorker(db.url, WORKER_ENV, WORKER_SCRIPT)];
  const done = await until(id, 'COMPLETED');
  expect(done.retryCount).toBe(0);
  expect((done.result as { resumedAt: number }).resumedAt).toBeGreaterThanOrEqual(wakeAt);
  const stepEvents = done.events.edges.map((e) => e.node).filter((e) => e.step);
  expect(stepEvents.map((e) => `${e.step!.name} ${e.status}`)).toEqual(['start RUNNING', 'start COMPLETED', 'nap RUNNING', 'nap COMPLETED']);
  const { rows } = await db.pool.query(`select worker_id from job where id = $1`, [uuidOf(id)]);
  expect(rows[0].worker_id).toBeNull();
});
