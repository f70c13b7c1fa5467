// The remote-worker protocol's rules, spoken from Node against a real API
// process: the `worker` scope, tenants (a worker of tenant A never claims nor
// touches tenant B's jobs), bounds and bad requests refused with a clear error
// that changes nothing, a passed lease, and a worker that stops on purpose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import type { GraphQLTestClient } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { CreateJobs } from '../support/operations.ts';
import { spawnRemoteWorkerApi, type RemoteWorkerApi } from '../support/remote-workers.ts';
import { eventually } from '../support/wait.ts';

let db: TestDatabase;
let api: RemoteWorkerApi;
const WORD_COUNT = { name: 'text.word_count', payloadSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } };
const SLOW_TASK = { name: 'demo.slow_task', payloadSchema: { type: 'object', properties: { seconds: { type: 'number' } } } };
const keys: Record<'workerA' | 'workerB' | 'writerA' | 'writerB' | 'admin', string> = {} as never;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await spawnRemoteWorkerApi(db.url, { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' });
  const key = async (tenantId: string, scopes: Array<'worker' | 'jobs:read' | 'jobs:write' | 'admin'>) =>
    (await createApiKey(db.pool, { name: `${tenantId} ${scopes.join(' ')}`, tenantId, scopes })).key;
  keys.workerA = await key('tenant-a', ['worker']);
  keys.workerB = await key('tenant-b', ['worker']);
  keys.writerA = await key('tenant-a', ['jobs:read', 'jobs:write']);
  keys.writerB = await key('tenant-b', ['jobs:read', 'jobs:write']);
  keys.admin = await key('ops', ['admin']);
  // The types' payload schemas reach the API's registry as a deployment's first worker leaves them.
  await post('register', { workerId: 'types', jobTypes: [WORD_COUNT, SLOW_TASK] }, keys.admin);
  await post('unregister', { workerId: 'types' }, keys.admin);
}, 90_000);

afterAll(async () => {
  await api?.stop();
});

interface Answer {
  status: number;
  body: any;
}

