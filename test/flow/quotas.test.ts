// Per-tenant limits (docs/quotas.md): each refuses with TenantQuotaExceededError
// naming the limit and changes nothing (no job, no event, no queue entry, no
// schedule); another tenant is unaffected; the queued-jobs limit holds for
// batches, retries, add_job in an app's transaction, and concurrent creates
// through two API processes.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { retryOnDeadlock } from '../../src/db/retry.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { SAMPLE_BUDGET_ID } from '../../src/budgets/sample-provider.ts';
import { TenantQuotaExceededError } from '../../src/core/errors.ts';
import { addJob } from '../../src/sdk/index.ts';
import { clearTenantQuota, setTenantQuota, shortestCronIntervalSeconds } from '../../src/jobs/tenant-quotas.ts';
import { parseCron, Scheduler } from '../../src/jobs/schedules.ts';
import { loadConfig } from '../../src/service-config.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { spawnApi, startTestApp, GraphQLTestClient, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let service: TestApp;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;
let aliceKey: string;

beforeAll(async () => {
  db = await createTestDatabase();
  // API only: jobs stay queued, so the counts below are the creates' own.
  service = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0', MUTATION_RATE_LIMIT_PER_MINUTE: '0' } });
  const key = async (tenantId: string) => (await createApiKey(db.pool, { name: tenantId, tenantId, scopes: ['jobs:read', 'jobs:write'] })).key;
  aliceKey = await key('tenant-a');
  alice = service.client.as(aliceKey);
  bob = service.client.as(await key('tenant-b'));
});

afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

beforeEach(async () => {
  // Each test starts with no jobs, no schedules and no limits.
  // The app's background work (the webhook dispatcher, schedules) may hold some of these tables: a deadlock is run again.
  await retryOnDeadlock(() => db.pool.query('truncate job, schedule, tenant_quota cascade'));
  await db.pool.query('delete from graphile_worker._private_jobs');
});

/** What a refused operation must leave as it was. */
async function snapshot() {
  const { rows } = await db.pool.query(
    `select (select count(*) from job) as jobs, (select count(*) from job_event) as events, (select count(*) from graphile_worker._private_jobs) as entries,
            (select count(*) from schedule) as schedules, (select string_agg(id::text || status || retry_count, ',' order by id) from job) as states,
            (select string_agg(id::text || cron, ',' order by id) from schedule) as crons`,
  );
  return rows[0];
}

const QUOTA_ERROR = `... on TenantQuotaExceededError { code limit value current requested message }`;
const CREATE_JOB = `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on MutationCreateJobSuccess { data { id } } ${QUOTA_ERROR} } }`;
const CREATE_JOBS = `mutation($jobs: [CreateJobInput!]!) { createJobs(jobs: $jobs) { __typename ... on MutationCreateJobsSuccess { data { id } } ${QUOTA_ERROR} } }`;
const CREATE_SCHEDULE = `mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { __typename ... on MutationCreateScheduleSuccess { data { id } } ${QUOTA_ERROR} ... on Error { message } } }`;

async function answer(client: GraphQLTestClient, document: string, variables: Record<string, unknown>, field: string) {
  const { body } = await client.send(document, variables);
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return (body.data as any)[field];
}

const createJob = (client: GraphQLTestClient, input: Record<string, unknown> = {}) => answer(client, CREATE_JOB, { input: { jobType: 'system.noop', ...input } }, 'createJob');
const createJobs = (client: GraphQLTestClient, count: number) =>
  answer(client, CREATE_JOBS, { jobs: Array.from({ length: count }, () => ({ jobType: 'system.noop' })) }, 'createJobs');
const createSchedule = (client: GraphQLTestClient, cron: string, template: Record<string, unknown> = {}) =>
  answer(client, CREATE_SCHEDULE, { input: { cron, jobTemplate: { jobType: 'system.noop', ...template } } }, 'createSchedule');

