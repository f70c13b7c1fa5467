// The job context for remote workers (issue 27), spoken from Node against a
// real API process (`serve`, no in-process worker) and real Postgres: durable
// waits (sleepFor, sleepUntil, waitForEvent, waitForSignal, waitForChildren)
// end the attempt and the job comes back by a claim with the wait's result;
// spawn is durable; streams, logs and tags are stored as ctx's are; and only
// the worker holding the job may call any of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { CancelJob, CreateJobs } from '../support/operations.ts';
import { spawnRemoteWorkerApi, type RemoteWorkerApi } from '../support/remote-workers.ts';
import { eventually } from '../support/wait.ts';
import { clearTenantQuota, setTenantQuota } from '../../src/jobs/tenant-quotas.ts';

let db: TestDatabase;
let api: RemoteWorkerApi;
const keys: Record<'workerA' | 'workerB' | 'writerA' | 'admin', string> = {} as never;
const PARENT = 'ctx.parent';
const CHILD = 'ctx.child';

beforeAll(async () => {
  db = await createTestDatabase();
  api = await spawnRemoteWorkerApi(db.url, { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' });
  const key = async (tenantId: string, scopes: Array<'worker' | 'jobs:read' | 'jobs:write' | 'admin'>) =>
    (await createApiKey(db.pool, { name: `${tenantId} ${scopes.join(' ')}`, tenantId, scopes })).key;
  keys.workerA = await key('tenant-a', ['worker']);
  keys.workerB = await key('tenant-b', ['worker']);
  keys.writerA = await key('tenant-a', ['jobs:read', 'jobs:write']);
  keys.admin = await key('ops', ['admin']);
  await post('register', { workerId: 'types', jobTypes: [PARENT, CHILD] }, keys.admin);
  await post('unregister', { workerId: 'types' }, keys.admin);
}, 90_000);

afterAll(async () => {
  await api?.stop();
});

interface Answer {
  status: number;
  body: any;
}

async function post(operation: string, body: unknown, token: string | undefined): Promise<Answer> {
  const response = await fetch(`${api.baseUrl}/workers/v1/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const refusal = (answer: Answer) => ({ status: answer.status, message: answer.body.errors?.[0]?.message, code: answer.body.errors?.[0]?.extensions.code, field: answer.body.errors?.[0]?.extensions.field });

/** Relay ids of the jobs created, by UUID. */
const relayIds = new Map<string, string>();

async function createJob(jobType = PARENT, payload: Record<string, unknown> = {}): Promise<string> {
  const result = await api.client.as(keys.writerA).request(CreateJobs, { jobs: [{ jobType, payload }] });
  if (result.createJobs.__typename !== 'MutationCreateJobsSuccess') throw new Error(JSON.stringify(result.createJobs));
  const id = uuidOf(result.createJobs.data[0]!.id);
  relayIds.set(id, result.createJobs.data[0]!.id);
  return id;
}

async function register(workerId: string, token = keys.workerA, jobTypes = [PARENT, CHILD]) {
  const answer = await post('register', { workerId, jobTypes, leaseSeconds: 60 }, token);
  expect(answer.status).toBe(200);
}

/** Jobs a claim delivered before the test asked for them, by worker. */
const delivered = new Map<string, Map<string, any>>();

/** Claims until this job comes (a woken job is due when its wait ends); answers it as the claim gave it. */
async function claimJob(workerId: string, jobId: string, jobTypes = [PARENT]): Promise<any> {
  const early = delivered.get(workerId) ?? new Map<string, any>();
  delivered.set(workerId, early);
  return eventually(`a claim by ${workerId} to deliver job ${jobId}`, async () => {
    if (!early.has(jobId)) {
      const { body } = await post('claim', { workerId, jobTypes, limit: 10 }, keys.workerA);
      for (const job of body.jobs) early.set(job.id, job);
    }
    const job = early.get(jobId);
    early.delete(jobId);
    return job;
  });
}

async function jobRow(id: string) {
  const { rows } = await db.pool.query(
    `select j.status, j.waiting_reason, j.worker_id, j.retry_count, j.tags, j.result, e.locked_by
       from job j left join graphile_worker._private_jobs e on e.id = j.queue_entry_id where j.id = $1`,
    [id],
  );
  return rows[0];
}

async function jobEvents(id: string): Promise<Array<{ status: string; message: string | null }>> {
  const { rows } = await db.pool.query(`select status, message from job_event where job_id = $1 and step_id is null order by id`, [id]);
  return rows;
}

describe('durable waits', () => {
  it('sleepFor ends the attempt, holding no slot while it sleeps; a claim re-delivers the job once due, also to another worker after a restart', async () => {
    const id = await createJob();
    await register('sleeper-1');
    const job = await claimJob('sleeper-1', id);
    expect(job).toMatchObject({ attempt: 1, steps: [] });

    const waited = await post('wait', { workerId: 'sleeper-1', jobId: id, step: 'nap', kind: 'sleepFor', ms: 300 }, keys.workerA);
    expect(waited).toMatchObject({ status: 200, body: { jobId: id, state: 'WAITING', wakeAt: expect.any(String) } });
    // Asleep: not RUNNING, no worker, its queue entry locked by nobody.
    expect(await jobRow(id)).toMatchObject({ status: 'PENDING', waiting_reason: 'TIMER', worker_id: null, locked_by: null });
    const { rows: waits } = await db.pool.query(`select reason from job_wait where job_id = $1`, [id]);
    expect(waits).toEqual([{ reason: 'TIMER' }]);
    // The attempt is over: the worker no longer holds the job.
    expect((await post('log', { workerId: 'sleeper-1', jobId: id, lines: [{ message: 'late' }] }, keys.workerA)).body).toEqual({ jobId: id, state: 'LOST' });

    // The worker restarts while the job sleeps: it held nothing, and the next one gets the job.
    expect((await post('unregister', { workerId: 'sleeper-1' }, keys.workerA)).body).toEqual({ workerId: 'sleeper-1', requeuedJobIds: [] });
    await register('sleeper-2');
    const again = await claimJob('sleeper-2', id);
    expect(again).toMatchObject({ attempt: 1, retryCount: 0, steps: [{ name: 'nap', status: 'RUNNING' }] });
    // The wait is over: the same call now answers DONE (sleeps return nothing).
    expect((await post('wait', { workerId: 'sleeper-2', jobId: id, step: 'nap', kind: 'sleepFor', ms: 300 }, keys.workerA)).body).toEqual({ jobId: id, state: 'DONE', result: null });
    expect((await post('complete', { workerId: 'sleeper-2', jobs: [{ jobId: id, result: { slept: true } }] }, keys.workerA)).body.jobs).toEqual([{ jobId: id, state: 'COMPLETED' }]);
    expect(await jobRow(id)).toMatchObject({ status: 'COMPLETED', retry_count: 0 });
    const history = (await jobEvents(id)).slice(-4);
    expect(history.map((event) => event.status)).toEqual(['RUNNING', 'PENDING', 'RUNNING', 'COMPLETED']);
    expect(history[1]!.message).toMatch(/^sleeping until .* \(step nap\)$/);
    const { rows: steps } = await db.pool.query(`select name, status from job_step where job_id = $1`, [id]);
    expect(steps).toEqual([{ name: 'nap', status: 'COMPLETED' }]);
  });

  it('sleepUntil: the wait is recorded even for a time already passed, and the next claim re-delivers the job with the wait over', async () => {
    const id = await createJob();
    await register('until-1');
    await claimJob('until-1', id);
    const until = new Date(Date.now() - 1000).toISOString();
    const answer = await post('wait', { workerId: 'until-1', jobId: id, step: 'past', kind: 'sleepUntil', until }, keys.workerA);
    expect(answer.body).toEqual({ jobId: id, state: 'WAITING', wakeAt: until });
    await claimJob('until-1', id);
    expect((await post('wait', { workerId: 'until-1', jobId: id, step: 'past', kind: 'sleepUntil', until }, keys.workerA)).body).toEqual({ jobId: id, state: 'DONE', result: null });
    await post('complete', { workerId: 'until-1', jobs: [{ jobId: id }] }, keys.workerA);
    expect((await jobRow(id)).status).toBe('COMPLETED');
  });

  it('waitForEvent: an event in a transaction that rolls back wakes nothing; committed, it wakes the matching job once, which gets its data', async () => {
    const [paid, other] = [await createJob(), await createJob()];
    await register('events-1');
    await claimJob('events-1', paid);
    await claimJob('events-1', other);
    for (const [jobId, orderId] of [[paid, 1], [other, 2]] as const) {
      const answer = await post('wait', { workerId: 'events-1', jobId, step: 'paid', kind: 'waitForEvent', name: 'order.paid', match: { orderId } }, keys.workerA);
      expect(answer.body).toEqual({ jobId, state: 'WAITING', wakeAt: null });
    }
    expect(await jobRow(paid)).toMatchObject({ status: 'PENDING', waiting_reason: 'EVENT', locked_by: null });

    const client = await db.pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query(`select send_event('order.paid', '{"orderId": 1, "amount": 5}', '{"tenantId": "tenant-a"}') as woken`);
      expect(rows[0].woken).toBe(1);
      await client.query('rollback');
    } finally {
      client.release();
    }
    const { rows: still } = await db.pool.query(`select count(*)::int as n from job_wait where job_id = any($1::uuid[])`, [[paid, other]]);
    expect(still[0].n).toBe(2);

    const { rows: sent } = await db.pool.query(`select send_event('order.paid', '{"orderId": 1, "amount": 5}', '{"tenantId": "tenant-a"}') as woken`);
    expect(sent[0].woken).toBe(1);
    // Sent again: the job was woken already, nothing more.
    const { rows: twice } = await db.pool.query(`select send_event('order.paid', '{"orderId": 1, "amount": 6}', '{"tenantId": "tenant-a"}') as woken`);
    expect(twice[0].woken).toBe(0);

    const job = await claimJob('events-1', paid);
    const received = { outcome: 'RECEIVED', data: { orderId: 1, amount: 5 } };
    expect(job.steps).toEqual([{ name: 'paid', position: expect.any(Number), status: 'COMPLETED', result: received }]);
    expect((await post('wait', { workerId: 'events-1', jobId: paid, step: 'paid', kind: 'waitForEvent', name: 'order.paid', match: { orderId: 1 } }, keys.workerA)).body).toEqual({
      jobId: paid,
      state: 'DONE',
      result: received,
    });
    await post('complete', { workerId: 'events-1', jobs: [{ jobId: paid }] }, keys.workerA);
    expect((await jobRow(paid)).status).toBe('COMPLETED');
    expect(await jobRow(other)).toMatchObject({ status: 'PENDING', waiting_reason: 'EVENT' });
    await db.pool.query(`select send_event('order.paid', '{"orderId": 2}', '{"tenantId": "tenant-a"}')`);
    await claimJob('events-1', other);
    await post('complete', { workerId: 'events-1', jobs: [{ jobId: other }] }, keys.workerA);
  });

  it('waitForSignal: a signal wakes the job with its data; a timeout ends the wait TIMED_OUT', async () => {
    const [signalled, timesOut] = [await createJob(), await createJob()];
    await register('signals-1');
    await claimJob('signals-1', signalled);
    await claimJob('signals-1', timesOut);
    expect((await post('wait', { workerId: 'signals-1', jobId: signalled, step: 'approval', kind: 'waitForSignal', name: 'approve', timeoutMs: 3_600_000 }, keys.workerA)).body).toMatchObject({
      state: 'WAITING',
    });
    expect((await post('wait', { workerId: 'signals-1', jobId: timesOut, step: 'approval', kind: 'waitForSignal', name: 'approve', timeoutMs: 0 }, keys.workerA)).body.state).toBe('WAITING');
    const { rows } = await db.pool.query(`select signal_job($1, 'approve', '{"by": "ana"}', 'tenant-a') as woken`, [signalled]);
    expect(rows[0].woken).toBe(true);

    await claimJob('signals-1', signalled);
    expect((await post('wait', { workerId: 'signals-1', jobId: signalled, step: 'approval', kind: 'waitForSignal', name: 'approve' }, keys.workerA)).body).toEqual({
      jobId: signalled,
      state: 'DONE',
      result: { outcome: 'RECEIVED', data: { by: 'ana' } },
    });
    await claimJob('signals-1', timesOut);
    expect((await post('wait', { workerId: 'signals-1', jobId: timesOut, step: 'approval', kind: 'waitForSignal', name: 'approve', timeoutMs: 0 }, keys.workerA)).body).toEqual({
      jobId: timesOut,
      state: 'DONE',
      result: { outcome: 'TIMED_OUT' },
    });
    await post('complete', { workerId: 'signals-1', jobs: [{ jobId: signalled }, { jobId: timesOut }] }, keys.workerA);
  });

  it('a wait reached after a cancel was asked for ends the job CANCELLED', async () => {
    const id = await createJob();
    await register('cancel-1');
    await claimJob('cancel-1', id);
    await db.pool.query(`update job set cancel_requested_at = now() where id = $1`, [id]);
    expect((await post('wait', { workerId: 'cancel-1', jobId: id, step: 'nap', kind: 'sleepFor', ms: 60_000 }, keys.workerA)).body).toEqual({ jobId: id, state: 'CANCELLED' });
    expect(await jobRow(id)).toMatchObject({ status: 'CANCELLED', worker_id: null });
    const { rows } = await db.pool.query(`select count(*)::int as n from job_wait where job_id = $1`, [id]);
    expect(rows[0].n).toBe(0);
  });
});

describe('child jobs', () => {
  it('spawn is durable (a retried spawn of a step makes no second child); waitForChildren re-delivers the parent with their outcomes', async () => {
    const parent = await createJob();
    await register('family-1');
    await claimJob('family-1', parent);
    const spawn = (step: string, n: number) => post('spawn', { workerId: 'family-1', jobId: parent, step, jobType: CHILD, payload: { n }, options: { maxRetries: 1 } }, keys.workerA);
    const first = await spawn('part:1', 1);
    expect(first).toMatchObject({ status: 200, body: { jobId: parent, state: 'HELD', childJobId: expect.any(String) } });
    expect((await spawn('part:1', 1)).body.childJobId).toBe(first.body.childJobId);
    // Retried at once (a worker that did not get its answer): the job's lock orders them; one child.
    const together = await Promise.all(Array.from({ length: 5 }, () => spawn('part:1', 1)));
    expect(new Set(together.map((answer) => answer.body.childJobId))).toEqual(new Set([first.body.childJobId]));
    const second = (await spawn('part:2', 2)).body.childJobId as string;

    // The parent's attempt fails; the retry spawns the same steps again and gets the same children.
    expect((await post('fail', { workerId: 'family-1', jobId: parent, retryable: true, error: { message: 'flaky' } }, keys.workerA)).body.state).toBe('RETRYING');
    const retried = await claimJob('family-1', parent);
    expect(retried).toMatchObject({ attempt: 2 });
    expect(retried.steps.map((step: { name: string; status: string }) => [step.name, step.status])).toEqual([
      ['part:1', 'COMPLETED'],
      ['part:2', 'COMPLETED'],
    ]);
    expect((await spawn('part:1', 1)).body.childJobId).toBe(first.body.childJobId);
    expect((await spawn('part:2', 2)).body.childJobId).toBe(second);
    const { rows: children } = await db.pool.query(`select id, tenant_id, created_by, max_retries, payload from job where parent_job_id = $1 order by payload->>'n'`, [parent]);
    expect(children).toEqual([
      { id: first.body.childJobId, tenant_id: 'tenant-a', created_by: `job:${parent}`, max_retries: 1, payload: { n: 1 } },
      { id: second, tenant_id: 'tenant-a', created_by: `job:${parent}`, max_retries: 1, payload: { n: 2 } },
    ]);

    const ids = [first.body.childJobId, second];
    expect((await post('wait', { workerId: 'family-1', jobId: parent, step: 'parts', kind: 'waitForChildren', childJobIds: ids }, keys.workerA)).body).toEqual({
      jobId: parent,
      state: 'WAITING',
      wakeAt: null,
    });
    expect(await jobRow(parent)).toMatchObject({ status: 'PENDING', waiting_reason: 'CHILDREN' });
    for (const child of ids) {
      await claimJob('family-1', child, [CHILD]);
      await post('complete', { workerId: 'family-1', jobs: [{ jobId: child, result: { child } }] }, keys.workerA);
    }
    await claimJob('family-1', parent);
    const outcome = await post('wait', { workerId: 'family-1', jobId: parent, step: 'parts', kind: 'waitForChildren', childJobIds: ids }, keys.workerA);
    expect(outcome.body).toMatchObject({ jobId: parent, state: 'DONE', result: ids.map((child) => ({ id: child, status: 'COMPLETED', result: { child } })) });
    await post('complete', { workerId: 'family-1', jobs: [{ jobId: parent }] }, keys.workerA);
    expect(await jobRow(parent)).toMatchObject({ status: 'COMPLETED', retry_count: 1 });
  });

  it('a spawn or wait the create path refuses is answered 400 naming the field, and makes nothing', async () => {
    const parent = await createJob();
    await register('family-2');
    await claimJob('family-2', parent);
    const unknown = await post('spawn', { workerId: 'family-2', jobId: parent, step: 's', jobType: 'no.such_type', payload: {} }, keys.workerA);
    expect(refusal(unknown)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', message: expect.stringContaining('no.such_type') });
    const badPriority = await post('spawn', { workerId: 'family-2', jobId: parent, step: 's', jobType: CHILD, options: { queueName: 'bad queue name' } }, keys.workerA);
    expect(refusal(badPriority)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field: 'options.queueName' });
    const notChild = await post('wait', { workerId: 'family-2', jobId: parent, step: 'w', kind: 'waitForChildren', childJobIds: [parent] }, keys.workerA);
    expect(refusal(notChild)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field: 'childJobIds', message: `childJobIds: waitForChildren: ${parent} is not a child of this job` });
    const { rows } = await db.pool.query(`select (select count(*)::int from job where parent_job_id = $1) as children, (select count(*)::int from job_step where job_id = $1) as steps`, [parent]);
    expect(rows[0]).toEqual({ children: 0, steps: 0 });
    expect((await jobRow(parent)).status).toBe('RUNNING');
    await post('complete', { workerId: 'family-2', jobs: [{ jobId: parent }] }, keys.workerA);
  });
});

describe("a tenant's quota and waitForChildren's timeout", () => {
  it("a spawn over the tenant's quota is answered 409 TENANT_QUOTA_EXCEEDED naming the limit and the tenant, and makes nothing; it fits once the quota frees up", async () => {
    const parent = await createJob();
    await register('quota-1');
    await claimJob('quota-1', parent);
    // Nothing more may be queued in tenant-a; tenant-b's limit is not tenant-a's.
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 0 });
    await setTenantQuota(db.pool, 'tenant-b', { maxQueuedJobs: 1000 });
    try {
      const spawn = () => post('spawn', { workerId: 'quota-1', jobId: parent, step: 'part', jobType: CHILD, payload: { n: 1 } }, keys.workerA);
      const refused = await spawn();
      const queued = Number((await db.pool.query(`select count(*) as n from job where tenant_id = 'tenant-a' and status in ('PENDING', 'SCHEDULED', 'RETRYING')`)).rows[0].n);
      expect(refused.status).toBe(409);
      expect(refused.body.errors).toEqual([
        {
          message: `spawn of ${CHILD} (step part) refused for tenant "tenant-a": tenant quota exceeded: maxQueuedJobs is 0 and the tenant has ${queued} queued jobs; this would add 1`,
          extensions: { code: 'TENANT_QUOTA_EXCEEDED', limit: 'maxQueuedJobs', value: 0, current: queued, requested: 1, tenantId: 'tenant-a' },
        },
      ]);
      const { rows } = await db.pool.query(`select (select count(*)::int from job where parent_job_id = $1) as children, (select count(*)::int from job_step where job_id = $1) as steps`, [parent]);
      expect(rows[0]).toEqual({ children: 0, steps: 0 });
      expect((await jobRow(parent)).status).toBe('RUNNING');

      await clearTenantQuota(db.pool, 'tenant-a');
      expect(await spawn()).toMatchObject({ status: 200, body: { state: 'HELD', childJobId: expect.any(String) } });
    } finally {
      await clearTenantQuota(db.pool, 'tenant-a');
      await clearTenantQuota(db.pool, 'tenant-b');
    }
    await post('complete', { workerId: 'quota-1', jobs: [{ jobId: parent }] }, keys.workerA);
  });

  it('waitForChildren with timeoutMs waits with the timeout as its wakeAt and answers TIMED_OUT with the children as they are then', async () => {
    const parent = await createJob();
    await register('timeout-1');
    await claimJob('timeout-1', parent);
    const child = (await post('spawn', { workerId: 'timeout-1', jobId: parent, step: 'part', jobType: CHILD, payload: {} }, keys.workerA)).body.childJobId as string;
    const wait = () => post('wait', { workerId: 'timeout-1', jobId: parent, step: 'parts', kind: 'waitForChildren', childJobIds: [child], timeoutMs: 300 }, keys.workerA);
    const bad = await post('wait', { workerId: 'timeout-1', jobId: parent, step: 'parts', kind: 'waitForChildren', childJobIds: [child], timeoutMs: -1 }, keys.workerA);
    expect(refusal(bad)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field: 'timeoutMs' });
    const waiting = await wait();
    expect(waiting.body).toEqual({ jobId: parent, state: 'WAITING', wakeAt: expect.any(String) });
    expect(await jobRow(parent)).toMatchObject({ status: 'PENDING', waiting_reason: 'CHILDREN' });
    expect((await jobEvents(parent)).map((e) => e.message)).toContain(`waiting for all of 1 child jobs until ${waiting.body.wakeAt} (step parts)`);
    // Due at its timeout: a claim delivers it again, and the same wait answers TIMED_OUT (the child was never claimed).
    await claimJob('timeout-1', parent);
    const timedOut = await wait();
    expect(timedOut.body).toEqual({ jobId: parent, state: 'DONE', result: { outcome: 'TIMED_OUT', children: [{ id: child, status: 'PENDING', result: null, error: null }] } });
    await post('complete', { workerId: 'timeout-1', jobs: [{ jobId: parent }] }, keys.workerA);
  });
});

describe('streams, logs and tags', () => {
  it('are stored as ctx.stream, ctx.log and ctx.addTags store them; a job claimed without RUNNING becomes RUNNING at the first', async () => {
    const id = await createJob();
    await register('output-1');
    const claimed = await eventually('the job claimed', async () => {
      const { body } = await post('claim', { workerId: 'output-1', jobTypes: [PARENT], markRunning: false }, keys.workerA);
      return body.jobs.find((job: { id: string }) => job.id === id);
    });
    expect(claimed).toBeDefined();
    expect((await jobRow(id)).status).toBe('PENDING');

    const streamed = await post('stream', { workerId: 'output-1', jobId: id, chunks: [{ stream: 'tokens', chunk: 'Hel' }, { stream: 'tokens', chunk: 'lo' }, { stream: 'rows', chunk: { n: 1 } }] }, keys.workerA);
    expect(streamed.body).toEqual({ jobId: id, state: 'HELD', written: 3 });
    expect((await jobRow(id)).status).toBe('RUNNING');
    await post('stream', { workerId: 'output-1', jobId: id, chunks: [{ stream: 'tokens', chunk: '!' }] }, keys.workerA);
    const { rows: chunks } = await db.pool.query(`select stream_name, sequence, chunk from job_stream_chunk where job_id = $1 order by stream_name, sequence`, [id]);
    expect(chunks).toEqual([
      { stream_name: 'rows', sequence: 1, chunk: { n: 1 } },
      { stream_name: 'tokens', sequence: 1, chunk: 'Hel' },
      { stream_name: 'tokens', sequence: 2, chunk: 'lo' },
      { stream_name: 'tokens', sequence: 3, chunk: '!' },
    ]);

    const logged = await post('log', { workerId: 'output-1', jobId: id, lines: [{ message: 'started', fields: { rows: 10 } }, { level: 'WARN', message: 'slow page' }] }, keys.workerA);
    expect(logged.body).toEqual({ jobId: id, state: 'HELD' });
    await post('log', { workerId: 'output-1', jobId: id, lines: [{ level: 'ERROR', message: 'page 3 failed' }] }, keys.workerA);
    const { rows: lines } = await db.pool.query(`select sequence, attempt, level, message, fields from job_log_line where job_id = $1 order by sequence`, [id]);
    expect(lines).toEqual([
      { sequence: 1, attempt: 1, level: 'INFO', message: 'started', fields: { rows: 10 } },
      { sequence: 2, attempt: 1, level: 'WARN', message: 'slow page', fields: {} },
      { sequence: 3, attempt: 1, level: 'ERROR', message: 'page 3 failed', fields: {} },
    ]);

    expect((await post('addTags', { workerId: 'output-1', jobId: id, tags: ['customer:42', 'nightly'] }, keys.workerA)).body).toEqual({ jobId: id, state: 'HELD', tags: ['customer:42', 'nightly'] });
    expect((await post('addTags', { workerId: 'output-1', jobId: id, tags: ['nightly', 'eu'] }, keys.workerA)).body.tags).toEqual(['customer:42', 'nightly', 'eu']);
    await post('complete', { workerId: 'output-1', jobs: [{ jobId: id }] }, keys.workerA);
    expect(await jobRow(id)).toMatchObject({ status: 'COMPLETED', tags: ['customer:42', 'nightly', 'eu'] });
  });

  it('refuses what ctx refuses, naming the field, and stores nothing of the call', async () => {
    const id = await createJob();
    await register('output-2');
    await claimJob('output-2', id);
    const tooBig = await post('stream', { workerId: 'output-2', jobId: id, chunks: [{ stream: 's', chunk: 'fine' }, { stream: 's', chunk: 'x'.repeat(70_000) }] }, keys.workerA);
    expect(refusal(tooBig)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field: 'chunks.1.chunk', message: expect.stringContaining('JOB_STREAM_CHUNK_MAX_BYTES') });
    expect(refusal(await post('stream', { workerId: 'output-2', jobId: id, chunks: [{ stream: 'bad name', chunk: 1 }] }, keys.workerA))).toMatchObject({ status: 400, field: 'chunks.0.stream' });
    expect(refusal(await post('log', { workerId: 'output-2', jobId: id, lines: [{ level: 'DEBUG', message: 'x' }] }, keys.workerA))).toMatchObject({ status: 400, field: 'lines.0.level' });
    expect(refusal(await post('addTags', { workerId: 'output-2', jobId: id, tags: ['ok', 'not a tag'] }, keys.workerA))).toMatchObject({ status: 400, field: 'tags.1' });
    const many = Array.from({ length: 20 }, (_, n) => `t${n}`);
    await post('addTags', { workerId: 'output-2', jobId: id, tags: many }, keys.workerA);
    expect(refusal(await post('addTags', { workerId: 'output-2', jobId: id, tags: ['one-more'] }, keys.workerA))).toMatchObject({ status: 400, field: 'tags', message: expect.stringContaining('at most 20 tags') });
    expect(refusal(await post('wait', { workerId: 'output-2', jobId: id, kind: 'sleepFor', ms: 10 }, keys.workerA))).toMatchObject({ status: 400, field: 'step' });
    expect(refusal(await post('wait', { workerId: 'output-2', jobId: id, step: 'x', kind: 'nap', ms: 10 }, keys.workerA))).toMatchObject({ status: 400, field: 'kind' });
    const { rows } = await db.pool.query(
      `select (select count(*)::int from job_stream_chunk where job_id = $1) as chunks, (select count(*)::int from job_log_line where job_id = $1) as lines,
              (select count(*)::int from job_step where job_id = $1) as steps`,
      [id],
    );
    expect(rows[0]).toEqual({ chunks: 0, lines: 0, steps: 0 });
    expect(await jobRow(id)).toMatchObject({ status: 'RUNNING', tags: many });
    await post('complete', { workerId: 'output-2', jobs: [{ jobId: id }] }, keys.workerA);
  });
});

describe('the lease', () => {
  it('only the worker holding the job may call the context: another worker, another tenant or a key without the scope changes nothing', async () => {
    const id = await createJob();
    await register('holder');
    await register('bystander');
    await register('holder', keys.workerB);
    await claimJob('holder', id);
    const calls: Array<[string, Record<string, unknown>]> = [
      ['wait', { jobId: id, step: 'nap', kind: 'sleepFor', ms: 1000 }],
      ['spawn', { jobId: id, step: 'child', jobType: CHILD }],
      ['stream', { jobId: id, chunks: [{ stream: 's', chunk: 1 }] }],
      ['log', { jobId: id, lines: [{ message: 'x' }] }],
      ['addTags', { jobId: id, tags: ['stolen'] }],
    ];
    for (const [operation, body] of calls) {
      expect((await post(operation, { workerId: 'bystander', ...body }, keys.workerA)).body, `${operation} by another worker`).toEqual({ jobId: id, state: 'LOST' });
      // Tenant B's worker of the same id is another worker.
      expect((await post(operation, { workerId: 'holder', ...body }, keys.workerB)).body, `${operation} by another tenant`).toEqual({ jobId: id, state: 'LOST' });
      expect(refusal(await post(operation, { workerId: 'holder', ...body }, keys.writerA))).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      expect(refusal(await post(operation, { workerId: 'holder', ...body }, undefined))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }
    const { rows } = await db.pool.query(
      `select (select count(*)::int from job_stream_chunk where job_id = $1) as chunks, (select count(*)::int from job_log_line where job_id = $1) as lines,
              (select count(*)::int from job_step where job_id = $1) as steps, (select count(*)::int from job where parent_job_id = $1) as children,
              (select count(*)::int from job_wait where job_id = $1) as waits`,
      [id],
    );
    expect(rows[0]).toEqual({ chunks: 0, lines: 0, steps: 0, children: 0, waits: 0 });
    expect(await jobRow(id)).toMatchObject({ status: 'RUNNING', worker_id: 'remote:tenant-a:holder', tags: [] });
    // The holder may.
    expect((await post('addTags', { workerId: 'holder', jobId: id, tags: ['mine'] }, keys.workerA)).body.state).toBe('HELD');
    await post('complete', { workerId: 'holder', jobs: [{ jobId: id }] }, keys.workerA);
  });

  it('a cancel asked for through the API reaches a waiting remote job as any other', async () => {
    const id = await createJob();
    await register('cancel-2');
    await claimJob('cancel-2', id);
    await post('wait', { workerId: 'cancel-2', jobId: id, step: 'approval', kind: 'waitForSignal', name: 'approve' }, keys.workerA);
    const cancel = await api.client.as(keys.writerA).request(CancelJob, { id: relayIds.get(id)! });
    expect(cancel.cancelJob.__typename).toBe('MutationCancelJobSuccess');
    expect((await jobRow(id)).status).toBe('CANCELLED');
  });
});
