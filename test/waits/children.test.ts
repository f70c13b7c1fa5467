// Child jobs: ctx.spawn (a durable step: a retry of the parent spawns
// nothing again) and ctx.waitForChildren (a durable wait woken in the
// database by the child that finishes last, or first). Cancelling a parent
// cancels its waiting and running children unless spawned with
// cancelWithParent: false. The API runs in this process; two worker processes run the jobs.
import { beforeAll, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { createTestDatabase } from '../support/database.ts';
import { spawnWorker, startTestApp, type ChildWorker, type TestApp } from '../support/app.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { CancelJob, CreateJobFlow } from '../support/operations.ts';
import { JobWaitState, JobWaitUpdated, RerunJob } from '../support/operations-waits.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import type { CreateJobInput } from '../generated/graphql.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { clearTenantQuota, setTenantQuota } from '../../src/jobs/tenant-quotas.ts';
import { eventually } from '../support/wait.ts';
import { pauseQueue, resumeQueue } from '../../src/flow/pause.ts';
import { LOCAL_PRINCIPAL } from '../../src/auth/principal.ts';

const WORKER_SCRIPT = ['test/support/worker-process.ts'];
const WORKER_ENV = { WORKER_DEAD_AFTER_MS: '15000', JOB_RETRY_BASE_DELAY_MS: '100' };
let db: TestDatabase;
let api: TestApp;
let workers: ChildWorker[];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false }, registry: createTestRegistry() });
  workers = [await spawnWorker(db.url, WORKER_ENV, WORKER_SCRIPT)];
  workers.push(await spawnWorker(db.url, WORKER_ENV, WORKER_SCRIPT));
});

async function create(input: CreateJobInput) {
  const result = await api.client.request(CreateJobFlow, { input });
  if (result.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(result.createJob));
  return result.createJob.data.id;
}

// job(id:) takes a job's UUID as well as its global ID.
const globalIdOf = (uuid: string) => uuid;

/** Resolves once the job shows `status` (and the waiting reason, if given), seen live. */
async function until(id: string, status: string, waitingReason?: string) {
  const updates = api.client.subscribe(JobWaitUpdated, { id });
  const state = await api.client.request(JobWaitState, { id });
  const matches = (u: { status: string; waitingReason?: string | null }) => u.status === status && (waitingReason === undefined || u.waitingReason === waitingReason);
  if (!matches(state.job!)) await updates.waitFor(`job ${id} ${status} ${waitingReason ?? ''}`, (all) => all.some((u) => matches(u.jobUpdated)));
  updates.close();
  return (await api.client.request(JobWaitState, { id })).job!;
}

const childrenOf = async (parentId: string) =>
  (await db.pool.query<{ id: string; status: string; retry_count: number; created_by: string; tenant_id: string }>(
    `select id, status, retry_count, created_by, tenant_id from job where parent_job_id = $1 order by created_at, id`,
    [/^[0-9a-f-]{36}$/.test(parentId) ? parentId : uuidOf(parentId)],
  )).rows;

