// Flow control across tenants: idempotency keys, schedules, dependencies and
// concurrency keys belong to a tenant. Another tenant's key is neither
// answered nor revealed (the create makes the caller's own job), another
// tenant's schedule or job id answers exactly as a missing one, and the jobs
// a schedule makes carry its tenant and its creator.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let service: TestApp;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;
let admin: GraphQLTestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, { env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0', SCHEDULE_POLL_INTERVAL_MS: '100' } });
  const key = async (tenantId: string, scopes: Array<'jobs:read' | 'jobs:write' | 'admin'>) =>
    (await createApiKey(db.pool, { name: `${tenantId} ${scopes.join(' ')}`, tenantId, scopes })).key;
  alice = service.client.as(await key('tenant-a', ['jobs:read', 'jobs:write']));
  bob = service.client.as(await key('tenant-b', ['jobs:read', 'jobs:write']));
  admin = service.client.as(await key('ops', ['admin']));
});

afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

/** An answer with every UUID and global ID of a job replaced, so answers about different ids compare equal. */
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
function normalised(value: unknown): string {
  const globalId = (text: string) => /^\w+:[0-9a-f-]{36}$/.test(Buffer.from(text, 'base64').toString());
  return JSON.stringify(value, (_key, field) => (typeof field === 'string' && globalId(field) ? '<global id>' : field)).replace(UUID, '<id>');
}

/** A global ID of the same type as `globalId`, of no job. */
function missingLike(globalId: string): string {
  const [type] = Buffer.from(globalId, 'base64').toString().split(':');
  return Buffer.from(`${type}:${randomUUID()}`).toString('base64');
}

const CREATE_JOB = `mutation($input: CreateJobInput!) { createJob(input: $input) {
  __typename
  ... on MutationCreateJobSuccess { created data { id createdBy } }
  ... on ValidationError { field message }
} }`;

async function createJob(client: GraphQLTestClient, input: Record<string, unknown>) {
  const { body } = await client.send(CREATE_JOB, { input });
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return (body.data as any).createJob as { __typename: string; created?: boolean; data?: { id: string; createdBy: string }; field?: string; message?: string };
}

const tenantOf = async (globalId: string) => (await db.pool.query(`select tenant_id from job where id = $1`, [uuidOf(globalId)])).rows[0]?.tenant_id;

describe('idempotency keys are per tenant', () => {
  it("another tenant's key is not answered: the create makes the caller's own job, as with a key nobody holds", async () => {
    const held = await createJob(alice, { jobType: 'system.noop', idempotencyKey: 'order-1' });
    expect(held).toMatchObject({ __typename: 'MutationCreateJobSuccess', created: true });

    const other = await createJob(bob, { jobType: 'system.noop', idempotencyKey: 'order-1' });
    const fresh = await createJob(bob, { jobType: 'system.noop', idempotencyKey: `unheld-${randomUUID()}` });
    expect(normalised(other)).toEqual(normalised(fresh));
    expect(other).toMatchObject({ created: true });
    expect(other.data!.id).not.toBe(held.data!.id);
    expect(JSON.stringify(other)).not.toContain(uuidOf(held.data!.id));
    expect(await tenantOf(other.data!.id)).toBe('tenant-b');

    // Each tenant's key now answers its own job.
    expect(await createJob(bob, { jobType: 'system.noop', idempotencyKey: 'order-1' })).toMatchObject({ created: false, data: { id: other.data!.id } });
    expect(await createJob(alice, { jobType: 'system.noop', idempotencyKey: 'order-1' })).toMatchObject({ created: false, data: { id: held.data!.id } });
    const keys = await db.pool.query(`select tenant_id, job_id from job_idempotency_key where idempotency_key = 'order-1' order by tenant_id`);
    expect(keys.rows).toEqual([
      { tenant_id: 'tenant-a', job_id: uuidOf(held.data!.id) },
      { tenant_id: 'tenant-b', job_id: uuidOf(other.data!.id) },
    ]);
  });

  it("a kind's create under a key another tenant's job holds is not refused naming that job", async () => {
    const held = await createJob(alice, { jobType: 'system.noop', idempotencyKey: 'held-by-a-plain-job' });
    const { body } = await bob.send(
      `mutation($input: CreateCollectionJobInput!) { createCollectionJob(input: $input) {
        __typename ... on MutationCreateCollectionJobSuccess { created data { id } } ... on Error { message } } }`,
      {
        input: {
          symbols: ['AAPL'],
          timeframe: '1d',
          rangeFrom: '2024-01-01T00:00:00Z',
          rangeTo: '2024-01-31T00:00:00Z',
          provider: 'csv-dir',
          idempotencyKey: 'held-by-a-plain-job',
        },
      },
    );
    const answer = (body.data as any).createCollectionJob;
    expect(answer).toMatchObject({ __typename: 'MutationCreateCollectionJobSuccess', created: true });
    expect(JSON.stringify(body)).not.toContain(uuidOf(held.data!.id));
    expect(await tenantOf(answer.data.id)).toBe('tenant-b');
  });
});

