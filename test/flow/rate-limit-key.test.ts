// Rate limits per key (createJob's rateLimit: { key, maxStarts, intervalMs }):
// the jobs of one key of a tenant start no faster than the limit, across two
// worker processes; another key, or the same key of another tenant, is not
// held by it; a bad rateLimit is refused and writes nothing.
// The workers poll once a minute: held jobs are fetched when woken (src/flow/wake.ts).
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
  ({ db, api } = await startApiAndTwoWorkers(
    { WORKER_CONCURRENCY: '8', WORKER_POLL_INTERVAL_MS: '60000' },
    { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' },
  ));
  const key = async (tenantId: string) => (await createApiKey(db.pool, { name: tenantId, tenantId, scopes: ['jobs:read', 'jobs:write'] })).key;
  alice = api.client.as(await key('tenant-a'));
  bob = api.client.as(await key('tenant-b'));
});

const CREATE_JOBS = `mutation($jobs: [CreateJobInput!]!) { createJobs(jobs: $jobs) {
  __typename
  ... on MutationCreateJobsSuccess { data { id waitingReason rateLimitKey rateLimitMaxStarts rateLimitIntervalMs } }
  ... on ValidationError { field message }
} }`;

type CreateAnswer =
  | { __typename: 'MutationCreateJobsSuccess'; data: Array<{ id: string; rateLimitKey: string | null; rateLimitMaxStarts: number | null; rateLimitIntervalMs: number | null }> }
  | { __typename: 'ValidationError'; field: string; message: string };

async function createJobs(client: GraphQLTestClient, jobs: unknown[]): Promise<CreateAnswer> {
  const { createJobs } = await client.request<{ createJobs: CreateAnswer }, unknown>(CREATE_JOBS as never, { jobs });
  return createJobs;
}

async function startsOf(tenantId: string, key: string, queueName: string): Promise<number[]> {
  const { rows } = await db.pool.query<{ at: number }>(
    `select (extract(epoch from started_at) * 1000)::float8 as at from job
      where tenant_id = $1 and rate_limit_key = $2 and queue_name = $3 and started_at is not null order by started_at`,
    [tenantId, key, queueName],
  );
  return rows.map((row) => row.at);
}

it('20 jobs of one key limited to 5 starts per second: never more than 5 in any second, all complete, no retry spent', async () => {
  const rateLimit = { key: 'api-x', maxStarts: 5, intervalMs: 1000 };
  const created = await createJobs(alice, Array.from({ length: 20 }, () => ({ jobType: 'system.noop', queueName: 'keyed-rate', rateLimit })));
  expect(created.__typename).toBe('MutationCreateJobsSuccess');
  if (created.__typename === 'MutationCreateJobsSuccess') {
    expect(created.data[0]).toMatchObject({ rateLimitKey: 'api-x', rateLimitMaxStarts: 5, rateLimitIntervalMs: 1000 });
  }
  await eventually('all 20 COMPLETED', async () => {
    const { rows } = await db.pool.query(`select count(*)::int as n from job where queue_name = 'keyed-rate' and status = 'COMPLETED'`);
    return rows[0].n === 20 ? true : undefined;
  }, 60_000);
  const starts = await startsOf('tenant-a', 'api-x', 'keyed-rate');
  expect(starts).toHaveLength(20);
  // Any window [x, x + 1000) holds at most 5 starts: the 6th start after any start is at least 1 s later.
  for (let i = 0; i + 5 < starts.length; i++) expect(starts[i + 5]! - starts[i]!, `start ${i + 5}`).toBeGreaterThanOrEqual(1000);
  const waited = await db.pool.query(
    `select count(*)::int as n from job_event e join job on job.id = e.job_id
      where job.queue_name = 'keyed-rate' and e.message = 'waiting: its rate limit key reached its rate limit'`,
  );
  expect(waited.rows[0].n).toBeGreaterThan(0);
  const retries = await db.pool.query(`select count(*)::int as n from job where queue_name = 'keyed-rate' and retry_count > 0`);
  expect(retries.rows[0].n).toBe(0);
}, 90_000);