it('a parent spawns 100 children, one failing once, and gets every result; its retry after spawning spawns nothing again', async () => {
  const spawn = Array.from({ length: 100 }, (_, n) => ({ jobType: 'test.workflow_child', payload: { n, failOnce: n === 37 }, maxRetries: 2 }));
  const parent = await create({ jobType: 'test.workflow_parent', maxRetries: 2, payload: { spawn, failAfterSpawn: 1 } });
  const done = await until(parent, 'COMPLETED');
  const result = done.result as { ids: string[]; children: Array<{ id: string; status: string; result: unknown; error: unknown }>; attempt: number };
  // The parent's second attempt (after failing once after spawning) waited and finished.
  expect(done.retryCount).toBe(1);
  expect(result.attempt).toBe(1);

  // Exactly 100 children: the retry found each spawn step and answered the same child.
  const children = await childrenOf(parent);
  expect(children).toHaveLength(100);
  expect(new Set(result.ids)).toEqual(new Set(children.map((c) => c.id)));
  expect(children.every((c) => c.status === 'COMPLETED' && c.tenant_id === 'default' && c.created_by === `job:${uuidOf(parent)}`)).toBe(true);
  expect(children.filter((c) => c.retry_count > 0)).toHaveLength(1);

  // Every child's result, in spawn order.
  expect(result.children).toEqual(result.ids.map((id, n) => ({ id, status: 'COMPLETED', result: { n, double: n * 2 }, error: null })));

  // Each spawn step completed once (attempt 2 replayed it); the wait was recorded and woken once.
  const spawnEvents = await db.pool.query<{ name: string; n: number }>(
    `select s.name, count(*)::int as n from job_event e join job_step s on s.id = e.step_id
      where e.job_id = $1 and s.name like 'spawn:%' and e.status = 'COMPLETED' group by s.name`,
    [uuidOf(parent)],
  );
  expect(spawnEvents.rows).toHaveLength(100);
  expect(spawnEvents.rows.every((r) => r.n === 1)).toBe(true);
  const jobEvents = await db.pool.query<{ message: string }>(`select message from job_event where job_id = $1 and step_id is null and message is not null order by id`, [uuidOf(parent)]);
  // Its children may all have finished before its second attempt reached the wait (it then completes at once, not waiting);
  // if it waited, the last child's finish woke it once.
  const messages = jobEvents.rows.map((r) => r.message).filter((m) => m.startsWith('waiting for') || m.startsWith('child jobs'));
  expect([[], ['waiting for all of 100 child jobs (step children)', 'child jobs finished (all of 100)']]).toContainEqual(messages);
  const step = await db.pool.query(`select status, position from job_step where job_id = $1 and name = 'children'`, [uuidOf(parent)]);
  expect(step.rows).toEqual([{ status: 'COMPLETED', position: 100 }]);
  const { rows } = await db.pool.query(`select count(*)::int as n from job_wait where job_id = $1`, [uuidOf(parent)]);
  expect(rows[0].n).toBe(0);
});

it('mode ALL: the parent waits until the last child finishes, and that finish wakes it once, in the database', async () => {
  const parent = await create({
    jobType: 'test.workflow_parent',
    payload: { spawn: [{ jobType: 'test.wait_for_signal', payload: { signal: 'a' } }, { jobType: 'test.wait_for_signal', payload: { signal: 'b' } }] },
  });
  const waiting = await until(parent, 'PENDING', 'CHILDREN');
  expect(waiting.wait).toMatchObject({ reason: 'CHILDREN', step: 'children', name: null, wakeAt: null });
  const [first, second] = await childrenOf(parent);
  await until(first!.id, 'PENDING', 'SIGNAL');
  await until(second!.id, 'PENDING', 'SIGNAL');
  await db.pool.query(`select signal_job($1, 'a', '{"n": 1}')`, [first!.id]);
  await until(first!.id, 'COMPLETED');
  // One of two finished: the parent still waits, holding no worker.
  expect((await api.client.request(JobWaitState, { id: parent })).job).toMatchObject({ status: 'PENDING', waitingReason: 'CHILDREN' });
  await db.pool.query(`select signal_job($1, 'b', '{"n": 2}')`, [second!.id]);
  const done = await until(parent, 'COMPLETED');
  expect((done.result as { children: unknown }).children).toEqual([
    { id: first!.id, status: 'COMPLETED', result: { waited: { outcome: 'RECEIVED', data: { n: 1 } } }, error: null },
    { id: second!.id, status: 'COMPLETED', result: { waited: { outcome: 'RECEIVED', data: { n: 2 } } }, error: null },
  ]);
  const { rows } = await db.pool.query(`select message from job_event where job_id = $1 and step_id is null and message like 'child jobs%'`, [uuidOf(parent)]);
  expect(rows).toEqual([{ message: 'child jobs finished (all of 2)' }]);
});

it('mode ANY wakes the parent when the first child finishes; the others keep waiting', async () => {
  const parent = await create({
    jobType: 'test.workflow_parent',
    payload: { mode: 'ANY', spawn: [{ jobType: 'test.wait_for_signal', payload: { signal: 'a' } }, { jobType: 'test.wait_for_signal', payload: { signal: 'b' } }] },
  });
  const waiting = await until(parent, 'PENDING', 'CHILDREN');
  expect(waiting.wait).toMatchObject({ reason: 'CHILDREN', step: 'children' });
  const [first, second] = await childrenOf(parent);
  await until(globalIdOf(second!.id), 'PENDING', 'SIGNAL');
  // The child may not have reached its wait yet: signal once it waits.
  await until(globalIdOf(first!.id), 'PENDING', 'SIGNAL');
  await db.pool.query(`select signal_job($1, 'b', '{"ok": true}')`, [second!.id]);
  const done = await until(parent, 'COMPLETED');
  const children = (done.result as { children: Array<{ id: string; status: string; result: unknown }> }).children;
  expect(children[0]).toMatchObject({ id: first!.id, status: 'PENDING', result: null });
  expect(children[1]).toMatchObject({ id: second!.id, status: 'COMPLETED', result: { waited: { outcome: 'RECEIVED', data: { ok: true } } } });
  expect((await childrenOf(parent))[0]!.status).toBe('PENDING');
});

