// Debounce (createJob's debounce: { key, delayMs, maxWaitMs }): a create with
// the key of the tenant's unstarted job replaces its payload and moves its run
// to now + delayMs, never past the first create + maxWaitMs, answering that
// job; racing creates give one job; a started job is not changed; keys are
// per tenant; bad input writes nothing. Two worker processes run the jobs.
import { setTimeout as delay } from 'node:timers/promises';
import { beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import type { GraphQLTestClient } from '../support/app.ts';
import type { TestDatabase } from '../support/database.ts';
import { eventually } from '../support/wait.ts';
import { startApiAndTwoWorkers } from '../support/flow.ts';

let db: TestDatabase;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;

beforeAll(async () => {
  let api;
  ({ db, api } = await startApiAndTwoWorkers({ WORKER_CONCURRENCY: '4' }, { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' }));
  const key = async (tenantId: string) => (await createApiKey(db.pool, { name: tenantId, tenantId, scopes: ['jobs:read', 'jobs:write'] })).key;
  alice = api.client.as(await key('tenant-a'));
  bob = api.client.as(await key('tenant-b'));
});

const CREATE_JOB = `mutation($input: CreateJobInput!) { createJob(input: $input) {
  __typename
  ... on MutationCreateJobSuccess { created data { id debounceKey } }
  ... on ValidationError { field message }
} }`;

type Answer =
  | { __typename: 'MutationCreateJobSuccess'; created: boolean; data: { id: string; debounceKey: string | null } }
  | { __typename: 'ValidationError'; field: string; message: string };

async function create(client: GraphQLTestClient, input: Record<string, unknown>): Promise<Answer> {
  return (await client.request<{ createJob: Answer }, unknown>(CREATE_JOB as never, { input })).createJob;
}

async function created(client: GraphQLTestClient, input: Record<string, unknown>): Promise<{ id: string; created: boolean }> {
  const answer = await create(client, input);
  if (answer.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(answer));
  return { id: answer.data.id, created: answer.created };
}

const uuid = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':')[1]!;

async function jobsWithKey(key: string) {
  const { rows } = await db.pool.query<{ id: string; tenant: string; payload: Record<string, unknown>; status: string; createdAt: Date; startedAt: Date | null; scheduledAt: Date | null; deadline: Date | null }>(
    `select id, tenant_id as tenant, payload, status, created_at as "createdAt", started_at as "startedAt", scheduled_at as "scheduledAt", debounce_deadline as deadline
       from job where debounce_key = $1 order by created_at`,
    [key],
  );
  return rows;
}

async function runs(jobId: string): Promise<number> {
  const { rows } = await db.pool.query(`select count(*)::int as n from job_event where job_id = $1 and status = 'RUNNING'`, [jobId]);
  return rows[0].n;
}

it('a burst of 10 creates within delayMs gives one job, with the last payload, run once after the burst', async () => {
  const answers = [];
  for (let n = 1; n <= 10; n++) answers.push(await created(alice, { jobType: 'system.noop', payload: { n }, debounce: { key: 'burst', delayMs: 3000, maxWaitMs: 60_000 } }));
  expect(new Set(answers.map((a) => a.id)).size).toBe(1);
  expect(answers.map((a) => a.created)).toEqual([true, ...Array(9).fill(false)]);
  const done = await eventually('the job COMPLETED', async () => {
    const [job] = await jobsWithKey('burst');
    return job?.status === 'COMPLETED' ? job : undefined;
  });
  expect(done.payload).toEqual({ n: 10 });
  // After the burst: its run was moved to the last create + delayMs.
  expect(done.startedAt!.getTime()).toBeGreaterThanOrEqual(done.scheduledAt!.getTime());
  expect(await jobsWithKey('burst')).toHaveLength(1);
  expect(await runs(done.id)).toBe(1);
}, 30_000);

it('a steady stream of creates longer than maxWaitMs: the job runs at maxWaitMs, and later creates make the next job', async () => {
  const input = (n: number) => ({ jobType: 'system.noop', payload: { n }, debounce: { key: 'stream', delayMs: 1000, maxWaitMs: 2000 } });
  const first = await created(alice, input(0));
  // A create every 200 ms (well within delayMs) until the first job has run.
  let n = 1;
  while ((await jobsWithKey('stream'))[0]!.status !== 'COMPLETED') {
    await created(alice, input(n++));
    await delay(200);
  }
  const [job, ...later] = await jobsWithKey('stream');
  expect(job!.id).toBe(uuid(first.id));
  // It ran while the stream went on (the loop ended): never moved past the
  // first create + maxWaitMs (the deadline, set at the first create).
  expect(job!.deadline!.getTime() - job!.createdAt.getTime()).toBeGreaterThanOrEqual(2000);
  expect(job!.deadline!.getTime() - job!.createdAt.getTime()).toBeLessThan(3000);
  expect(job!.scheduledAt!.getTime()).toBeLessThanOrEqual(job!.deadline!.getTime());
  expect(job!.startedAt!.getTime()).toBeGreaterThanOrEqual(job!.deadline!.getTime() - 50);
  // The stream's creates after it started went to a new job (the first keeps the payload it ran with).
  const next = await created(alice, input(n));
  expect(uuid(next.id)).not.toBe(job!.id);
  expect(later.every((other) => other.id === uuid(next.id))).toBe(true);
  expect((await jobsWithKey('stream'))[0]!.payload).toEqual(job!.payload);
}, 30_000);

it('20 concurrent creates with one key give one job', async () => {
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, n) => created(alice, { jobType: 'system.noop', payload: { n }, debounce: { key: 'race', delayMs: 60_000 } })),
  );
  expect(new Set(answers.map((a) => a.id)).size).toBe(1);
  expect(answers.filter((a) => a.created)).toHaveLength(1);
  expect(await jobsWithKey('race')).toHaveLength(1);
});