describe('dependencies stay within a tenant', () => {
  it("dependsOn naming another tenant's job is the validation error of an unknown id, and marks nothing", async () => {
    const aJob = await createJob(alice, { jobType: 'system.sleep', payload: { ms: 0 } });
    const other = await createJob(bob, { jobType: 'system.noop', dependsOn: [aJob.data!.id] });
    const missing = await createJob(bob, { jobType: 'system.noop', dependsOn: [missingLike(aJob.data!.id)] });
    expect(other).toEqual({ __typename: 'ValidationError', field: 'dependsOn.0', message: `dependsOn.0: no job with id ${uuidOf(aJob.data!.id)}` });
    expect(normalised(other)).toEqual(normalised(missing));
    const { rows } = await db.pool.query(`select has_dependents from job where id = $1`, [uuidOf(aJob.data!.id)]);
    expect(rows).toEqual([{ has_dependents: false }]);
    expect((await db.pool.query(`select count(*)::int as n from job_dependency`)).rows[0].n).toBe(0);
  });

  it("a schedule's template naming another tenant's job (dependsOn or parentJobId) is refused as an unknown id", async () => {
    const aJob = await createJob(alice, { jobType: 'system.noop' });
    const create = (template: Record<string, unknown>) =>
      bob.send(
        `mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { __typename ... on ValidationError { field message } } }`,
        { input: { cron: '0 0 1 1 *', jobTemplate: { jobType: 'system.noop', ...template } } },
      );
    const dependsOn = (await create({ dependsOn: [aJob.data!.id] })).body.data as any;
    expect(dependsOn.createSchedule).toEqual({
      __typename: 'ValidationError',
      field: 'jobTemplate.dependsOn.0',
      message: `jobTemplate.dependsOn.0: no job with id ${uuidOf(aJob.data!.id)}`,
    });
    expect(normalised(dependsOn)).toEqual(normalised((await create({ dependsOn: [missingLike(aJob.data!.id)] })).body.data));
    const parent = (await create({ parentJobId: aJob.data!.id })).body.data as any;
    expect(parent.createSchedule).toMatchObject({ __typename: 'ValidationError', field: 'jobTemplate.parentJobId' });
    expect(normalised(parent)).toEqual(normalised((await create({ parentJobId: missingLike(aJob.data!.id) })).body.data));
    expect((await db.pool.query(`select count(*)::int as n from schedule where tenant_id = 'tenant-b'`)).rows[0].n).toBe(0);
  });
});

describe('concurrency keys are per tenant', () => {
  it("a key at its limit in one tenant does not hold another tenant's job with the same key", async () => {
    const events = alice.subscribe({ toString: () => 'subscription { jobEvents { status job { id } } }' } as never);
    const aJob = await createJob(alice, { jobType: 'system.sleep', payload: { ms: 600_000 }, concurrencyKey: 'shared', concurrencyLimit: 1 });
    await events.waitFor("alice's keyed job RUNNING", (received: any[]) =>
      received.some((event) => event.jobEvents.job.id === aJob.data!.id && event.jobEvents.status === 'RUNNING'),
    );
    const bobEvents = bob.subscribe({ toString: () => 'subscription { jobEvents { status message job { id } } }' } as never);
    const bJob = await createJob(bob, { jobType: 'system.noop', concurrencyKey: 'shared', concurrencyLimit: 1 });
    const received = await bobEvents.waitFor("bob's keyed job COMPLETED", (all: any[]) =>
      all.some((event) => event.jobEvents.job.id === bJob.data!.id && event.jobEvents.status === 'COMPLETED'),
    );
    // It never waited, and alice's job is still running.
    expect(received.filter((event: any) => event.jobEvents.job.id === bJob.data!.id).every((event: any) => !/waiting/.test(event.jobEvents.message ?? ''))).toBe(true);
    expect((await db.pool.query(`select status from job where id = $1`, [uuidOf(aJob.data!.id)])).rows[0].status).toBe('RUNNING');
    const { body } = await alice.send(`mutation($id: ID!) { cancelJob(id: $id) { __typename } }`, { id: aJob.data!.id });
    expect(body.errors).toBeUndefined();
    events.close();
    bobEvents.close();
  });
});