describe('maxQueuedJobs', () => {
  it('refuses the create past the limit with the typed error naming it, and changes nothing; another tenant is unaffected', async () => {
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 3 });
    for (let index = 0; index < 3; index++) expect((await createJob(alice)).__typename).toBe('MutationCreateJobSuccess');
    const before = await snapshot();
    const refused = await createJob(alice);
    expect(refused).toEqual({
      __typename: 'TenantQuotaExceededError',
      code: 'TENANT_QUOTA_EXCEEDED',
      limit: 'maxQueuedJobs',
      value: 3,
      current: 3,
      requested: 1,
      message: 'tenant quota exceeded: maxQueuedJobs is 3 and the tenant has 3 queued jobs; this would add 1',
    });
    // The create that needs a transaction (an idempotency key) is refused alike.
    expect(await createJob(alice, { idempotencyKey: 'k1' })).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'maxQueuedJobs' });
    expect(await db.pool.query('select count(*)::int as n from job_idempotency_key').then((r) => r.rows[0].n)).toBe(0);
    expect(await snapshot()).toEqual(before);

    // Tenant B has no limit.
    for (let index = 0; index < 5; index++) expect((await createJob(bob)).__typename).toBe('MutationCreateJobSuccess');
    // A job that ends frees its place.
    await db.pool.query(`update job set status = 'CANCELLED', cancelled_at = now() where id = (select id from job where tenant_id = 'tenant-a' limit 1)`);
    expect((await createJob(alice)).__typename).toBe('MutationCreateJobSuccess');
  });

  it("a kind's create (createCollectionJob) is refused alike, writing no job and no kind row", async () => {
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 0 });
    const before = await snapshot();
    const refused = await answer(
      alice,
      `mutation { createCollectionJob(input: { symbols: ["AAPL"], timeframe: "1d", rangeFrom: "2024-01-01T00:00:00Z", rangeTo: "2024-01-02T00:00:00Z", provider: "csv-dir" }) { __typename ${QUOTA_ERROR} ... on Error { message } } }`,
      {},
      'createCollectionJob',
    );
    expect(refused).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'maxQueuedJobs', value: 0, current: 0, requested: 1 });
    expect(await snapshot()).toEqual(before);
    expect(Number((await db.pool.query('select count(*) from collection_job')).rows[0].count)).toBe(0);
  });

  it('createJobs is all or nothing against the limit', async () => {
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 5 });
    expect((await createJobs(alice, 3)).__typename).toBe('MutationCreateJobsSuccess');
    const before = await snapshot();
    expect(await createJobs(alice, 3)).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'maxQueuedJobs', value: 5, current: 3, requested: 3 });
    expect(await snapshot()).toEqual(before);
    expect((await createJobs(alice, 2)).__typename).toBe('MutationCreateJobsSuccess');
  });

  it('a retry (retryJob, and each job of retryJobs) counts as a create: refused past the limit, changing nothing', async () => {
    const created = await createJobs(alice, 3);
    const ids: string[] = created.data.map((job: { id: string }) => job.id);
    for (const id of ids) await alice.send(`mutation($id: ID!) { cancelJob(id: $id) { __typename } }`, { id });
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 1 });
    expect((await createJob(alice)).__typename).toBe('MutationCreateJobSuccess');
    const before = await snapshot();
    const retried = await answer(alice, `mutation($id: ID!) { retryJob(id: $id) { __typename ${QUOTA_ERROR} } }`, { id: ids[0] }, 'retryJob');
    expect(retried).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'maxQueuedJobs', value: 1, current: 1, requested: 1 });
    const bulk = await answer(
      alice,
      `mutation { retryJobs(filter: { statuses: [CANCELLED] }) { __typename ... on MutationRetryJobsSuccess { data { affectedCount skipped { jobId message } } } } }`,
      {},
      'retryJobs',
    );
    expect(bulk.data.affectedCount).toBe(0);
    expect(bulk.data.skipped.map((skip: { message: string }) => skip.message)).toEqual(ids.map(() => 'tenant quota exceeded: maxQueuedJobs is 1 and the tenant has 1 queued jobs; this would add 1'));
    expect(await snapshot()).toEqual(before);
    // Room for one: the first of the bulk retry goes through, the others are refused.
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 2 });
    const partly = await answer(alice, `mutation { retryJobs(filter: { statuses: [CANCELLED] }) { ... on MutationRetryJobsSuccess { data { affectedCount skipped { jobId } } } } }`, {}, 'retryJobs');
    expect(partly.data).toMatchObject({ affectedCount: 1 });
    expect(partly.data.skipped).toHaveLength(2);
  });

  it('rerunJob queues a finished job again: refused past the limit, changing nothing', async () => {
    const collect = await answer(
      alice,
      `mutation { createCollectionJob(input: { symbols: ["AAPL"], timeframe: "1d", rangeFrom: "2024-01-01T00:00:00Z", rangeTo: "2024-01-02T00:00:00Z", provider: "csv-dir" }) { __typename ... on MutationCreateCollectionJobSuccess { data { id } } } }`,
      {},
      'createCollectionJob',
    );
    // Run and finished as a worker would have (this file runs none): a step "fetch", then COMPLETED.
    await db.pool.query(`insert into job_step (job_id, name, position) select id, 'fetch', 0 from job where kind = 'COLLECTION'`);
    await db.pool.query(`update job set status = 'COMPLETED', started_at = now(), completed_at = now() where kind = 'COLLECTION'`);
    expect((await createJob(alice)).__typename).toBe('MutationCreateJobSuccess');
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 1 });
    const before = await snapshot();
    const rerun = await answer(
      alice,
      `mutation($id: ID!) { rerunJob(input: { id: $id, fromStep: "fetch" }) { __typename ${QUOTA_ERROR} ... on Error { message } } }`,
      { id: collect.data.id },
      'rerunJob',
    );
    expect(rerun).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'maxQueuedJobs', value: 1, current: 1, requested: 1 });
    expect(await snapshot()).toEqual(before);
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 2 });
    expect((await answer(alice, `mutation($id: ID!) { rerunJob(input: { id: $id, fromStep: "fetch" }) { __typename } }`, { id: collect.data.id }, 'rerunJob')).__typename).toBe('MutationRerunJobSuccess');
  });

  it('add_job in an app transaction (and the sdk addJob) is refused with TenantQuotaExceededError; the transaction wrote nothing', async () => {
    // An app's job type, as its worker registers it (this file runs no worker).
    await db.pool.query(`insert into job_type (name, kind, payload_schema) values ('app.ship', 'PLAIN', '{"type": "object"}') on conflict do nothing`);
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 1 });
    await addJob(db.pool, 'app.ship', {}, { tenantId: 'tenant-a' });
    const before = await snapshot();
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query(`create temporary table app_order (id int)`);
      await client.query(`insert into app_order values (1)`);
      const refused = await addJob(client, 'app.ship', {}, { tenantId: 'tenant-a' }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(TenantQuotaExceededError);
      expect(refused).toMatchObject({ limit: 'maxQueuedJobs', value: 1, current: 1, requested: 1, extensions: { code: 'TENANT_QUOTA_EXCEEDED', limit: 'maxQueuedJobs' } });
      await client.query('rollback');
    } finally {
      client.release();
    }
    expect(await snapshot()).toEqual(before);
    // Another tenant's add_job is not limited.
    await addJob(db.pool, 'app.ship', {}, { tenantId: 'tenant-b' });
  });

  it('two API processes creating at once never go past the limit', async () => {
    const limit = 25;
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: limit });
    const other = await spawnApi(db.url, { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0', MUTATION_RATE_LIMIT_PER_MINUTE: '0' });
    const clients = [alice, new GraphQLTestClient(other.url, aliceKey)];
    const answers = await Promise.all(Array.from({ length: 80 }, (_unused, index) => createJob(clients[index % 2]!)));
    const typenames = answers.map((one) => one.__typename);
    expect(typenames.filter((name) => name === 'MutationCreateJobSuccess')).toHaveLength(limit);
    expect(typenames.filter((name) => name === 'TenantQuotaExceededError')).toHaveLength(80 - limit);
    expect(Number((await db.pool.query(`select count(*) from job where tenant_id = 'tenant-a'`)).rows[0].count)).toBe(limit);
  }, 60_000);
});

