// The dashboard's fields with authentication on: bulk cancel and retry, their
// count, jobThroughput and queuesUpdated see the caller's tenant only; admin
// crosses tenants.
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { createJob } from '../support/jobs.ts';
import { JobEvents } from '../support/operations.ts';
import { BulkJobCount, CancelJobs, RetryJobs } from '../support/operations-bulk.ts';
import { JobThroughput, QueuesUpdated } from '../support/operations-dashboard.ts';

let db: TestDatabase;
let api: TestApp;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;
let admin: GraphQLTestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' } });
  const key = async (tenantId: string, scopes: Array<'jobs:read' | 'jobs:write' | 'admin'>) =>
    (await createApiKey(db.pool, { name: tenantId, tenantId, scopes })).key;
  alice = api.client.as(await key('tenant-a', ['jobs:read', 'jobs:write']));
  bob = api.client.as(await key('tenant-b', ['jobs:read', 'jobs:write']));
  admin = api.client.as(await key('ops', ['admin']));
});

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

async function scheduled(client: GraphQLTestClient, queueName: string, count: number) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(uuidOf((await createJob(client, { jobType: 'system.noop', queueName, scheduledAt: inAnHour() })).id));
  return ids;
}

/** Status and event statuses of a tenant's jobs, straight from the database. */
async function tenantJobs(tenantId: string) {
  const { rows } = await db.pool.query<{ id: string; status: string; events: string[] }>(
    `select job.id, job.status, array(select event.status::text from job_event as event where event.job_id = job.id order by event.id) as events
       from job where tenant_id = $1 order by created_at, id`,
    [tenantId],
  );
  return rows;
}

const count = async (client: GraphQLTestClient, action: 'CANCEL' | 'RETRY', filter: Record<string, unknown>) =>
  (await client.request(BulkJobCount, { action, filter })).bulkJobCount;

describe('bulk actions across tenants', () => {
  it("tenant A's bulk cancel (and its count) acts on A's jobs only; tenant B's stay as they were; admin counts both", async () => {
    const aIds = await scheduled(alice, 'shared-queue', 2);
    const bIds = await scheduled(bob, 'shared-queue', 3);
    const filter = { queueNames: ['shared-queue'] };

    expect(await count(alice, 'CANCEL', filter)).toMatchObject({ data: { count: 2, moreThanMax: false } });
    expect(await count(bob, 'CANCEL', filter)).toMatchObject({ data: { count: 3 } });
    expect(await count(admin, 'CANCEL', filter)).toMatchObject({ data: { count: 5 } });

    // No filter at all: still only the caller's tenant.
    const cancelled = await alice.request(CancelJobs, { filter: {} });
    expect(cancelled.cancelJobs).toEqual({
      __typename: 'MutationCancelJobsSuccess',
      data: { affectedCount: 2, affectedJobIds: aIds, moreMatching: false, skipped: [] },
    });
    expect(await tenantJobs('tenant-b')).toEqual(bIds.map((id) => ({ id, status: 'SCHEDULED', events: ['SCHEDULED'] })));
    expect(await tenantJobs('tenant-a')).toEqual(aIds.map((id) => ({ id, status: 'CANCELLED', events: ['SCHEDULED', 'CANCELLED'] })));

    // B's retry does not reach A's cancelled jobs, nor does its count.
    expect(await count(bob, 'RETRY', {})).toMatchObject({ data: { count: 0 } });
    expect(await count(admin, 'RETRY', {})).toMatchObject({ data: { count: 2 } });
    const retried = await bob.request(RetryJobs, { filter: {} });
    expect(retried.retryJobs).toMatchObject({ data: { affectedCount: 0, affectedJobIds: [], skipped: [] } });
    expect((await tenantJobs('tenant-a')).map((job) => job.status)).toEqual(['CANCELLED', 'CANCELLED']);

    // Admin acts on every tenant's jobs.
    const all = await admin.request(CancelJobs, { filter });
    expect(all.cancelJobs).toMatchObject({ data: { affectedCount: 3, affectedJobIds: bIds } });
  });
});

describe('jobThroughput and queuesUpdated across tenants', () => {
  it("count and show the caller's tenant's jobs only", async () => {
    const events = alice.subscribe(JobEvents, {});
    const { id } = await createJob(alice, { jobType: 'system.noop', queueName: 'alice-queue' });
    await events.waitFor("alice's job to complete", (received) =>
      received.some((event) => event.jobEvents.job?.id === id && event.jobEvents.status === 'COMPLETED'),
    );
    await scheduled(bob, 'bob-queue', 1);

    const completed = async (client: GraphQLTestClient) =>
      (await client.request(JobThroughput, { minutes: 5 })).jobThroughput.reduce((sum, minute) => sum + minute.completedCount + minute.failedCount, 0);
    expect(await completed(alice)).toBe(1);
    expect(await completed(bob)).toBe(0);
    expect(await completed(admin)).toBe(1);

    const queueNames = async (client: GraphQLTestClient) => {
      const updates = client.subscribe(QueuesUpdated, {});
      const [first] = await updates.waitFor('the first queue stats', (received) => received.length > 0);
      updates.close();
      return first!.queuesUpdated.map((queue) => queue.queueName);
    };
    // shared-queue holds both tenants' jobs from the test above.
    expect(await queueNames(alice)).toEqual(['alice-queue', 'shared-queue']);
    expect(await queueNames(bob)).toEqual(['bob-queue', 'shared-queue']);
    expect(await queueNames(admin)).toEqual(['alice-queue', 'bob-queue', 'shared-queue']);
  });
});
