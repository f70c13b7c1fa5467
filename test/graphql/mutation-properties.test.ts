// Property-based: whatever a client sends to a mutation, the answer is never
// an HTTP 500 or "Unexpected error.", and an error answer changes nothing.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/service-schema.ts';
import { SAMPLE_BUDGET_ID } from '../../src/budgets/sample-provider.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { DEFAULT_TENANT } from '../../src/auth/principal.ts';
import { setTenantQuota } from '../../src/jobs/tenant-quotas.ts';

let db: TestDatabase;
let service: TestApp;
let scheduleIds: string[] = [];

async function rowCounts(): Promise<string> {
  const result = await db.pool.query(
    `select (select count(*) from job) as jobs, (select count(*) from job_step) as steps, (select count(*) from job_event) as events,
            (select count(*) from graphile_worker.jobs) as queue, (select count(*) from import_job) as imports,
            (select count(*) from collection_job) as collections, (select count(*) from budget_job) as budget_jobs,
            (select string_agg(id::text || status, ',' order by id) from category_suggestion) as suggestions, (select count(*) from portfolio_import_job) as portfolios,
            (select string_agg(id::text || cron || timezone || paused || missed_tick_policy || missed_tick_limit, ',' order by id) from schedule) as schedules,
            (select string_agg(queue_name, ',' order by queue_name) from paused_queue) as paused,
            (select string_agg(queue_name || max_starts || '/' || interval_ms, ',' order by queue_name) from queue_rate_limit) as rate_limits,
            (select string_agg(tenant_id || provider || credential_id, ',' order by tenant_id, provider) from provider_connection) as connections,
            (select string_agg(job_id::text || reason, ',' order by job_id) from job_wait) as waits,
            (select string_agg(id::text || url || statuses::text || cursor_id, ',' order by id) from webhook_subscription) as webhook_subscriptions,
            (select string_agg(id::text || status || retry_count || coalesce(cancel_requested_at::text, ''), ',' order by id) from job) as states`,
  );
  return JSON.stringify(result.rows[0]);
}