async function post(operation: string, body: unknown, token: string | undefined, init: { contentType?: string; raw?: string } = {}): Promise<Answer> {
  const response = await fetch(`${api.baseUrl}/workers/v1/${operation}`, {
    method: 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: init.raw ?? JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const refusal = (answer: Answer) => ({ status: answer.status, ...answer.body.errors[0], code: answer.body.errors[0].extensions.code, field: answer.body.errors[0].extensions.field });

async function createJobs(client: GraphQLTestClient, count: number, jobType = 'text.word_count'): Promise<string[]> {
  const result = await client.request(CreateJobs, {
    jobs: Array.from({ length: count }, (_, n) => ({ jobType, payload: jobType === 'text.word_count' ? { text: `text ${n}` } : { seconds: 0 } })),
  });
  if (result.createJobs.__typename !== 'MutationCreateJobsSuccess') throw new Error(JSON.stringify(result.createJobs));
  return result.createJobs.data.map((job) => uuidOf(job.id));
}

async function statuses(ids: readonly string[]): Promise<Record<string, string>> {
  const { rows } = await db.pool.query<{ id: string; status: string }>('select id, status from job where id = any($1::uuid[])', [ids]);
  return Object.fromEntries(rows.map((row) => [row.id, row.status]));
}

/** Completes whatever a test left claimed or queued, so the next test's claims see only its own jobs. */
async function drain(token: string, workerId: string, jobType = 'text.word_count') {
  await post('register', { workerId, jobTypes: [jobType] }, token);
  for (;;) {
    const { body } = await post('claim', { workerId, jobTypes: [jobType], limit: 100 }, token);
    if (body.jobs.length === 0) return;
    await post('complete', { workerId, jobs: body.jobs.map((job: { id: string }) => ({ jobId: job.id })) }, token);
  }
}

describe('the worker scope', () => {
  it('refuses a request without a token, with a bad token, or with a key lacking the scope worker', async () => {
    const register = { workerId: 'w1', jobTypes: ['text.word_count'] };
    expect(refusal(await post('register', register, undefined))).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
      message: 'the worker protocol needs a token (Authorization: Bearer <API key with the scope worker>)',
    });
    expect(refusal(await post('register', register, 'jw_0000000000000000_' + 'x'.repeat(43)))).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', message: 'invalid API key' });
    expect(refusal(await post('claim', { workerId: 'w1', jobTypes: ['text.word_count'] }, keys.writerA))).toMatchObject({
      status: 403,
      code: 'FORBIDDEN',
      message: 'the worker protocol needs the scope worker; this key has jobs:read, jobs:write',
    });
    // Nothing was written.
    const { rows } = await db.pool.query(`select count(*)::int as n from worker where lease_seconds is not null`);
    expect(rows[0].n).toBe(0);
  });

  it('reaches nothing of the GraphQL API', async () => {
    const answer = await api.client.as(keys.workerA).send(CreateJobs, { jobs: [{ jobType: 'text.word_count', payload: { text: 'x' } }] });
    expect(answer.body.errors?.[0]?.message).toMatch(/needs the scope jobs:write/);
  });
});

describe('tenants', () => {
  it("a worker claims its own tenant's jobs only, and cannot touch another tenant's", async () => {
    const mine = await createJobs(api.client.as(keys.writerA), 3);
    const theirs = await createJobs(api.client.as(keys.writerB), 3);
    // The same worker id in two tenants: two workers.
    const registerA = await post('register', { workerId: 'w1', jobTypes: ['text.word_count'], leaseSeconds: 60 }, keys.workerA);
    expect(registerA).toMatchObject({ status: 200, body: { workerId: 'w1', workerRowId: 'remote:tenant-a:w1', tenantId: 'tenant-a', jobTypes: ['text.word_count'], leaseSeconds: 60 } });
    expect((await post('register', { workerId: 'w1', jobTypes: ['text.word_count'] }, keys.workerB)).body.workerRowId).toBe('remote:tenant-b:w1');

    const claimA = await post('claim', { workerId: 'w1', jobTypes: ['text.word_count'], limit: 10 }, keys.workerA);
    expect(claimA.status).toBe(200);
    expect(claimA.body.jobs.map((job: { id: string }) => job.id).sort()).toEqual([...mine].sort());
    expect(claimA.body.jobs[0]).toMatchObject({ jobType: 'text.word_count', attempt: 1, retryCount: 0, maxRetries: 3, steps: [] });

    // Tenant B's worker, naming A's jobs: not held by it, nothing changes.
    const completeB = await post('complete', { workerId: 'w1', jobs: mine.map((jobId) => ({ jobId, result: { stolen: true } })) }, keys.workerB);
    expect(completeB.body.jobs.map((job: { state: string }) => job.state)).toEqual(['LOST', 'LOST', 'LOST']);
    expect((await post('extend', { workerId: 'w1', jobs: [{ jobId: mine[0], progress: { percent: 50 } }] }, keys.workerB)).body.jobs).toEqual([{ jobId: mine[0], state: 'LOST' }]);
    expect((await post('fail', { workerId: 'w1', jobId: mine[0], retryable: false, error: { message: 'no' } }, keys.workerB)).body).toEqual({ jobId: mine[0], state: 'LOST' });
    expect((await post('step', { workerId: 'w1', jobId: mine[0], name: 'x', result: {} }, keys.workerB)).body).toEqual({ jobId: mine[0], state: 'LOST' });
    expect(Object.values(await statuses(mine))).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);

    const claimB = await post('claim', { workerId: 'w1', jobTypes: ['text.word_count'], limit: 10 }, keys.workerB);
    expect(claimB.body.jobs.map((job: { id: string }) => job.id).sort()).toEqual([...theirs].sort());

    const done = await post('complete', { workerId: 'w1', jobs: mine.map((jobId) => ({ jobId, result: { ok: 1 } })) }, keys.workerA);
    expect(done.body.jobs.map((job: { state: string }) => job.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    await post('complete', { workerId: 'w1', jobs: theirs.map((jobId) => ({ jobId })) }, keys.workerB);
    expect(new Set(Object.values(await statuses([...mine, ...theirs])))).toEqual(new Set(['COMPLETED']));
  });

  it("an admin's worker serves every tenant", async () => {
    const a = await createJobs(api.client.as(keys.writerA), 1);
    const b = await createJobs(api.client.as(keys.writerB), 1);
    expect((await post('register', { workerId: 'ops', jobTypes: ['text.word_count'] }, keys.admin)).body).toMatchObject({ workerRowId: 'remote:*:ops', tenantId: null });
    const claim = await post('claim', { workerId: 'ops', jobTypes: ['text.word_count'], limit: 10 }, keys.admin);
    expect(claim.body.jobs.map((job: { id: string }) => job.id).sort()).toEqual([...a, ...b].sort());
    await post('complete', { workerId: 'ops', jobs: [...a, ...b].map((jobId) => ({ jobId })) }, keys.admin);
  });
});

describe('bad requests', () => {
  it('are refused naming what is wrong, and change nothing', async () => {
    const queued = await createJobs(api.client.as(keys.writerA), 2);
    await post('register', { workerId: 'w-bad', jobTypes: ['text.word_count'] }, keys.workerA);
    const cases: Array<[string, unknown, Record<string, unknown>]> = [
      ['claim', { workerId: 'w-bad', jobTypes: ['text.word_count'], limit: 0 }, { status: 400, code: 'VALIDATION_FAILED', field: 'limit', message: 'limit: must be at least 1' }],
      ['claim', { workerId: 'w-bad', jobTypes: ['text.word_count'], limit: 101 }, { status: 400, field: 'limit', message: 'limit: must be at most 100' }],
      ['claim', { workerId: 'w-bad', jobTypes: ['text.word_count'], leaseSeconds: 601 }, { status: 400, field: 'leaseSeconds', message: 'leaseSeconds: must be at most 600' }],
      ['claim', { workerId: 'w-bad', jobTypes: [] }, { status: 400, field: 'jobTypes', message: 'jobTypes: must name at least one job type' }],
      ['claim', { workerId: 'w bad!', jobTypes: ['text.word_count'] }, { status: 400, field: 'workerId' }],
      ['claim', { workerId: 'w-bad', jobTypes: ['text.word_count'], limt: 5 }, { status: 400, code: 'VALIDATION_FAILED' }],
      ['claim', { workerId: 'never-registered', jobTypes: ['text.word_count'] }, { status: 404, code: 'WORKER_NOT_REGISTERED', field: 'workerId' }],
      ['extend', { workerId: 'w-bad', jobs: [{ jobId: queued[0], progress: { percent: 101 } }] }, { status: 400, field: 'jobs.0.progress.percent', message: 'jobs.0.progress.percent: must be between 0 and 100' }],
      ['complete', { workerId: 'w-bad', jobs: [{ jobId: 'not-a-uuid' }] }, { status: 400, field: 'jobs.0.jobId', message: 'jobs.0.jobId: must be a job id (UUID)' }],
      ['fail', { workerId: 'w-bad', jobId: queued[0], error: { message: 'x' } }, { status: 400, field: 'retryable', message: 'retryable: must be true or false' }],
      ['launch', {}, { status: 404, code: 'NOT_FOUND' }],
    ];
    for (const [operation, body, expected] of cases) {
      expect(refusal(await post(operation, body, keys.workerA)), `${operation} ${JSON.stringify(body)}`).toMatchObject(expected);
    }
    expect(refusal(await post('claim', null, keys.workerA, { raw: '{"workerId":' }))).toMatchObject({ status: 400, message: 'request body is not valid JSON' });
    expect(refusal(await post('claim', null, keys.workerA, { raw: 'workerId=w', contentType: 'application/x-www-form-urlencoded' }))).toMatchObject({ status: 415 });
    const get = await fetch(`${api.baseUrl}/workers/v1/claim`, { headers: { authorization: `Bearer ${keys.workerA}` } });
    expect(get.status).toBe(405);
    expect(await statuses(queued)).toEqual(Object.fromEntries(queued.map((id) => [id, 'PENDING'])));
    await drain(keys.workerA, 'w-bad');
  });
});

describe('leases', () => {
  it('a worker whose lease passed is told to register again, and nothing it then writes counts', async () => {
    const [jobId] = await createJobs(api.client.as(keys.writerA), 1);
    await post('register', { workerId: 'w-late', jobTypes: ['text.word_count'], leaseSeconds: 1 }, keys.workerA);
    const claim = await post('claim', { workerId: 'w-late', jobTypes: ['text.word_count'] }, keys.workerA);
    expect(claim.body.jobs.map((job: { id: string }) => job.id)).toEqual([jobId]);
    await eventually('the lease to pass and its jobs to be released', async () => {
      const { rows } = await db.pool.query(`select 1 from worker where id = 'remote:tenant-a:w-late'`);
      return rows.length === 0 ? true : undefined;
    });
    expect(refusal(await post('extend', { workerId: 'w-late', jobs: [{ jobId }] }, keys.workerA))).toMatchObject({
      status: 404,
      code: 'WORKER_NOT_REGISTERED',
      message: 'worker w-late is not registered, or its lease passed (the jobs it held were released); register it again',
    });
    expect((await post('complete', { workerId: 'w-late', jobs: [{ jobId }] }, keys.workerA)).body.jobs).toEqual([{ jobId, state: 'LOST' }]);
    // Released as a dead worker's: still RUNNING until a worker takes it over, its queue entry free.
    const { rows } = await db.pool.query(`select j.status, e.locked_by from job j join graphile_worker._private_jobs e on e.id = j.queue_entry_id where j.id = $1`, [jobId]);
    expect(rows).toEqual([{ status: 'RUNNING', locked_by: null }]);

    await post('register', { workerId: 'w-next', jobTypes: ['text.word_count'] }, keys.workerA);
    const again = await post('claim', { workerId: 'w-next', jobTypes: ['text.word_count'] }, keys.workerA);
    expect(again.body.jobs).toMatchObject([{ id: jobId, attempt: 2, retryCount: 1 }]);
    await post('complete', { workerId: 'w-next', jobs: [{ jobId }] }, keys.workerA);
    expect(await statuses([jobId!])).toEqual({ [jobId!]: 'COMPLETED' });
  });

  it('a worker that unregisters gives its jobs back at once, without spending a retry', async () => {
    const [jobId] = await createJobs(api.client.as(keys.writerA), 1);
    await post('register', { workerId: 'w-leaving', jobTypes: ['text.word_count'] }, keys.workerA);
    await post('claim', { workerId: 'w-leaving', jobTypes: ['text.word_count'] }, keys.workerA);
    expect((await post('unregister', { workerId: 'w-leaving' }, keys.workerA)).body).toEqual({ workerId: 'w-leaving', requeuedJobIds: [jobId] });
    const { rows } = await db.pool.query('select status, retry_count from job where id = $1', [jobId]);
    expect(rows).toEqual([{ status: 'RETRYING', retry_count: 0 }]);
    await post('register', { workerId: 'w-staying', jobTypes: ['text.word_count'] }, keys.workerA);
    const claim = await post('claim', { workerId: 'w-staying', jobTypes: ['text.word_count'] }, keys.workerA);
    expect(claim.body.jobs).toMatchObject([{ id: jobId, attempt: 1 }]);
    await post('complete', { workerId: 'w-staying', jobs: [{ jobId }] }, keys.workerA);
  });

  it('extending with progress writes it, and renews the lease to the length asked', async () => {
    const [jobId] = await createJobs(api.client.as(keys.writerA), 1);
    await post('register', { workerId: 'w-progress', jobTypes: ['text.word_count'] }, keys.workerA);
    await post('claim', { workerId: 'w-progress', jobTypes: ['text.word_count'] }, keys.workerA);
    const extend = await post('extend', { workerId: 'w-progress', leaseSeconds: 120, jobs: [{ jobId, progress: { percent: 40, message: 'reading' } }] }, keys.workerA);
    expect(extend.body).toMatchObject({ leaseSeconds: 120, jobs: [{ jobId, state: 'HELD' }] });
    const { rows } = await db.pool.query('select progress, progress_message from job where id = $1', [jobId]);
    expect(rows).toEqual([{ progress: 40, progress_message: 'reading' }]);
    await post('complete', { workerId: 'w-progress', jobs: [{ jobId }] }, keys.workerA);
  });

  it('a claim completes the jobs it names first, in the same call', async () => {
    const jobIds = await createJobs(api.client.as(keys.writerA), 3);
    await post('register', { workerId: 'w-batch', jobTypes: ['text.word_count'] }, keys.workerA);
    const first = await post('claim', { workerId: 'w-batch', jobTypes: ['text.word_count'], limit: 2 }, keys.workerA);
    expect(first.body.completed).toBeUndefined();
    const claimed = first.body.jobs.map((job: { id: string }) => job.id);
    expect(claimed).toHaveLength(2);
    const second = await post(
      'claim',
      { workerId: 'w-batch', jobTypes: ['text.word_count'], limit: 2, complete: [...claimed.map((jobId: string) => ({ jobId, result: { n: 1 } })), { jobId: '00000000-0000-4000-8000-000000000000' }] },
      keys.workerA,
    );
    expect(second.body.completed).toEqual([...claimed.map((jobId: string) => ({ jobId, state: 'COMPLETED' })), { jobId: '00000000-0000-4000-8000-000000000000', state: 'LOST' }]);
    expect(second.body.jobs.map((job: { id: string }) => job.id)).toEqual(jobIds.filter((id) => !claimed.includes(id)));
    const last = await post('claim', { workerId: 'w-batch', jobTypes: ['text.word_count'], complete: [{ jobId: second.body.jobs[0].id }] }, keys.workerA);
    expect(last.body).toMatchObject({ completed: [{ state: 'COMPLETED' }], jobs: [] });
    expect(new Set(Object.values(await statuses(jobIds)))).toEqual(new Set(['COMPLETED']));
  });

  it('markRunning false: a claimed job stays queued until the worker reports on it; completed first, it is written once', async () => {
    const [quick, reported, left] = await createJobs(api.client.as(keys.writerA), 3);
    await post('register', { workerId: 'w-lazy', jobTypes: ['text.word_count'] }, keys.workerA);
    const claim = await post('claim', { workerId: 'w-lazy', jobTypes: ['text.word_count'], limit: 3, markRunning: false }, keys.workerA);
    expect(claim.body.jobs).toHaveLength(3);
    expect(await statuses([quick!, reported!, left!])).toEqual({ [quick!]: 'PENDING', [reported!]: 'PENDING', [left!]: 'PENDING' });

    expect((await post('extend', { workerId: 'w-lazy', jobs: [{ jobId: reported, progress: { percent: 10 } }] }, keys.workerA)).body.jobs).toEqual([{ jobId: reported, state: 'HELD' }]);
    expect(await statuses([reported!])).toEqual({ [reported!]: 'RUNNING' });

    const done = await post('complete', { workerId: 'w-lazy', jobs: [{ jobId: quick, result: { words: 2 } }, { jobId: reported }] }, keys.workerA);
    expect(done.body.jobs.map((job: { state: string }) => job.state)).toEqual(['COMPLETED', 'COMPLETED']);
    const { rows: history } = await db.pool.query(
      `select e.status, j.started_at <= j.completed_at as ordered from job_event e join job j on j.id = e.job_id where e.job_id = $1 and e.step_id is null order by e.id`,
      [quick],
    );
    // Written once (queued → COMPLETED); the database records the RUNNING it passed through.
    expect(history.map((row) => row.status)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    expect(history.every((row) => row.ordered)).toBe(true);

    // Given back unstarted: still PENDING, its entry free, no attempt spent.
    expect((await post('unregister', { workerId: 'w-lazy' }, keys.workerA)).body.requeuedJobIds).toEqual([left]);
    const { rows } = await db.pool.query(`select j.status, j.retry_count, e.locked_by from job j join graphile_worker._private_jobs e on e.id = j.queue_entry_id where j.id = $1`, [left]);
    expect(rows).toEqual([{ status: 'PENDING', retry_count: 0, locked_by: null }]);
    await drain(keys.workerA, 'w-lazy');
  });
});
