// Remote workers in the job-type registry, against a real `jobwire start`
// process (the API and an in-process worker): `register` records the types a
// remote worker serves with the JSON Schemas it sends (refused, naming the
// field, when one does not compile); the API checks payloads against them;
// jobs of a type no live worker serves wait with NO_WORKER and are claimed
// once a worker registers; claims are limited to the registered types,
// queues and the worker's tenant; `jobTypes` lists the remote worker, live
// while its lease lasts; the in-process worker never takes a remote type's job.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { CreateRegistryJob, JobTypesWithWorkers } from '../support/operations-registry.ts';
import { spawnRemoteWorkerApi, type RemoteWorkerApi } from '../support/remote-workers.ts';
import { eventually } from '../support/wait.ts';

let db: TestDatabase;
let api: RemoteWorkerApi;
const keys: Record<'workerA' | 'workerB' | 'writerA' | 'writerB' | 'admin', string> = {} as never;

/** Each test's own job type (so one test's leftovers never reach the next), known to the registry, no worker serving it. */
let ECHO = '';
let tests = 0;
const ECHO_SCHEMA = {
  type: 'object',
  properties: { message: { type: 'string', minLength: 1 }, items: { type: 'array', items: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } },
  required: ['message'],
  additionalProperties: false,
};
const echo = (extra: Record<string, unknown> = {}) => ({
  name: ECHO,
  description: 'echoes its message (a remote worker)',
  payloadSchema: ECHO_SCHEMA,
  resultSchema: { type: 'object', properties: { echoed: { type: 'string' } } },
  defaults: { maxRetries: 5, priority: 2 },
  ...extra,
});