describe('priority range', () => {
  it('refuses a priority outside [minPriority, maxPriority], naming the bound; another tenant is unaffected', async () => {
    await setTenantQuota(db.pool, 'tenant-a', { minPriority: 0, maxPriority: 10 });
    const before = await snapshot();
    expect(await createJob(alice, { priority: 11 })).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'maxPriority', value: 10, current: 11 });
    expect(await createJob(alice, { priority: -1, idempotencyKey: 'p' })).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'minPriority', value: 0, current: -1 });
    expect(await snapshot()).toEqual(before);
    expect((await createJob(alice, { priority: 10 })).__typename).toBe('MutationCreateJobSuccess');
    expect((await createJob(bob, { priority: 500 })).__typename).toBe('MutationCreateJobSuccess');
    // A schedule whose jobs would be refused is refused when it is made.
    expect(await createSchedule(alice, '0 * * * *', { priority: 50 })).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'maxPriority', current: 50 });
  });
});

describe('schedules', () => {
  it('maxSchedules refuses the schedule past it, changing nothing; another tenant is unaffected', async () => {
    await setTenantQuota(db.pool, 'tenant-a', { maxSchedules: 1 });
    expect((await createSchedule(alice, '0 * * * *')).__typename).toBe('MutationCreateScheduleSuccess');
    const before = await snapshot();
    expect(await createSchedule(alice, '0 9 * * *')).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'maxSchedules', value: 1, current: 1, requested: 1 });
    expect(await snapshot()).toEqual(before);
    expect((await createSchedule(bob, '0 9 * * *')).__typename).toBe('MutationCreateScheduleSuccess');
  });

  it('minCronIntervalSeconds refuses a cron that runs more often, through createSchedule, updateSchedule and createBudgetSchedule', async () => {
    await setTenantQuota(db.pool, 'tenant-a', { minCronIntervalSeconds: 3600 });
    const before = await snapshot();
    expect(await createSchedule(alice, '* * * * * *')).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'minCronIntervalSeconds', value: 3600, current: 1 });
    expect(await createSchedule(alice, '*/30 * * * *')).toMatchObject({ limit: 'minCronIntervalSeconds', current: 1800 });
    // Twice a day, 23:00 and 00:00: an hour apart across midnight, not 23 hours.
    expect(await createSchedule(alice, '0 0,23 * * *')).toMatchObject({ __typename: 'MutationCreateScheduleSuccess' });
    expect(await createSchedule(alice, '30 0,23 * * *')).toMatchObject({ __typename: 'MutationCreateScheduleSuccess' });
    expect(await createSchedule(alice, '0 0,22,23 * * *')).toMatchObject({ __typename: 'MutationCreateScheduleSuccess' });
    const budget = await answer(
      alice,
      `mutation($input: CreateBudgetScheduleInput!) { createBudgetSchedule(input: $input) { __typename ${QUOTA_ERROR} ... on Error { message } } }`,
      { input: { budgetId: SAMPLE_BUDGET_ID, cron: '*/5 * * * *' } },
      'createBudgetSchedule',
    );
    expect(budget).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'minCronIntervalSeconds', current: 300 });
    await db.pool.query(`delete from schedule`);
    expect(await snapshot()).toEqual(before);

    const hourly = await createSchedule(alice, '0 * * * *');
    expect(hourly.__typename).toBe('MutationCreateScheduleSuccess');
    const updated = await answer(
      alice,
      `mutation($id: ID!) { updateSchedule(id: $id, input: { cron: "*/5 * * * *" }) { __typename ${QUOTA_ERROR} } }`,
      { id: hourly.data.id },
      'updateSchedule',
    );
    expect(updated).toMatchObject({ __typename: 'TenantQuotaExceededError', limit: 'minCronIntervalSeconds', current: 300 });
    expect((await db.pool.query('select cron from schedule')).rows).toEqual([{ cron: '0 * * * *' }]);
    // Tenant B has no limit.
    expect((await createSchedule(bob, '* * * * * *')).__typename).toBe('MutationCreateScheduleSuccess');
  });

  it("a tick whose job the tenant's maxQueuedJobs refuses is recorded without a job; another tenant's tick makes its job", async () => {
    const aliceSchedule = await createSchedule(alice, '* * * * * *');
    const bobSchedule = await createSchedule(bob, '* * * * * *');
    expect((await createJob(alice)).__typename).toBe('MutationCreateJobSuccess');
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 1 });
    const due = (await db.pool.query<{ at: Date }>('select max(next_run_at) as at from schedule')).rows[0]!.at;
    const config = loadConfig({ DATABASE_URL: db.url });
    const logged: string[] = [];
    const logger = createLogger('warn', { write: (line) => logged.push(line) });
    const scheduler = new Scheduler({ pool: db.pool, registry: createTestRegistry(), config, logger, clock: () => due });
    expect(await scheduler.runDue()).toBe(1);
    // The refusal is logged typed, naming the limit and the tenant (the schedule's), not as a raw database error.
    const warnings = logged.map((line) => JSON.parse(line)).filter((line) => line.msg === 'a schedule tick could not create its job');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      scheduleId: aliceSchedule.data.id,
      tenantId: 'tenant-a',
      limit: 'maxQueuedJobs',
      limitValue: 1,
      err: { type: 'TenantQuotaExceededError', message: 'tenant quota exceeded: maxQueuedJobs is 1 and the tenant has 1 queued jobs; this would add 1' },
    });
    expect(logged.join('\n')).not.toContain('tenant-b');
    const ticks = await db.pool.query(`select schedule_id, job_id from schedule_tick order by schedule_id`);
    const tickOf = (id: string) => ticks.rows.find((tick) => tick.schedule_id === id);
    expect(tickOf(aliceSchedule.data.id)).toMatchObject({ job_id: null });
    expect(tickOf(bobSchedule.data.id)?.job_id).toEqual(expect.any(String));
    expect(Number((await db.pool.query(`select count(*) from job where tenant_id = 'tenant-a'`)).rows[0].count)).toBe(1);
  });

  it("the shortest interval looks across days and at the schedule's time zone", () => {
    const from = new Date('2026-03-01T00:00:00Z');
    expect(shortestCronIntervalSeconds(parseCron('0 0,23 * * *', 'UTC'), 0, from)).toBe(3600);
    expect(shortestCronIntervalSeconds(parseCron('0 9 * * 1-5', 'UTC'), 0, from)).toBe(86_400);
    // Berlin's clocks go forward on 29 March 2026: 01:30 and 03:30 local are an hour apart that night.
    expect(shortestCronIntervalSeconds(parseCron('30 1,3 * * *', 'Europe/Berlin'), 0, from)).toBe(3600);
    expect(shortestCronIntervalSeconds(parseCron('30 1,3 * * *', 'UTC'), 0, from)).toBe(7200);
  });
});