it('a spawn the create path refuses fails the parent with the error naming the field, and creates nothing', async () => {
  const parent = await create({ jobType: 'test.workflow_parent', maxRetries: 0, payload: { spawn: [{ jobType: 'test.workflow_child', payload: { n: 'x' } }] } });
  await until(parent, 'DEAD_LETTER');
  const { rows } = await db.pool.query(`select error_message, error from job where id = $1`, [uuidOf(parent)]);
  expect(rows[0].error_message).toMatch(/^payload\.n: /);
  expect(rows[0].error).toMatchObject({ name: 'ValidationError' });
  expect(await childrenOf(parent)).toHaveLength(0);
});

it('cancelling a parent cancels its waiting and running children, not one spawned with cancelWithParent: false', async () => {
  const parent = await create({
    jobType: 'test.workflow_parent',
    payload: {
      spawn: [
        { jobType: 'test.slow_first_attempt', payload: { firstAttemptMs: 600_000, laterAttemptsMs: 0 } },
        { jobType: 'test.wait_for_signal', payload: { signal: 'go' } },
        { jobType: 'test.wait_for_signal', payload: { signal: 'go' }, cancelWithParent: false },
      ],
    },
  });
  await until(parent, 'PENDING', 'CHILDREN');
  const [running, waiting, detached] = (await childrenOf(parent)).map((c) => globalIdOf(c.id));
  await until(running!, 'RUNNING');
  await until(waiting!, 'PENDING', 'SIGNAL');
  await until(detached!, 'PENDING', 'SIGNAL');

  const cancelled = await api.client.request(CancelJob, { id: parent });
  expect(cancelled.cancelJob).toMatchObject({ __typename: 'MutationCancelJobSuccess', data: { status: 'CANCELLED' } });
  // The waiting child is cancelled in the same transaction; the running one once its handler stops on its signal.
  expect((await api.client.request(JobWaitState, { id: waiting! })).job).toMatchObject({ status: 'CANCELLED', wait: null });
  const stopped = await until(running!, 'CANCELLED');
  expect(stopped.events.edges.map((e) => e.node.message)).toContain(null);
  const { rows } = await db.pool.query(`select message from job_event where job_id = $1 and step_id is null and status = 'CANCELLED'`, [waiting!]);
  expect(rows.map((r) => r.message)).toEqual([`cancelled with its parent ${uuidOf(parent)}`]);

  // The detached child still waits, and finishes on its own.
  expect((await api.client.request(JobWaitState, { id: detached! })).job).toMatchObject({ status: 'PENDING', waitingReason: 'SIGNAL' });
  await db.pool.query(`select signal_job($1, 'go')`, [detached!]);
  await until(detached!, 'COMPLETED');
  expect((await api.client.request(JobWaitState, { id: parent })).job).toMatchObject({ status: 'CANCELLED', waitingReason: null, wait: null });
});