beforeAll(async () => {
  db = await createTestDatabase();
  // API only: created jobs stay queued, so the only changes are the mutation's own.
  service = await startTestApp(db.url, {
    roles: { api: true, worker: false },
    env: { MUTATION_RATE_LIMIT_PER_MINUTE: '0', CONNECTIONS_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
  });
  // Some jobs for cancel, retry and delete to act on.
  for (const jobType of ['system.noop', 'system.sleep']) {
    await service.client.send(`mutation { createJob(input: { jobType: "${jobType}" }) { __typename } }`);
  }
  // And schedules for update, pause, resume and delete.
  for (const cron of ['0 9 * * 1-5', '0 0 1 1 *']) {
    await service.client.send(`mutation { createSchedule(input: { cron: "${cron}", jobTemplate: { jobType: "system.noop" } }) { __typename } }`);
  }
  scheduleIds = (await db.pool.query<{ id: string }>('select id from schedule')).rows.map((row) => row.id);
  // The caller's tenant has limits (docs/quotas.md): the two jobs above fill its
  // maxQueuedJobs, so a valid create is refused (TenantQuotaExceededError) until
  // a cancel frees a place; a refusal is an error answer, and changes nothing too.
  await setTenantQuota(db.pool, DEFAULT_TENANT, { maxQueuedJobs: 2, maxSchedules: 4, minCronIntervalSeconds: 60, minPriority: -500, maxPriority: 500 });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

const existingIds = async () => (await db.pool.query<{ id: string }>('select id from job')).rows.map((row) => row.id);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof(arbitrary, anyJson, fc.constant(null));
const idLike = (ids: string[]) => fc.oneof(fc.constantFrom(...ids), fc.uuid(), fc.string(), fc.integer(), fc.constant(Buffer.from('PlainJob:x').toString('base64')));
const isoDate = fc.date({ noInvalidDate: true }).map((date) => date.toISOString());

const scheduleIdLike = () => fc.oneof(fc.constantFrom(...scheduleIds), fc.uuid(), fc.string(), fc.integer());
const queueName = maybe(fc.oneof(fc.constantFrom('default', 'emails'), fc.string()));
const scheduleInput = (ids: string[]) =>
  fc.oneof(
    anyJson,
    fc.record(
      {
        cron: maybe(fc.oneof(fc.constantFrom('* * * * *', '*/5 * * * * *', '0 9 * * 1-5', 'every day', ''), fc.string())),
        timezone: maybe(fc.oneof(fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Olympus'), fc.string())),
        jobTemplate: maybe(
          fc.record(
            {
              jobType: maybe(fc.constantFrom('system.noop', 'collection.collect', 'nope')),
              parentJobId: maybe(idLike(ids)),
              dependsOn: maybe(fc.array(idLike(ids), { maxLength: 3 })),
              idempotencyKey: maybe(fc.string()),
            },
            { requiredKeys: [] },
          ),
        ),
        missedTickPolicy: maybe(fc.constantFrom('SKIP', 'RUN_ONCE', 'RUN_EACH', 'NEVER')),
        missedTickLimit: maybe(fc.integer({ min: -10, max: 2000 })),
      },
      { requiredKeys: [] },
    ),
  );
const scheduleById = (name: string) => ({
  document: `mutation($id: ID!) { ${name}(id: $id) { __typename ... on Error { message } } }`,
  variables: () => fc.record({ id: scheduleIdLike() }),
});
const byQueueName = (name: string) => ({
  document: `mutation($queueName: String!) { ${name}(queueName: $queueName) { __typename ... on Error { message } } }`,
  variables: () => fc.record({ queueName }),
});

const budgetId = maybe(fc.oneof(fc.constantFrom(SAMPLE_BUDGET_ID, 'no-such-budget', '', 'x'.repeat(201)), fc.string()));
const suggestionIds = maybe(fc.array(fc.oneof(fc.uuid(), fc.string(), fc.integer()), { maxLength: 3 }));
const budgetJob = (name: string, input: string, fields: Record<string, fc.Arbitrary<unknown>> = {}) => ({
  document: `mutation($input: ${input}!) { ${name}(input: $input) { __typename ... on Error { message } } }`,
  variables: () =>
    fc.record({
      input: fc.oneof(
        anyJson,
        fc.record(
          { budgetId, priority: maybe(fc.integer({ min: -3000, max: 3000 })), maxRetries: maybe(fc.integer({ min: -10, max: 200 })), idempotencyKey: maybe(fc.string()), ...fields },
          { requiredKeys: [] },
        ),
      ),
    }),
});

/** A mutation, and arbitrary variables for it. */
const MUTATIONS: Record<string, { document: string; variables: (ids: string[]) => fc.Arbitrary<Record<string, unknown>> }> = {
  createBudgetSyncJob: budgetJob('createBudgetSyncJob', 'BudgetSyncJobInput', { fullResync: maybe(fc.boolean()) }),
  createSyncAndSuggestJob: budgetJob('createSyncAndSuggestJob', 'BudgetSyncJobInput', { fullResync: maybe(fc.boolean()) }),
  createSuggestionsGenerateJob: budgetJob('createSuggestionsGenerateJob', 'BudgetJobInput'),
  createSuggestionsRetryPayeeJob: budgetJob('createSuggestionsRetryPayeeJob', 'SuggestionsRetryPayeeJobInput', { payeeId: maybe(fc.string()) }),
  createSuggestionsApplyJob: budgetJob('createSuggestionsApplyJob', 'SuggestionsApplyJobInput', { suggestionIds }),
  createSnapshotCreateJob: budgetJob('createSnapshotCreateJob', 'BudgetJobInput'),
  createSnapshotRedownloadJob: budgetJob('createSnapshotRedownloadJob', 'SnapshotRedownloadJobInput', { snapshotId: maybe(fc.oneof(fc.uuid(), fc.string())) }),
  acceptSuggestions: budgetJob('acceptSuggestions', 'AnswerSuggestionsInput', { suggestionIds }),
  rejectSuggestions: budgetJob('rejectSuggestions', 'AnswerSuggestionsInput', { suggestionIds }),
  createBudgetSchedule: budgetJob('createBudgetSchedule', 'CreateBudgetScheduleInput', {
    cron: maybe(fc.oneof(fc.constantFrom('0 6 * * *', 'every day', ''), fc.string())),
    timezone: maybe(fc.oneof(fc.constantFrom('UTC', 'Mars/Olympus'), fc.string())),
  }),
  createJob: {
    document: 'mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on Error { message } } }',
    variables: (ids) =>
      fc.record({
        input: fc.oneof(
          anyJson,
          fc.record(
            {
              jobType: maybe(fc.constantFrom('system.noop', 'system.sleep', 'webhook.send', 'collection.collect', '')),
              payload: maybe(fc.record({ ms: fc.integer(), url: fc.webUrl() }, { requiredKeys: [] })),
              queueName: maybe(fc.string()),
              priority: maybe(fc.integer({ min: -3000, max: 3000 })),
              maxRetries: maybe(fc.integer({ min: -10, max: 200 })),
              scheduledAt: maybe(fc.oneof(isoDate, fc.string())),
              parentJobId: maybe(idLike(ids)),
              metadata: anyJson,
            },
            { requiredKeys: [] },
          ),
        ),
      }),
  },
  createJobs: {
    document: 'mutation($jobs: [CreateJobInput!]!) { createJobs(jobs: $jobs) { __typename ... on Error { message } } }',
    variables: () =>
      fc.record({ jobs: fc.oneof(anyJson, fc.array(fc.record({ jobType: maybe(fc.constantFrom('system.noop', 'nope')), priority: maybe(fc.integer()) }, { requiredKeys: [] }), { maxLength: 4 })) }),
  },
  createViewerToken: {
    document: 'mutation($input: CreateViewerTokenInput!) { createViewerToken(input: $input) { __typename ... on Error { message } } }',
    variables: (ids) =>
      fc.record({
        input: fc.oneof(
          anyJson,
          fc.record({ jobIds: maybe(fc.array(idLike(ids), { maxLength: 120 })), expiresInSeconds: maybe(fc.integer({ min: -10, max: 100_000 })) }, { requiredKeys: [] }),
        ),
      }),
  },
  cancelJob: {
    document: 'mutation($id: ID!) { cancelJob(id: $id) { __typename ... on Error { message } } }',
    variables: (ids) => fc.record({ id: idLike(ids) }),
  },
  retryJob: {
    document: 'mutation($id: ID!) { retryJob(id: $id) { __typename ... on Error { message } } }',
    variables: (ids) => fc.record({ id: idLike(ids) }),
  },
  rerunJob: {
    document: 'mutation($input: RerunJobInput!) { rerunJob(input: $input) { __typename ... on Error { message } } }',
    variables: (ids) =>
      fc.record({
        input: fc.oneof(anyJson, fc.record({ id: idLike(ids), fromStep: maybe(fc.oneof(fc.constant('fetch'), fc.string({ maxLength: 120 }))), payload: maybe(anyJson) }, { requiredKeys: [] })),
      }),
  },
  // Durable waits (no job waits here: a valid event or signal wakes nothing).
  sendEvent: {
    document: 'mutation($input: SendEventInput!) { sendEvent(input: $input) { __typename ... on Error { message } } }',
    variables: () =>
      fc.record({ input: fc.oneof(anyJson, fc.record({ name: maybe(fc.oneof(fc.constant('order.paid'), fc.string({ maxLength: 300 }))), data: maybe(anyJson) }, { requiredKeys: [] })) }),
  },
  signalJob: {
    document: 'mutation($input: SignalJobInput!) { signalJob(input: $input) { __typename ... on Error { message } } }',
    variables: (ids) =>
      fc.record({
        input: fc.oneof(anyJson, fc.record({ id: idLike(ids), name: maybe(fc.oneof(fc.constant('approve'), fc.string({ maxLength: 300 }))), data: maybe(anyJson) }, { requiredKeys: [] })),
      }),
  },
  deleteCollectionJob: {
    document: 'mutation($id: ID!) { deleteCollectionJob(id: $id) { __typename ... on Error { message } } }',
    variables: (ids) => fc.record({ id: idLike(ids) }),
  },
  createCollectionJob: {
    document: 'mutation($input: CreateCollectionJobInput!) { createCollectionJob(input: $input) { __typename ... on Error { message } } }',
    variables: () =>
      fc.record({
        input: fc.oneof(
          anyJson,
          fc.record(
            {
              symbols: maybe(fc.array(fc.oneof(fc.constantFrom('AAPL', 'MSFT'), fc.string()), { maxLength: 4 })),
              timeframe: maybe(fc.constantFrom('1d', '1h', 'x')),
              rangeFrom: maybe(fc.oneof(isoDate, fc.string())),
              rangeTo: maybe(fc.oneof(isoDate, fc.string())),
              provider: maybe(fc.constantFrom('csv-dir', 'http-csv', 'ftp')),
              maxRetries: maybe(fc.integer()),
              priority: maybe(fc.integer()),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
  },
  createPortfolioImportJob: {
    document: 'mutation($input: CreatePortfolioImportJobInput!) { createPortfolioImportJob(input: $input) { __typename ... on Error { message } } }',
    variables: () =>
      fc.record({
        input: fc.oneof(
          anyJson,
          fc.record(
            {
              portfolioId: maybe(fc.oneof(fc.uuid(), fc.string())),
              accountId: maybe(fc.oneof(fc.constant('U1234567'), fc.string())),
              interval: maybe(fc.record({ start: fc.oneof(fc.constant('2024-01-01'), fc.string()), end: fc.oneof(fc.constant('2024-02-01'), fc.string()) })),
              source: maybe(fc.constantFrom('IBKR', 'OTHER')),
              priority: maybe(fc.integer()),
              maxRetries: maybe(fc.integer()),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
  },
  // Last: a bulk action that succeeds changes the jobs the others act on.
  ...Object.fromEntries(
    (['cancelJobs', 'retryJobs'] as const).map((name) => [
      name,
      {
        document: `mutation($filter: JobFilter!, $limit: Int) { ${name}(filter: $filter, limit: $limit) { __typename ... on Error { message } } }`,
        variables: () =>
          fc.record(
            {
              filter: fc.oneof(
                anyJson,
                fc.record(
                  {
                    statuses: maybe(fc.array(fc.constantFrom('PENDING', 'RUNNING', 'FAILED', 'CANCELLED', 'COMPLETED', 'DONE'), { maxLength: 3 })),
                    kinds: maybe(fc.array(fc.constantFrom('PLAIN', 'COLLECTION', 'OTHER'), { maxLength: 2 })),
                    queueNames: maybe(fc.array(fc.oneof(fc.constant('default'), fc.string()), { maxLength: 2 })),
                    jobTypes: maybe(fc.array(fc.oneof(fc.constant('system.noop'), fc.string()), { maxLength: 2 })),
                    createdAfter: maybe(fc.oneof(isoDate, fc.string())),
                    createdBefore: maybe(fc.oneof(isoDate, fc.string())),
                  },
                  { requiredKeys: [] },
                ),
              ),
              limit: maybe(fc.integer()),
            },
            { requiredKeys: ['filter'] },
          ),
      },
    ]),
  ),
  createImportJob: {
    // Its file travels as a multipart upload; sent as JSON, every input is refused.
    document: 'mutation($input: CreateImportJobInput!) { createImportJob(input: $input) { __typename ... on Error { message } } }',
    variables: () => fc.record({ input: fc.oneof(anyJson, fc.record({ file: anyJson, sourceType: maybe(fc.constantFrom('CSV', 'JSON', 'TEXT')) }, { requiredKeys: [] })) }),
  },
  createSchedule: {
    document: 'mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { __typename ... on Error { message } } }',
    variables: (ids) => fc.record({ input: scheduleInput(ids) }),
  },
  updateSchedule: {
    document: 'mutation($id: ID!, $input: UpdateScheduleInput!) { updateSchedule(id: $id, input: $input) { __typename ... on Error { message } } }',
    variables: (ids) => fc.record({ id: scheduleIdLike(), input: scheduleInput(ids) }),
  },
  pauseSchedule: scheduleById('pauseSchedule'),
  resumeSchedule: scheduleById('resumeSchedule'),
  deleteSchedule: scheduleById('deleteSchedule'),
  saveProviderConnection: {
    document: 'mutation($provider: ConnectionProvider!, $token: Secret!, $queryId: String) { saveProviderConnection(provider: $provider, token: $token, queryId: $queryId) { __typename ... on Error { message } } }',
    variables: () =>
      fc.record(
        {
          provider: maybe(fc.constantFrom('YNAB', 'IBKR_FLEX', 'MINT')),
          token: maybe(fc.oneof(fc.constant('a-token-of-the-test-0123456789'), fc.string({ maxLength: 600 }))),
          queryId: maybe(fc.oneof(fc.constant('4242'), fc.string())),
        },
        { requiredKeys: [] },
      ),
  },
  deleteProviderConnection: {
    document: 'mutation($provider: ConnectionProvider!) { deleteProviderConnection(provider: $provider) { __typename ... on Error { message } } }',
    variables: () => fc.record({ provider: maybe(fc.constantFrom('YNAB', 'IBKR_FLEX', 'MINT')) }, { requiredKeys: [] }),
  },
  createWebhookSubscription: {
    document: 'mutation($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) { __typename ... on Error { message } } }',
    variables: () =>
      fc.record({
        input: fc.oneof(
          anyJson,
          fc.record(
            {
              url: maybe(fc.oneof(fc.constantFrom('https://93.184.215.14/hook', 'http://127.0.0.1:9/x', 'http://10.0.0.1/', 'ftp://93.184.215.14/', 'not a url', ''), fc.string())),
              statuses: maybe(fc.array(fc.constantFrom('FAILED', 'DEAD_LETTER', 'COMPLETED', 'NOPE'), { maxLength: 4 })),
              queueNames: maybe(fc.array(fc.oneof(fc.constantFrom('default', ''), fc.string()), { maxLength: 3 })),
              jobTypes: maybe(fc.array(fc.oneof(fc.constantFrom('system.noop', ''), fc.string()), { maxLength: 3 })),
            },
            { requiredKeys: [] },
          ),
        ),
      }),
  },
  deleteWebhookSubscription: {
    document: 'mutation($id: ID!) { deleteWebhookSubscription(id: $id) { __typename ... on Error { message } } }',
    variables: () => fc.record({ id: fc.oneof(fc.uuid(), fc.string(), fc.integer(), fc.constant(null)) }),
  },
  pauseQueue: byQueueName('pauseQueue'),
  resumeQueue: byQueueName('resumeQueue'),
  clearQueueRateLimit: byQueueName('clearQueueRateLimit'),
  setQueueRateLimit: {
    document:
      'mutation($queueName: String!, $maxStarts: Int!, $intervalMs: Int!) { setQueueRateLimit(queueName: $queueName, maxStarts: $maxStarts, intervalMs: $intervalMs) { __typename ... on Error { message } } }',
    variables: () => fc.record({ queueName, maxStarts: maybe(fc.integer({ min: -10, max: 200_000 })), intervalMs: maybe(fc.integer({ min: -10, max: 100_000_000 })) }),
  },
};

describe('every mutation, with arbitrary input', () => {
  it('covers every mutation of the schema', () => {
    expect(Object.keys(MUTATIONS).sort()).toEqual(Object.keys(schema.getMutationType()!.getFields()).sort());
  });

  for (const [name, mutation] of Object.entries(MUTATIONS)) {
    it(`${name}: never HTTP 500, never "Unexpected error.", and an error answer changes nothing`, async () => {
      const ids = await existingIds();
      await fc.assert(
        fc.asyncProperty(mutation.variables(ids), async (variables) => {
          const before = await rowCounts();
          const { status, body } = await service.client.send(mutation.document, variables);
          expect(status).toBeLessThan(500);
          expect(JSON.stringify(body)).not.toContain('Unexpected error.');
          const answer = (body.data as Record<string, { __typename: string }> | null | undefined)?.[name];
          const failed = Boolean(body.errors?.length) || !answer || !answer.__typename.endsWith('Success');
          if (failed) expect(await rowCounts()).toBe(before);
        }),
        { numRuns: 40 },
      );
    });
  }

  // The random runs above meet the tenant's limits only now and then (cancels free places): once for sure.
  it("a valid create over the tenant's limits answers TenantQuotaExceededError and changes nothing", async () => {
    await setTenantQuota(db.pool, DEFAULT_TENANT, { maxQueuedJobs: 0, maxSchedules: 4, minCronIntervalSeconds: 60, minPriority: -500, maxPriority: 500 });
    const before = await rowCounts();
    const { body } = await service.client.send('mutation { createJob(input: { jobType: "system.noop" }) { __typename ... on TenantQuotaExceededError { limit } } }');
    expect(body.data).toEqual({ createJob: { __typename: 'TenantQuotaExceededError', limit: 'maxQueuedJobs' } });
    expect(await rowCounts()).toBe(before);
  });
});