describe('tenantQuota', () => {
  it("answers the caller's own tenant's limits and usage; another tenant sees its own", async () => {
    await setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: 10, maxSchedules: 2, minCronIntervalSeconds: 60, minPriority: -5, maxPriority: 5 });
    await createJobs(alice, 2);
    await createSchedule(alice, '0 * * * *');
    const query = `{ tenantQuota { maxQueuedJobs queuedJobCount maxSchedules scheduleCount minCronIntervalSeconds minPriority maxPriority } }`;
    expect(await answer(alice, query, {}, 'tenantQuota')).toEqual({
      maxQueuedJobs: 10,
      queuedJobCount: 2,
      maxSchedules: 2,
      scheduleCount: 1,
      minCronIntervalSeconds: 60,
      minPriority: -5,
      maxPriority: 5,
    });
    expect(await answer(bob, query, {}, 'tenantQuota')).toEqual({
      maxQueuedJobs: null,
      queuedJobCount: 0,
      maxSchedules: null,
      scheduleCount: 0,
      minCronIntervalSeconds: null,
      minPriority: null,
      maxPriority: null,
    });
    await clearTenantQuota(db.pool, 'tenant-a');
    expect(await answer(alice, query, {}, 'tenantQuota')).toMatchObject({ maxQueuedJobs: null, queuedJobCount: 2 });
  });
});

describe('the database refuses bad limits', () => {
  it('a negative limit or minPriority above maxPriority is refused by its constraint', async () => {
    await expect(setTenantQuota(db.pool, 'tenant-a', { maxQueuedJobs: -1 })).rejects.toMatchObject({ constraint: 'tenant_quota_max_queued_jobs_not_negative' });
    await expect(setTenantQuota(db.pool, 'tenant-a', { minPriority: 5, maxPriority: 4 })).rejects.toMatchObject({ constraint: 'tenant_quota_priority_range' });
  });
});