it('a job already running is not changed: the create makes a new job', async () => {
  const input = (ms: number) => ({ jobType: 'system.sleep', payload: { ms, ticks: 1 }, debounce: { key: 'running', delayMs: 1 } });
  const first = await created(alice, input(5000));
  await eventually('the first job RUNNING', async () => ((await jobsWithKey('running'))[0]?.status === 'RUNNING' ? true : undefined));
  const second = await created(alice, input(1));
  expect(second.created).toBe(true);
  expect(second.id).not.toBe(first.id);
  const [running] = await jobsWithKey('running');
  expect(running!.payload).toMatchObject({ ms: 5000 });
}, 30_000);

it("a key of tenant A never matches tenant B's job", async () => {
  const debounce = { key: 'shared', delayMs: 60_000 };
  const a = await created(alice, { jobType: 'system.noop', payload: { who: 'a' }, debounce });
  const b = await created(bob, { jobType: 'system.noop', payload: { who: 'b' }, debounce });
  expect(b).toMatchObject({ created: true });
  expect(b.id).not.toBe(a.id);
  const jobs = await jobsWithKey('shared');
  expect(jobs.map((job) => [job.tenant, job.payload])).toEqual([
    ['tenant-a', { who: 'a' }],
    ['tenant-b', { who: 'b' }],
  ]);
});

it('bad debounce input is a validation error naming the field, and writes nothing', async () => {
  const count = async () => (await db.pool.query(`select count(*)::int as n from job`)).rows[0].n as number;
  const before = await count();
  expect(await create(alice, { jobType: 'system.noop', debounce: { key: 'bad', delayMs: 0 } })).toMatchObject({ __typename: 'ValidationError', field: 'debounce.delayMs' });
  expect(await create(alice, { jobType: 'system.noop', debounce: { key: 'bad', delayMs: 1000, maxWaitMs: 500 } })).toEqual({
    __typename: 'ValidationError',
    field: 'debounce.maxWaitMs',
    message: 'debounce.maxWaitMs: must be at least delayMs',
  });
  expect(await create(alice, { jobType: 'system.noop', debounce: { key: '', delayMs: 1000 } })).toMatchObject({ __typename: 'ValidationError', field: 'debounce.key' });
  expect(await create(alice, { jobType: 'system.noop', idempotencyKey: 'x', debounce: { key: 'bad', delayMs: 1000 } })).toMatchObject({ __typename: 'ValidationError', field: 'debounce' });
  expect(await create(alice, { jobType: 'system.noop', scheduledAt: new Date(Date.now() + 60_000).toISOString(), debounce: { key: 'bad', delayMs: 1000 } })).toMatchObject({
    __typename: 'ValidationError',
    field: 'debounce',
  });
  await expect(create(alice, { jobType: 'system.noop', debounce: { delayMs: 1000 } })).rejects.toThrow(/debounce.*key.*of required type/);
  expect(await count()).toBe(before);
});

it('inputs of one createJobs with one key are one job, with the last input\'s payload', async () => {
  const debounce = { key: 'batch', delayMs: 60_000 };
  const { createJobs } = await alice.request<{ createJobs: { created: boolean[]; data: Array<{ id: string }> } }, unknown>(
    `mutation($jobs: [CreateJobInput!]!) { createJobs(jobs: $jobs) { ... on MutationCreateJobsSuccess { created data { id } } } }` as never,
    { jobs: [1, 2, 3].map((n) => ({ jobType: 'system.noop', payload: { n }, debounce })) },
  );
  expect(createJobs.created).toEqual([true, false, false]);
  expect(new Set(createJobs.data.map((job) => job.id)).size).toBe(1);
  const jobs = await jobsWithKey('batch');
  expect(jobs.map((job) => job.payload)).toEqual([{ n: 3 }]);
});