describe('schedules belong to a tenant', () => {
  const SCHEDULE_FIELDS = 'id cron paused createdBy';

  it("another tenant's schedule answers as a missing one for every query and mutation, and stays as it was", async () => {
    const created = await alice.send(
      `mutation { createSchedule(input: { cron: "0 0 1 1 *", jobTemplate: { jobType: "system.noop" } }) {
        ... on MutationCreateScheduleSuccess { data { ${SCHEDULE_FIELDS} } } ... on Error { message } } }`,
    );
    const schedule = (created.body.data as any).createSchedule.data as { id: string; createdBy: string };
    const missing = randomUUID();
    const operations = [
      `query($id: ID!) { schedule(id: $id) { ${SCHEDULE_FIELDS} } }`,
      `mutation($id: ID!) { updateSchedule(id: $id, input: { cron: "0 0 2 1 *" }) { __typename ... on Error { message } ... on MutationUpdateScheduleSuccess { data { ${SCHEDULE_FIELDS} } } } }`,
      `mutation($id: ID!) { pauseSchedule(id: $id) { __typename ... on Error { message } ... on MutationPauseScheduleSuccess { data { ${SCHEDULE_FIELDS} } } } }`,
      `mutation($id: ID!) { resumeSchedule(id: $id) { __typename ... on Error { message } ... on MutationResumeScheduleSuccess { data { ${SCHEDULE_FIELDS} } } } }`,
      `mutation($id: ID!) { deleteSchedule(id: $id) { __typename ... on Error { message } ... on MutationDeleteScheduleSuccess { data } } }`,
    ];
    for (const operation of operations) {
      const other = await bob.send(operation, { id: schedule.id });
      const unknown = await bob.send(operation, { id: missing });
      expect(JSON.stringify(other.body).split(schedule.id).join('<id>'), operation).toEqual(JSON.stringify(unknown.body).split(missing).join('<id>'));
      expect(JSON.stringify(other.body)).not.toContain('"cron"');
    }
    expect((await bob.send(`{ schedules { id } }`)).body).toEqual({ data: { schedules: [] } });
    const { rows } = await db.pool.query(`select tenant_id, cron, paused, created_by from schedule where id = $1`, [schedule.id]);
    expect(rows).toEqual([{ tenant_id: 'tenant-a', cron: '0 0 1 1 *', paused: false, created_by: schedule.createdBy }]);

    // Alice sees it; admin sees and changes every tenant's.
    expect((await alice.send(`{ schedules { id } }`)).body).toEqual({ data: { schedules: [{ id: schedule.id }] } });
    expect(((await admin.send(`{ schedules { id } }`)).body.data as any).schedules).toContainEqual({ id: schedule.id });
    const paused = await admin.send(`mutation($id: ID!) { pauseSchedule(id: $id) { ... on MutationPauseScheduleSuccess { data { paused } } } }`, { id: schedule.id });
    expect(paused.body).toEqual({ data: { pauseSchedule: { data: { paused: true } } } });
  });

  it("a schedule's jobs carry its tenant and its creator, and only its tenant sees them", async () => {
    const aliceJob = await createJob(alice, { jobType: 'system.noop' });
    const events = alice.subscribe({ toString: () => 'subscription { jobEvents { status job { id queueName createdBy } } }' } as never);
    const created = await alice.send(
      `mutation { createSchedule(input: { cron: "* * * * * *", jobTemplate: { jobType: "system.noop", queueName: "tenant-a-ticks" } }) {
        ... on MutationCreateScheduleSuccess { data { id createdBy } } ... on Error { message } } }`,
    );
    const schedule = (created.body.data as any).createSchedule.data as { id: string; createdBy: string };
    expect(schedule.createdBy).toBe(aliceJob.data!.createdBy);
    const received: any[] = await events.waitFor("a job of alice's schedule", (all: any[]) => all.some((event) => event.jobEvents.job.queueName === 'tenant-a-ticks'));
    const tick = received.find((event) => event.jobEvents.job.queueName === 'tenant-a-ticks').jobEvents.job as { id: string; createdBy: string };
    expect(tick.createdBy).toBe(schedule.createdBy);
    expect(await tenantOf(tick.id)).toBe('tenant-a');
    expect((await bob.send(`query($id: ID!) { job(id: $id) { id } }`, { id: tick.id })).body).toEqual({ data: { job: null } });
    const paused = await alice.send(`mutation($id: ID!) { pauseSchedule(id: $id) { ... on MutationPauseScheduleSuccess { data { paused } } } }`, { id: schedule.id });
    expect(paused.body).toEqual({ data: { pauseSchedule: { data: { paused: true } } } });
    events.close();
  });
});

describe('queues are operator business', () => {
  it('pausing, resuming and rate-limiting a queue need admin; reading its paused state needs jobs:read', async () => {
    for (const operation of [
      'mutation { pauseQueue(queueName: "default") { __typename } }',
      'mutation { resumeQueue(queueName: "default") { __typename } }',
      'mutation { setQueueRateLimit(queueName: "default", maxStarts: 1, intervalMs: 1000) { __typename } }',
      'mutation { clearQueueRateLimit(queueName: "default") { __typename } }',
    ]) {
      const { body } = await bob.send(operation);
      expect(body.errors?.[0]?.message, operation).toMatch(/needs the scope admin/);
      expect(body.errors?.[0]?.extensions?.code).toBe('NotAuthorizedError');
    }
    expect((await db.pool.query(`select count(*)::int as n from paused_queue`)).rows[0].n).toBe(0);
    const paused = await admin.send('mutation { pauseQueue(queueName: "operator-paused") { ... on MutationPauseQueueSuccess { data { paused } } } }');
    expect(paused.body).toEqual({ data: { pauseQueue: { data: { paused: true } } } });
    expect((await bob.send('{ queueStats(queueName: "operator-paused") { paused } }')).body).toEqual({ data: { queueStats: { paused: true } } });
    await admin.send('mutation { resumeQueue(queueName: "operator-paused") { __typename } }');
  });
});