it('rerunJob queues a finished job again from a named step: earlier steps keep their results, that step and later ones run again; bad input changes nothing', async () => {
  const id = await create({ jobType: 'test.wait_for_event', payload: { event: 'never.sent', timeoutMs: 0 } });
  const first = await until(id, 'COMPLETED');
  const firstResult = first.result as { before: { ranAt: number }; after: { ranAt: number } };
  const eventCount = async () => (await db.pool.query(`select count(*)::int as n from job_event where job_id = $1`, [uuidOf(id)])).rows[0].n as number;
  const before = await eventCount();

  // Refused, changing nothing: an unknown step (the error names the steps), a payload the type refuses, a job not finished.
  const badStep = await api.client.request(RerunJob, { input: { id, fromStep: 'nope' } });
  expect(badStep.rerunJob).toEqual({
    __typename: 'ValidationError',
    field: 'fromStep',
    message: `fromStep: job ${uuidOf(id)} has no step "nope"; its steps: "before", "event:never.sent", "after"`,
  });
  const badPayload = await api.client.request(RerunJob, { input: { id, fromStep: 'after', payload: { event: 5 } } });
  expect(badPayload.rerunJob).toMatchObject({ __typename: 'ValidationError', field: 'payload.event' });
  const waiting = await create({ jobType: 'test.wait_for_signal', payload: { signal: 'go' } });
  await until(waiting, 'PENDING', 'SIGNAL');
  const active = await api.client.request(RerunJob, { input: { id: waiting, fromStep: 'signal:go' } });
  expect(active.rerunJob).toMatchObject({ __typename: 'JobStillActiveError' });
  expect(await eventCount()).toBe(before);
  expect((await api.client.request(JobWaitState, { id })).job).toMatchObject({ status: 'COMPLETED', result: first.result });

  // From "after", with a new payload: "before" and the wait return their stored results, "after" runs again.
  const rerun = await api.client.request(RerunJob, { input: { id, fromStep: 'after', payload: { event: 'never.sent', timeoutMs: 0, match: { edited: true } } } });
  expect(rerun.rerunJob).toMatchObject({ __typename: 'MutationRerunJobSuccess' });
  const messages = (await db.pool.query(`select message from job_event where job_id = $1 and step_id is null and message like 'rerun%'`, [uuidOf(id)])).rows;
  expect(messages).toEqual([{ message: 'rerun from step "after" by local-dev with a new payload' }]);
  const again = await until(id, 'COMPLETED');
  const result = again.result as typeof firstResult & { waited: unknown };
  expect(result.before).toEqual(firstResult.before);
  expect(result.waited).toEqual({ outcome: 'TIMED_OUT' });
  expect(result.after.ranAt).toBeGreaterThan(firstResult.after.ranAt);
  const { rows } = await db.pool.query(`select payload from job where id = $1`, [uuidOf(id)]);
  expect(rows[0].payload).toMatchObject({ match: { edited: true } });
  // Its history stays: the first run's events and the rerun's.
  expect(await eventCount()).toBeGreaterThan(before);
  const stepEvents = (await db.pool.query(`select s.name, e.status from job_event e join job_step s on s.id = e.step_id where e.job_id = $1 order by e.id`, [uuidOf(id)])).rows;
  expect(stepEvents.filter((e) => e.name === 'before').map((e) => e.status)).toEqual(['RUNNING', 'COMPLETED']);
  expect(stepEvents.filter((e) => e.name === 'after').map((e) => e.status)).toEqual(['RUNNING', 'COMPLETED', 'PENDING', 'RUNNING', 'COMPLETED']);
});

// --- A tenant's quota refusing a spawn (docs/quotas.md), and waitForChildren's timeout -------------------------

/** A parent in `tenantId`, made by add_job (the SQL create path) as an app would. */
async function createIn(tenantId: string, payload: Record<string, unknown>, maxRetries = 0) {
  const { rows } = await db.pool.query<{ id: string }>(`select add_job('test.workflow_parent', $1::jsonb, $2::jsonb) as id`, [
    JSON.stringify(payload),
    JSON.stringify({ tenantId, maxRetries }),
  ]);
  return rows[0]!.id;
}
const waitingChild = (signal: string) => ({ jobType: 'test.wait_for_signal', payload: { signal } });
/**
 * A child that stays queued (PENDING) until HELD_QUEUE resumes: a child a
 * worker had taken would not count as queued, and the next spawn would fit.
 */
const HELD_QUEUE = 'quota-held';
const heldChild = (signal: string) => ({ ...waitingChild(signal), queueName: HELD_QUEUE });
const holdQueue = () => pauseQueue(db.pool, LOCAL_PRINCIPAL, HELD_QUEUE);
const releaseQueue = () => resumeQueue(db.pool, LOCAL_PRINCIPAL, HELD_QUEUE);

/**
 * Resolves once another tenant's job (which this API's local caller does not
 * get live updates of) shows `status`, read from the database; answers its row.
 */
const untilIn = (id: string, status: string, waitingReason?: string) =>
  eventually(`job ${id} ${status} ${waitingReason ?? ''}`, async () => {
    const { rows } = await db.pool.query(`select status, waiting_reason, retry_count, result from job where id = $1`, [id]);
    const row = rows[0];
    return row?.status === status && (waitingReason === undefined || row.waiting_reason === waitingReason) ? row : undefined;
  });