it("a key at its limit holds neither another key of the tenant nor the same key of another tenant", async () => {
  // Two starts a minute: the third and fourth of tenant A's customer-1 wait for a minute.
  const perMinute = (key: string) => ({ key, maxStarts: 2, intervalMs: 60_000 });
  const held = await createJobs(alice, Array.from({ length: 4 }, () => ({ jobType: 'system.noop', queueName: 'held', rateLimit: perMinute('customer-1') })));
  expect(held.__typename).toBe('MutationCreateJobsSuccess');
  await eventually('two started, two waiting for the key', async () => {
    const { rows } = await db.pool.query<{ done: number; waiting: number }>(
      `select count(*) filter (where status = 'COMPLETED')::int as done,
              count(*) filter (where waiting_reason = 'KEY_RATE_LIMIT')::int as waiting
         from job where queue_name = 'held'`,
    );
    return rows[0]!.done === 2 && rows[0]!.waiting === 2 ? true : undefined;
  });
  // Were the limit per key name (not per tenant) or per limit, these would wait the minute too.
  const otherKey = await createJobs(alice, Array.from({ length: 2 }, () => ({ jobType: 'system.noop', queueName: 'free', rateLimit: perMinute('customer-2') })));
  const otherTenant = await createJobs(bob, Array.from({ length: 2 }, () => ({ jobType: 'system.noop', queueName: 'free', rateLimit: perMinute('customer-1') })));
  expect([otherKey.__typename, otherTenant.__typename]).toEqual(['MutationCreateJobsSuccess', 'MutationCreateJobsSuccess']);
  await eventually('the other key and the other tenant COMPLETED', async () => {
    const { rows } = await db.pool.query(`select count(*)::int as n from job where queue_name = 'free' and status = 'COMPLETED'`);
    return rows[0].n === 4 ? true : undefined;
  });
  const free = await db.pool.query(
    `select count(*)::int as n from job_event e join job on job.id = e.job_id where job.queue_name = 'free' and e.message like 'waiting:%'`,
  );
  expect(free.rows[0].n).toBe(0);
  const still = await db.pool.query(`select count(*)::int as n from job where queue_name = 'held' and waiting_reason = 'KEY_RATE_LIMIT'`);
  expect(still.rows[0].n).toBe(2);
}, 60_000);

it('a bad rateLimit is a validation error naming the field, and writes nothing', async () => {
  const count = async () => (await db.pool.query(`select count(*)::int as n from job`)).rows[0].n as number;
  const before = await count();
  const good = { jobType: 'system.noop', queueName: 'refused', rateLimit: { key: 'k', maxStarts: 1, intervalMs: 1000 } };
  expect(await createJobs(alice, [good, { ...good, rateLimit: { key: 'k', maxStarts: 0, intervalMs: 1000 } }])).toEqual({
    __typename: 'ValidationError',
    field: 'jobs.1.rateLimit.maxStarts',
    message: 'jobs.1.rateLimit.maxStarts: must be at least 1',
  });
  expect(await createJobs(alice, [{ ...good, rateLimit: { key: '', maxStarts: 1, intervalMs: 1000 } }])).toMatchObject({
    __typename: 'ValidationError',
    field: 'jobs.0.rateLimit.key',
  });
  expect(await createJobs(alice, [{ ...good, rateLimit: { key: 'k', maxStarts: 1, intervalMs: 0 } }])).toMatchObject({
    __typename: 'ValidationError',
    field: 'jobs.0.rateLimit.intervalMs',
  });
  // A missing key is refused by the schema (key: String!).
  await expect(createJobs(alice, [{ ...good, rateLimit: { maxStarts: 1, intervalMs: 1000 } }])).rejects.toThrow(/rateLimit.*key.*of required type/);
  expect(await count()).toBe(before);
});