beforeAll(async () => {
  db = await createTestDatabase();
  api = await spawnRemoteWorkerApi(db.url, { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' }, 'start');
  const key = async (tenantId: string, scopes: Array<'worker' | 'jobs:read' | 'jobs:write' | 'admin'>) =>
    (await createApiKey(db.pool, { name: `${tenantId} ${scopes.join(' ')}`, tenantId, scopes })).key;
  keys.workerA = await key('tenant-a', ['worker']);
  keys.workerB = await key('tenant-b', ['worker']);
  keys.writerA = await key('tenant-a', ['jobs:read', 'jobs:write']);
  keys.writerB = await key('tenant-b', ['jobs:read', 'jobs:write']);
  keys.admin = await key('ops', ['admin']);
}, 90_000);

beforeEach(async () => {
  ECHO = `remote.echo_${++tests}`;
  await post('register', { workerId: 'setup', jobTypes: [echo()] }, keys.admin);
  await post('unregister', { workerId: 'setup' }, keys.admin);
});

afterAll(async () => {
  await api?.stop();
});

async function post(operation: string, body: unknown, token: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${api.baseUrl}/workers/v1/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const refusal = (answer: { status: number; body: any }) => ({
  status: answer.status,
  code: answer.body.errors?.[0]?.extensions.code,
  field: answer.body.errors?.[0]?.extensions.field,
  message: answer.body.errors?.[0]?.message,
});

async function createJob(token: string, input: Record<string, unknown>) {
  const result = await api.client.as(token).request(CreateRegistryJob, { input: { jobType: ECHO, payload: { message: 'hi' }, ...input } as never });
  return result.createJob;
}

async function created(token: string, input: Record<string, unknown> = {}) {
  const result = await createJob(token, input);
  if (result.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(result));
  return { ...result.data, id: uuidOf(result.data.id) };
}

async function jobRow(id: string) {
  const { rows } = await db.pool.query('select status, waiting_reason, worker_id from job where id = $1', [id]);
  return rows[0];
}

async function echoWorkers(token: string) {
  const { jobTypes } = await api.client.as(token).request(JobTypesWithWorkers, {});
  return jobTypes.find((type) => type.jobType === ECHO);
}

describe('register', () => {
  it('refuses a JSON Schema that does not compile, a repeated type, a bad queue or a kind type, naming the field, and writes nothing', async () => {
    const { rows: kinds } = await db.pool.query<{ name: string }>(`select name from job_type where kind <> 'PLAIN' order by name limit 1`);
    const kindType = kinds[0]!.name;
    const cases: Array<[unknown, Record<string, unknown>]> = [
      [
        { workerId: 'w-bad', jobTypes: [echo({ payloadSchema: { type: 'text' } })] },
        { status: 400, code: 'VALIDATION_FAILED', field: 'jobTypes.0.payloadSchema', message: expect.stringMatching(/^jobTypes\.0\.payloadSchema: is not a valid JSON Schema \(draft 2020-12\): schema is invalid: data\/type/) },
      ],
      [
        { workerId: 'w-bad', jobTypes: ['other.type', echo({ resultSchema: { properties: { n: { minimum: 'one' } } } })] },
        { status: 400, field: 'jobTypes.1.resultSchema', message: expect.stringContaining('jobTypes.1.resultSchema: is not a valid JSON Schema') },
      ],
      [{ workerId: 'w-bad', jobTypes: [echo({ payloadSchema: [] })] }, { status: 400, field: 'jobTypes.0.payloadSchema', message: 'jobTypes.0.payloadSchema: must be a JSON object' }],
      [{ workerId: 'w-bad', jobTypes: [echo(), ECHO] }, { status: 400, field: 'jobTypes.1', message: `jobTypes.1: names ${ECHO} twice` }],
      [{ workerId: 'w-bad', jobTypes: [echo()], queueNames: ['no spaces'] }, { status: 400, field: 'queueNames.0' }],
      [{ workerId: 'w-bad', jobTypes: ['x'.repeat(60)] }, { status: 400, field: 'jobTypes.0.name', message: 'jobTypes.0.name: must be at most 59 characters' }],
      // As every job type: a job of it must be creatable.
      [{ workerId: 'w-bad', jobTypes: ['Remote-Echo'] }, { status: 400, field: 'jobTypes.0.name', message: 'jobTypes.0.name: must be dotted lower-case words of a-z, 0-9 and _ (e.g. text.word_count)' }],
      // A kind's job types (registered by the in-process worker) run in the service's own workers.
      [{ workerId: 'w-bad', jobTypes: [kindType] }, { status: 400, field: 'jobTypes.0', message: expect.stringContaining('a remote worker serves PLAIN job types only') }],
      [{ workerId: 'w-bad', jobTypes: [echo({ name: kindType })] }, { status: 400, field: 'jobTypes.0', message: expect.stringContaining('a remote worker serves PLAIN job types only') }],
    ];
    for (const [body, expected] of cases) {
      expect(refusal(await post('register', body, keys.workerA)), JSON.stringify(body)).toMatchObject(expected);
    }
    const { rows } = await db.pool.query(
      `select (select count(*)::int from worker where id like 'remote:%') as workers, (select count(*)::int from job_type where name = 'other.type') as types,
              (select payload_schema from job_type where name = $1) as schema`,
      [ECHO],
    );
    expect(rows[0]).toEqual({ workers: 0, types: 0, schema: ECHO_SCHEMA });
  });

  it("records the worker's types; the API checks their payloads against its JSON Schema and applies its defaults", async () => {
    // A type no worker ever registered is unknown.
    expect(await createJob(keys.writerA, { jobType: 'remote.never' })).toMatchObject({ __typename: 'UnknownJobTypeError', field: 'jobType', jobType: 'remote.never' });

    const registered = await post('register', { workerId: 'w-reg', jobTypes: [echo()], leaseSeconds: 60 }, keys.workerA);
    expect(registered).toMatchObject({ status: 200, body: { jobTypes: [ECHO], queueNames: null } });

    expect(await createJob(keys.writerA, { payload: { message: 'hi', items: [{ n: 1 }, { n: 'two' }] } })).toMatchObject({
      __typename: 'ValidationError',
      field: 'payload.items.1.n',
      message: 'payload.items.1.n: must be integer',
    });
    expect(await createJob(keys.writerA, { payload: { message: 'hi', extra: true } })).toMatchObject({ __typename: 'ValidationError', field: 'payload.extra' });
    expect(await createJob(keys.writerA, { payload: {} })).toMatchObject({ __typename: 'ValidationError', field: 'payload.message', message: 'payload.message: is required' });

    const job = await created(keys.writerA);
    expect(job).toMatchObject({ status: 'PENDING', waitingReason: null, maxRetries: 5 });
    const claim = await post('claim', { workerId: 'w-reg', limit: 10 }, keys.workerA);
    expect(claim.body.jobs).toMatchObject([{ id: job.id, jobType: ECHO, priority: 2, payload: { message: 'hi' } }]);
    await post('complete', { workerId: 'w-reg', jobs: [{ jobId: job.id, result: { echoed: 'hi' } }] }, keys.workerA);

    // A name alone keeps the schema registered.
    await post('register', { workerId: 'w-reg', jobTypes: [ECHO] }, keys.workerA);
    expect(await createJob(keys.writerA, { payload: {} })).toMatchObject({ __typename: 'ValidationError', field: 'payload.message' });
    const { rows } = await db.pool.query('select description, payload_schema, default_max_retries from job_type where name = $1', [ECHO]);
    expect(rows).toEqual([{ description: 'echoes its message (a remote worker)', payload_schema: ECHO_SCHEMA, default_max_retries: 5 }]);
    await post('unregister', { workerId: 'w-reg' }, keys.workerA);
  });
});

describe('jobTypes in GraphQL', () => {
  it('lists the remote worker serving its types, live while its lease lasts, and drops it when the lease passes', async () => {
    await post('register', { workerId: 'w-view', jobTypes: [echo()], leaseSeconds: 60 }, keys.workerA);
    // Silent for longer than an in-process worker may be (WORKER_DEAD_AFTER_MS is 2 s here), well within its lease.
    await db.pool.query(`update worker set last_heartbeat_at = now() - interval '20 seconds' where id = 'remote:tenant-a:w-view'`);
    const view = await echoWorkers(keys.writerA);
    expect(view).toMatchObject({ jobType: ECHO, hosted: false, liveWorkerCount: 1, workers: [{ workerId: 'remote:tenant-a:w-view', live: true, remote: true, queueNames: null }] });

    // Its lease passed (shortened to 1 s here: silence is counted from the database server's start at the
    // earliest, and the test's server is younger than a real lease): the sweep deletes it, and it leaves the list.
    await db.pool.query(`update worker set lease_seconds = 1 where id = 'remote:tenant-a:w-view'`);
    await eventually('the lapsed worker to leave the list', async () => ((await echoWorkers(keys.writerA))?.workers.length === 0 ? true : undefined));
    expect(await echoWorkers(keys.writerA)).toMatchObject({ liveWorkerCount: 0, registeredAt: expect.any(String) });
  });
});

describe('NO_WORKER', () => {
  it('a job created while no remote worker serves its type waits, and is claimed once one registers; it waits again when the last one leaves', async () => {
    const waiting = await created(keys.writerA);
    expect(waiting.waitingReason).toBe('NO_WORKER');
    expect(await jobRow(waiting.id)).toMatchObject({ status: 'PENDING', waiting_reason: 'NO_WORKER' });

    await post('register', { workerId: 'w-late', jobTypes: [echo()], leaseSeconds: 60 }, keys.workerA);
    expect(await jobRow(waiting.id)).toMatchObject({ status: 'PENDING', waiting_reason: null });
    const claim = await post('claim', { workerId: 'w-late', jobTypes: [ECHO] }, keys.workerA);
    expect(claim.body.jobs.map((job: { id: string }) => job.id)).toEqual([waiting.id]);
    await post('complete', { workerId: 'w-late', jobs: [{ jobId: waiting.id }] }, keys.workerA);

    // Queued while it serves; its lease passes: the job waits for a worker again.
    const next = await created(keys.writerA);
    expect(next.waitingReason).toBeNull();
    await db.pool.query(`update worker set lease_seconds = 1 where id = 'remote:tenant-a:w-late'`);
    await eventually('the lease to pass and NO_WORKER to be set', async () => ((await jobRow(next.id)).waiting_reason === 'NO_WORKER' ? true : undefined));

    // Unregistering does the same.
    await post('register', { workerId: 'w-leaving', jobTypes: [ECHO] }, keys.workerA);
    expect((await jobRow(next.id)).waiting_reason).toBeNull();
    await post('unregister', { workerId: 'w-leaving' }, keys.workerA);
    expect((await jobRow(next.id)).waiting_reason).toBe('NO_WORKER');
    const { rows } = await db.pool.query(`select e.message from job_event e where e.job_id = $1 order by e.id desc limit 1`, [next.id]);
    expect(rows[0].message).toBe('waiting: no live worker serves this job type in queue default');
    await post('register', { workerId: 'w-drain', jobTypes: [ECHO] }, keys.workerA);
    await post('claim', { workerId: 'w-drain', complete: [] }, keys.workerA).then((answer) =>
      post('complete', { workerId: 'w-drain', jobs: answer.body.jobs.map((job: { id: string }) => ({ jobId: job.id })) }, keys.workerA),
    );
    await post('unregister', { workerId: 'w-drain' }, keys.workerA);
  });

  it("a tenant's worker serves its own tenant only: another tenant's jobs keep waiting", async () => {
    await post('register', { workerId: 'w-a', jobTypes: [ECHO] }, keys.workerA);
    const mine = await created(keys.writerA);
    const theirs = await created(keys.writerB);
    expect([mine.waitingReason, theirs.waitingReason]).toEqual([null, 'NO_WORKER']);
    await post('register', { workerId: 'w-b', jobTypes: [ECHO] }, keys.workerB);
    expect((await jobRow(theirs.id)).waiting_reason).toBeNull();
    // A's worker leaving leaves B's job served.
    await post('unregister', { workerId: 'w-a' }, keys.workerA);
    expect([(await jobRow(mine.id)).waiting_reason, (await jobRow(theirs.id)).waiting_reason]).toEqual(['NO_WORKER', null]);
    const claimB = await post('claim', { workerId: 'w-b', limit: 10 }, keys.workerB);
    expect(claimB.body.jobs.map((job: { id: string }) => job.id)).toEqual([theirs.id]);
    await post('unregister', { workerId: 'w-b' }, keys.workerB);
    await post('register', { workerId: 'w-a', jobTypes: [ECHO] }, keys.workerA);
    const claimA = await post('claim', { workerId: 'w-a', limit: 10 }, keys.workerA);
    expect(claimA.body.jobs.map((job: { id: string }) => job.id)).toEqual([mine.id]);
    await post('complete', { workerId: 'w-a', jobs: [{ jobId: mine.id }] }, keys.workerA);
    await post('unregister', { workerId: 'w-a' }, keys.workerA);
  });
});

describe('claims', () => {
  it('are limited to the types and queues the worker registered', async () => {
    await post('register', { workerId: 'w-east', jobTypes: [ECHO], queueNames: ['east'] }, keys.workerA);
    const east = await created(keys.writerA, { queueName: 'east' });
    const west = await created(keys.writerA, { queueName: 'west' });
    expect([east.waitingReason, west.waitingReason]).toEqual([null, 'NO_WORKER']);

    expect(refusal(await post('claim', { workerId: 'w-east', jobTypes: [ECHO, 'text.word_count'] }, keys.workerA))).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'jobTypes.1',
      message: `jobTypes.1: worker w-east did not register text.word_count; it registered ${ECHO} (register again to change them)`,
    });
    const claim = await post('claim', { workerId: 'w-east', limit: 10 }, keys.workerA);
    expect(claim.body.jobs.map((job: { id: string; queueName: string }) => [job.id, job.queueName])).toEqual([[east.id, 'east']]);
    expect(await jobRow(west.id)).toMatchObject({ status: 'PENDING', waiting_reason: 'NO_WORKER' });
    await post('complete', { workerId: 'w-east', jobs: [{ jobId: east.id }] }, keys.workerA);

    // Registered again for every queue: the west job is served and claimed.
    await post('register', { workerId: 'w-east', jobTypes: [ECHO] }, keys.workerA);
    expect((await jobRow(west.id)).waiting_reason).toBeNull();
    const again = await post('claim', { workerId: 'w-east', jobTypes: [ECHO], limit: 10 }, keys.workerA);
    expect(again.body.jobs.map((job: { id: string }) => job.id)).toEqual([west.id]);
    await post('complete', { workerId: 'w-east', jobs: [{ jobId: west.id }] }, keys.workerA);
    await post('unregister', { workerId: 'w-east' }, keys.workerA);
  });
});

describe('routing', () => {
  it("the in-process worker never takes a remote type's job; the remote worker does", async () => {
    const remote = await created(keys.writerA);
    expect(remote.waitingReason).toBe('NO_WORKER');
    // A job the in-process worker serves, queued after it in the same queue, runs; the remote one stays untouched.
    const local = await api.client.as(keys.writerA).request(CreateRegistryJob, { input: { jobType: 'system.noop', payload: {} } as never });
    if (local.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(local.createJob));
    const localId = uuidOf(local.createJob.data.id);
    await eventually('the in-process job to complete', async () => ((await jobRow(localId)).status === 'COMPLETED' ? true : undefined));
    const { rows } = await db.pool.query(
      `select j.status, j.worker_id, e.locked_by, e.attempts, (select array_agg(status::text order by id) from job_event where job_id = j.id and step_id is null) as history
         from job j join graphile_worker._private_jobs e on e.id = j.queue_entry_id where j.id = $1`,
      [remote.id],
    );
    expect(rows).toEqual([{ status: 'PENDING', worker_id: null, locked_by: null, attempts: 0, history: ['PENDING'] }]);

    await post('register', { workerId: 'w-route', jobTypes: [ECHO] }, keys.workerA);
    const claim = await post('claim', { workerId: 'w-route' }, keys.workerA);
    expect(claim.body.jobs.map((job: { id: string }) => job.id)).toEqual([remote.id]);
    await post('complete', { workerId: 'w-route', jobs: [{ jobId: remote.id, result: { echoed: 'hi' } }] }, keys.workerA);
    expect(await jobRow(remote.id)).toMatchObject({ status: 'COMPLETED' });
    await post('unregister', { workerId: 'w-route' }, keys.workerA);
  });
});