it("a spawn over the tenant's quota throws TenantQuotaExceededError the handler catches: the limit, its value, the tenant; another tenant's spawns are unaffected", async () => {
  await createApiKey(db.pool, { name: 'quota-a', tenantId: 'quota-a', scopes: ['jobs:write'] });
  await createApiKey(db.pool, { name: 'quota-b', tenantId: 'quota-b', scopes: ['jobs:write'] });
  // quota-a: one queued job at most (the running parent is not queued; its first child, waiting for a signal, is).
  await setTenantQuota(db.pool, 'quota-a', { maxQueuedJobs: 1 });
  await setTenantQuota(db.pool, 'quota-b', { maxQueuedJobs: 10 });
  await holdQueue();
  const a = await createIn('quota-a', { catchQuota: true, spawn: [heldChild('a1'), waitingChild('a2')] });
  const b = await createIn('quota-b', { catchQuota: true, spawn: [1, 2, 3].map((n) => ({ jobType: 'test.workflow_child', payload: { n } })) });

  const doneA = await untilIn(a, 'COMPLETED');
  const resultA = doneA.result as { ids: string[]; refused: Record<string, unknown> };
  expect(resultA.refused).toEqual({
    isQuotaError: true,
    name: 'TenantQuotaExceededError',
    limit: 'maxQueuedJobs',
    value: 1,
    current: 1,
    requested: 1,
    tenantId: 'quota-a',
    message: 'spawn of test.wait_for_signal (step spawn:2) refused for tenant "quota-a": tenant quota exceeded: maxQueuedJobs is 1 and the tenant has 1 queued jobs; this would add 1',
  });
  // The refused spawn made nothing: one child, no spawn:2 step.
  expect((await childrenOf(a)).map((c) => c.id)).toEqual(resultA.ids);
  const steps = await db.pool.query(`select name, status from job_step where job_id = $1 order by position`, [a]);
  expect(steps.rows).toEqual([{ name: 'spawn:1', status: 'COMPLETED' }]);

  // quota-b spawned all three and got their results; nothing of it names quota-a's refusal.
  const doneB = await untilIn(b, 'COMPLETED');
  expect((doneB.result as { children: Array<{ status: string }> }).children.map((c) => c.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
  expect(JSON.stringify(doneB)).not.toMatch(/quota-a|refused/);
  expect(await childrenOf(b)).toHaveLength(3);
  await releaseQueue();
  await untilIn(resultA.ids[0]!, 'PENDING', 'SIGNAL');
  await db.pool.query(`select signal_job($1, 'a1', '{}', null)`, [resultA.ids[0]]);
});

it("uncaught, a spawn over the quota fails the attempt with a message naming the limit and the tenant, retried as any failure; it spawns once the quota frees up", async () => {
  await createApiKey(db.pool, { name: 'quota-c', tenantId: 'quota-c', scopes: ['jobs:write'] });
  await setTenantQuota(db.pool, 'quota-c', { maxQueuedJobs: 1 });
  const message = 'spawn of test.wait_for_signal (step spawn:2) refused for tenant "quota-c": tenant quota exceeded: maxQueuedJobs is 1 and the tenant has 1 queued jobs; this would add 1';

  // No retries: DEAD_LETTER, the error stored with what the handler could have read.
  await holdQueue();
  const dead = await createIn('quota-c', { spawn: [heldChild('c1'), waitingChild('c2')] });
  await untilIn(dead, 'DEAD_LETTER');
  const { rows } = await db.pool.query(`select error_message, error from job where id = $1`, [dead]);
  expect(rows[0].error_message).toBe(`${message} (after 1 attempts)`);
  expect(rows[0].error).toEqual({
    name: 'TenantQuotaExceededError',
    message,
    data: { code: 'TENANT_QUOTA_EXCEEDED', limit: 'maxQueuedJobs', value: 1, current: 1, requested: 1, tenantId: 'quota-c' },
  });
  const [deadChild] = await childrenOf(dead);
  await releaseQueue();
  await untilIn(deadChild!.id, 'PENDING', 'SIGNAL');
  await db.pool.query(`select signal_job($1, 'c1', '{}', null)`, [deadChild!.id]);
  await untilIn(deadChild!.id, 'COMPLETED');

  // With retries: RETRYING with the message while the quota refuses; once it is lifted, the retry spawns the second child (and not the first again).
  await holdQueue();
  const parent = await createIn('quota-c', { spawn: [heldChild('c1'), waitingChild('c2')] }, 50);
  const retrying = await eventually('the parent RETRYING', async () => {
    const { rows } = await db.pool.query(`select message from job_event where job_id = $1 and status = 'RETRYING' order by id limit 1`, [parent]);
    return rows[0] as { message: string } | undefined;
  });
  expect(retrying.message).toBe(message);
  await clearTenantQuota(db.pool, 'quota-c');
  await releaseQueue();
  await untilIn(parent, 'PENDING', 'CHILDREN');
  const children = await childrenOf(parent);
  expect(children).toHaveLength(2);
  for (const [n, child] of children.entries()) {
    await untilIn(child.id, 'PENDING', 'SIGNAL');
    await db.pool.query(`select signal_job($1, $2, '{}', null)`, [child.id, `c${n + 1}`]);
  }
  const done = await untilIn(parent, 'COMPLETED');
  expect(done.retry_count).toBeGreaterThanOrEqual(1);
  expect((done.result as { children: Array<{ status: string }> }).children.map((c) => c.status)).toEqual(['COMPLETED', 'COMPLETED']);
});

it('waitForChildren with a timeout answers FINISHED with the outcomes when the children finish first; the wait shows its timeout', async () => {
  const parent = await create({ jobType: 'test.workflow_parent', payload: { timeoutMs: 600_000, spawn: [waitingChild('f1'), { jobType: 'test.workflow_child', payload: { n: 2 } }] } });
  const waiting = await until(parent, 'PENDING', 'CHILDREN');
  expect(waiting.wait).toMatchObject({ reason: 'CHILDREN', step: 'children', wakeAt: expect.any(String) });
  const [first, second] = await childrenOf(parent);
  await until(first!.id, 'PENDING', 'SIGNAL');
  await db.pool.query(`select signal_job($1, 'f1')`, [first!.id]);
  const done = await until(parent, 'COMPLETED');
  expect((done.result as { waited: unknown }).waited).toEqual({
    outcome: 'FINISHED',
    children: [
      { id: first!.id, status: 'COMPLETED', result: { waited: { outcome: 'RECEIVED', data: {} } }, error: null },
      { id: second!.id, status: 'COMPLETED', result: { n: 2, double: 4 }, error: null },
    ],
  });
  const { rows } = await db.pool.query(`select count(*)::int as n from job_wait where job_id = $1`, [uuidOf(parent)]);
  expect(rows[0].n).toBe(0);
});

// Last: it restarts every worker.
it('waitForChildren times out with outcome TIMED_OUT and the children as they are then, across a restart of every worker', async () => {
  const parent = await create({ jobType: 'test.workflow_parent', payload: { timeoutMs: 1500, spawn: [waitingChild('t1'), waitingChild('t2')] } });
  const waiting = await until(parent, 'PENDING', 'CHILDREN');
  const wakeAt = new Date(waiting.wait!.wakeAt!).getTime();
  expect(waiting.wait).toMatchObject({ reason: 'CHILDREN', step: 'children', name: null });
  const message = waiting.events.edges.map((e) => e.node.message).find((m) => m?.startsWith('waiting for'));
  expect(message).toMatch(/^waiting for all of 2 child jobs until \d{4}-\d\d-\d\dT[\d:.]+Z \(step children\)$/);
  expect(new Date(/until (\S+)/.exec(message!)![1]!).getTime()).toBe(wakeAt);
  for (const worker of workers) {
    worker.process.kill('SIGTERM');
    await worker.exited;
  }
  workers = [await spawnWorker(db.url, WORKER_ENV, WORKER_SCRIPT)];
  const done = await until(parent, 'COMPLETED');
  const children = await childrenOf(parent);
  expect(done.retryCount).toBe(0);
  expect((done.result as { waited: unknown }).waited).toEqual({
    outcome: 'TIMED_OUT',
    children: children.map((c) => ({ id: c.id, status: 'PENDING', result: null, error: null })),
  });
  const stepEvents = done.events.edges.map((e) => e.node).filter((e) => e.step?.name === 'children');
  expect(stepEvents.map((e) => e.status)).toEqual(['RUNNING', 'COMPLETED']);
  // The wait ended by its timeout: no row left, and a child finishing now wakes nothing.
  expect((await db.pool.query(`select count(*)::int as n from job_wait where job_id = $1`, [uuidOf(parent)])).rows[0].n).toBe(0);
  await until(children[0]!.id, 'PENDING', 'SIGNAL');
  await db.pool.query(`select signal_job($1, 't1')`, [children[0]!.id]);
  await until(children[0]!.id, 'COMPLETED');
  expect((await api.client.request(JobWaitState, { id: parent })).job).toMatchObject({ status: 'COMPLETED', result: done.result });
});
