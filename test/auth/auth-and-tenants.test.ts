// Authentication, scopes and tenants, table-driven over every root field:
// without a token, with an expired or wrongly signed one, without the scope,
// and with another tenant's ids, each field is refused or answers as for a
// missing id, and no table changes.
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { schema } from '../../src/service-schema.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { uploadImport } from '../support/imports.ts';
import { ACCOUNT, createImport, created, flexStatement } from '../support/portfolios.ts';
import { JobEvents, JobUpdated } from '../support/operations.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { encodeCursor } from '../../src/jobs/event-log.ts';
import { deferred, eventually } from '../support/wait.ts';
import { connectSocket } from '../support/websockets.ts';

const SECRET = 'test-secret-test-secret-test-secret-0123456789';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'jobwire-test';

let db: TestDatabase;
let service: TestApp;
const tokens: Record<string, string> = {};
/** Tenant A's ids, used by tenant B. */
const a = { jobId: '', collectionJobId: '', importJobId: '', portfolioImportJobId: '', portfolioId: randomUUID(), scheduleId: '', webhookSubscriptionId: '' };

async function jwt(claims: Record<string, unknown>, options: { expiresIn?: string | number; secret?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

/**
 * Every table's row count: the snapshot an answer must leave unchanged. Taken
 * once the worker has finished what earlier rows queued (a job it is still
 * completing would pass for this row's change): no job is active unless it
 * waits, with a reason or for a queue entry not yet due.
 */
async function rowCounts(): Promise<Record<string, number>> {
  await eventually('the jobs of earlier rows to settle', async () => {
    const { rows } = await db.pool.query<{ n: number }>(
      `select count(*)::int as n from job j
        where j.status in ('PENDING', 'RUNNING', 'RETRYING') and j.waiting_reason is null
          and not exists (select 1 from graphile_worker._private_jobs q where q.id = j.queue_entry_id and q.locked_at is null and q.run_at > now())`,
    );
    return rows[0]!.n === 0 ? true : undefined;
  });
  const tables = await db.pool.query<{ name: string }>(
    `select format('%I.%I', table_schema, table_name) as name from information_schema.tables
      where table_schema in ('public', 'graphile_worker') and table_type = 'BASE TABLE' order by 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables.rows) counts[name] = Number((await db.pool.query(`select count(*) from ${name}`)).rows[0].count);
  return counts;
}

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, {
    env: { AUTH_ENABLED: 'true', AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE, AUTH_API_KEY_CACHE_MS: '0', CONNECTIONS_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
  });
  const key = async (tenantId: string, scopes: Array<'jobs:read' | 'jobs:write' | 'admin'>) =>
    (await createApiKey(db.pool, { name: `${tenantId} ${scopes.join(' ')}`, tenantId, scopes })).key;
  tokens.aliceKey = await key('tenant-a', ['jobs:read', 'jobs:write']);
  tokens.bobKey = await key('tenant-b', ['jobs:read', 'jobs:write']);
  tokens.readOnly = await key('tenant-b', ['jobs:read']);
  tokens.writeOnly = await key('tenant-b', ['jobs:write']);
  tokens.admin = await key('ops', ['admin']);
  tokens.bobJwt = await jwt({ sub: 'bob@b', tenant: 'tenant-b', scope: 'jobs:read jobs:write' });
  tokens.expired = await jwt({ sub: 'bob@b', tenant: 'tenant-b', scope: 'jobs:read jobs:write' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 });
  tokens.wrongSignature = await jwt({ sub: 'bob@b', tenant: 'tenant-b', scope: 'jobs:read jobs:write' }, { secret: 'another-secret-another-secret-another-secret' });

  const alice = service.client.as(tokens.aliceKey);
  // Tagged, with metadata: the search row below must not find it for another tenant.
  const job = await alice.send(`mutation { createJob(input: { jobType: "system.noop", tags: ["customer:a"], metadata: { customer: "a" } }) { ... on MutationCreateJobSuccess { data { id } } ... on Error { message } } }`);
  a.jobId = (job.body.data as any).createJob.data.id;
  const collection = await alice.send(
    `mutation { createCollectionJob(input: { symbols: ["AAPL"], timeframe: "1d", rangeFrom: "2024-01-01T00:00:00Z", rangeTo: "2024-01-10T00:00:00Z", provider: "csv-dir" }) { ... on MutationCreateCollectionJobSuccess { data { id } } } }`,
  );
  a.collectionJobId = (collection.body.data as any).createCollectionJob.data.id;
  const imported = await uploadImport(alice, { name: 'pairs.csv', content: 'question,answer\nWhat is tenant A?,Its own pairs\n' });
  a.importJobId = (imported as any).data.id;
  const portfolio = created(await createImport(alice, { portfolioId: a.portfolioId, accountId: ACCOUNT, interval: { start: '2024-01-01', end: '2024-12-31' }, source: 'IBKR' }, flexStatement()));
  a.portfolioImportJobId = portfolio.id;
  // A schedule that does not tick during the test (once a year, at New Year).
  const schedule = await alice.send(`mutation { createSchedule(input: { cron: "0 0 1 1 *", jobTemplate: { jobType: "system.noop" } }) { ... on MutationCreateScheduleSuccess { data { id } } ... on Error { message } } }`);
  a.scheduleId = (schedule.body.data as any).createSchedule.data.id;
  // A webhook subscription to a queue no job uses: nothing is ever delivered to it during the test.
  const hook = await alice.send(
    `mutation { createWebhookSubscription(input: { url: "http://93.184.215.14/hook", statuses: [DEAD_LETTER], queueNames: ["no-such-queue"] }) { ... on MutationCreateWebhookSubscriptionSuccess { data { subscription { id } } } ... on Error { message } } }`,
  );
  a.webhookSubscriptionId = (hook.body.data as any).createWebhookSubscription.data.subscription.id;
  // A viewer token of tenant A's import job: every row below names another job, or no job (test/auth/viewer-tokens.test.ts reads its own).
  const minted = await alice.send(`mutation($id: ID!) { createViewerToken(input: { jobIds: [$id] }) { ... on MutationCreateViewerTokenSuccess { data { token } } ... on Error { message } } }`, { id: a.importJobId });
  tokens.viewer = (minted.body.data as any).createViewerToken.data.token;
  // Tag viewer tokens: tenant A's for a tag none of its jobs has, and tenant B's for the tag A's job has.
  const tagToken = async (client: GraphQLTestClient, tag: string) => {
    const { body } = await client.send(`mutation($tag: String!) { createViewerToken(input: { tag: $tag }) { ... on MutationCreateViewerTokenSuccess { data { token } } ... on Error { message } } }`, { tag });
    return (body.data as any).createViewerToken.data.token as string;
  };
  tokens.viewerOtherTag = await tagToken(alice, 'customer:none');
  tokens.viewerForeignTag = await tagToken(service.client.as(tokens.bobKey), 'customer:a');
  // Everything of tenant A has run, so its rows and imported records exist.
  const admin = service.client.as(tokens.admin);
  for (;;) {
    const { body } = await admin.send(`{ jobs(first: 10) { edges { node { status } } } }`);
    const statuses = (body.data as any).jobs.edges.map((edge: any) => edge.node.status);
    if (statuses.length === 4 && statuses.every((status: string) => ['COMPLETED', 'FAILED', 'DEAD_LETTER'].includes(status))) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

interface Row {
  field: string;
  /** The operation; `$id`-style variables are filled from `ids`. */
  document: string;
  variables: (ids: typeof a) => Record<string, unknown>;
  /** Needs jobs:write (mutations) or jobs:read. */
  write?: boolean;
  /** An operator action: needs admin (jobs:read and jobs:write are not enough). */
  admin?: boolean;
  /** A tenant's provider connections: needs connections:write (jobs:read and jobs:write are not enough). */
  connections?: boolean;
  /** A subscription a viewer token may use without naming a job (it then follows its own jobs): the viewer row names another job instead. */
  viewerDocument?: string;
}

const interval = { start: '2024-01-01', end: '2024-12-31' };
const ROWS: Row[] = [
  { field: 'job', document: 'query($id: ID!) { job(id: $id) { id status } }', variables: (ids) => ({ id: ids.jobId }) },
  // Job logs: a relation of the job, scoped as the job.
  { field: 'job', document: 'query($id: ID!) { job(id: $id) { logs(first: 5) { totalCount edges { node { sequence message } } } } }', variables: (ids) => ({ id: ids.jobId }) },
  { field: 'jobs', document: '{ jobs { totalCount edges { node { id } } } }', variables: () => ({}) },
  // Search (tags, containment, createdBy, error text): through SQL of its own (src/jobs/search.ts), tenant-scoped the same.
  {
    field: 'jobs',
    document: '{ jobs(filter: { tags: ["customer:a"], metadataContains: { customer: "a" }, payloadContains: {} }) { totalCount edges { node { id tags } } } }',
    variables: () => ({}),
  },
  { field: 'node', document: 'query($id: ID!) { node(id: $id) { id } }', variables: (ids) => ({ id: ids.jobId }) },
  { field: 'nodes', document: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: (ids) => ({ ids: [ids.jobId, ids.collectionJobId] }) },
  { field: 'jobTypes', document: '{ jobTypes { jobType } }', variables: () => ({}) },
  { field: 'queueStats', document: '{ queueStats(queueName: "default") { pendingCount completedCount } }', variables: () => ({}) },
  { field: 'queues', document: '{ queues { queueName completedCount } }', variables: () => ({}) },
  // The caller's own tenant's limits and usage (docs/quotas.md): no id to pass, tenant B sees only B's.
  { field: 'tenantQuota', document: '{ tenantQuota { maxQueuedJobs queuedJobCount maxSchedules scheduleCount minCronIntervalSeconds minPriority maxPriority } }', variables: () => ({}) },
  { field: 'collectionJob', document: 'query($id: ID!) { collectionJob(id: $id) { id } }', variables: (ids) => ({ id: ids.collectionJobId }) },
  { field: 'collectionJobs', document: '{ collectionJobs { edges { node { id } } } }', variables: () => ({}) },
  { field: 'runningCollectionJobs', document: '{ runningCollectionJobs { id } }', variables: () => ({}) },
  { field: 'candles', document: '{ candles(symbol: "AAPL", timeframe: "1d", first: 1) { edges { node { close } } } }', variables: () => ({}) },
  { field: 'importJob', document: 'query($id: ID!) { importJob(id: $id) { id } }', variables: (ids) => ({ id: ids.importJobId }) },
  { field: 'importJobs', document: '{ importJobs { edges { node { id } } } }', variables: () => ({}) },
  { field: 'qaPairs', document: '{ qaPairs { edges { node { question } } } }', variables: () => ({}) },
  { field: 'portfolioImportJob', document: 'query($id: ID!) { portfolioImportJob(id: $id) { id } }', variables: (ids) => ({ id: ids.portfolioImportJobId }) },
  { field: 'portfolioImportJobs', document: 'query($p: ID!) { portfolioImportJobs(portfolioId: $p) { totalCount edges { node { id } } } }', variables: (ids) => ({ p: ids.portfolioId }) },
  { field: 'portfolioImportExists', document: 'query($p: ID!, $i: DateIntervalInput!) { portfolioImportExists(portfolioId: $p, interval: $i) }', variables: (ids) => ({ p: ids.portfolioId, i: interval }) },
  { field: 'portfolioTrades', document: 'query($p: ID!) { portfolioTrades(portfolioId: $p) { totalCount edges { node { id } } } }', variables: (ids) => ({ p: ids.portfolioId }) },
  { field: 'portfolioCashTransactions', document: 'query($p: ID!) { portfolioCashTransactions(portfolioId: $p) { totalCount edges { node { id } } } }', variables: (ids) => ({ p: ids.portfolioId }) },
  { field: 'portfolioPositions', document: 'query($p: ID!) { portfolioPositions(portfolioId: $p) { totalCount edges { node { id } } } }', variables: (ids) => ({ p: ids.portfolioId }) },
  { field: 'cancelJob', write: true, document: 'mutation($id: ID!) { cancelJob(id: $id) { __typename ... on Error { message } } }', variables: (ids) => ({ id: ids.jobId }) },
  { field: 'retryJob', write: true, document: 'mutation($id: ID!) { retryJob(id: $id) { __typename ... on Error { message } } }', variables: (ids) => ({ id: ids.collectionJobId }) },
  // Durable waits: tenant A's jobs are never woken by another tenant (test/waits/ covers a waiting job's tenant).
  {
    field: 'sendEvent',
    write: true,
    document: 'mutation { sendEvent(input: { name: "order.paid", data: { orderId: 1 } }) { __typename ... on MutationSendEventSuccess { data { wokenJobCount } } ... on Error { message } } }',
    variables: () => ({}),
  },
  {
    field: 'signalJob',
    write: true,
    document: 'mutation($id: ID!) { signalJob(input: { id: $id, name: "approve" }) { __typename ... on Error { message } } }',
    variables: (ids) => ({ id: ids.jobId }),
  },
  {
    field: 'rerunJob',
    write: true,
    document: 'mutation($id: ID!) { rerunJob(input: { id: $id, fromStep: "fetch" }) { __typename ... on Error { message } } }',
    variables: (ids) => ({ id: ids.collectionJobId }),
  },
  // Before the create rows: tenant B has no jobs yet, so B's two callers see the same (empty) selection.
  { field: 'bulkJobCount', document: '{ bulkJobCount(action: RETRY, filter: {}) { __typename ... on QueryBulkJobCountSuccess { data { count } } } }', variables: () => ({}) },
  { field: 'jobThroughput', document: '{ jobThroughput(minutes: 60) { completedCount failedCount } }', variables: () => ({}) },
  { field: 'cancelJobs', write: true, document: 'mutation { cancelJobs(filter: {}) { __typename ... on MutationCancelJobsSuccess { data { affectedCount affectedJobIds } } ... on Error { message } } }', variables: () => ({}) },
  { field: 'retryJobs', write: true, document: 'mutation { retryJobs(filter: {}) { __typename ... on MutationRetryJobsSuccess { data { affectedCount affectedJobIds } } ... on Error { message } } }', variables: () => ({}) },
  { field: 'deleteCollectionJob', write: true, document: 'mutation($id: ID!) { deleteCollectionJob(id: $id) { __typename ... on Error { message } } }', variables: (ids) => ({ id: ids.collectionJobId }) },
  { field: 'createViewerToken', write: true, document: 'mutation($id: ID!) { createViewerToken(input: { jobIds: [$id] }) { __typename ... on Error { message } } }', variables: (ids) => ({ id: ids.jobId }) },
  { field: 'createJob', write: true, document: 'mutation($p: ID) { createJob(input: { jobType: "system.noop", parentJobId: $p }) { __typename ... on Error { message } } }', variables: (ids) => ({ p: ids.jobId }) },
  { field: 'createJobs', write: true, document: 'mutation($p: ID) { createJobs(jobs: [{ jobType: "system.noop", parentJobId: $p }]) { __typename ... on Error { message } } }', variables: (ids) => ({ p: ids.jobId }) },
  {
    field: 'createCollectionJob',
    write: true,
    document: 'mutation { createCollectionJob(input: { symbols: [], timeframe: "1d", rangeFrom: "2024-01-01T00:00:00Z", rangeTo: "2024-01-02T00:00:00Z", provider: "csv-dir" }) { __typename ... on Error { message } } }',
    variables: () => ({}),
  },
  {
    field: 'createPortfolioImportJob',
    write: true,
    document: 'mutation($p: ID!, $i: DateIntervalInput!) { createPortfolioImportJob(input: { portfolioId: $p, accountId: "bad account!", interval: $i, source: IBKR }) { __typename ... on Error { message } } }',
    variables: (ids) => ({ p: ids.portfolioId, i: interval }),
  },
  { field: 'schedule', document: 'query($id: ID!) { schedule(id: $id) { id cron } }', variables: (ids) => ({ id: ids.scheduleId }) },
  { field: 'schedules', document: '{ schedules { id cron } }', variables: () => ({}) },
  {
    field: 'createSchedule',
    write: true,
    document: 'mutation($p: ID) { createSchedule(input: { cron: "0 0 1 1 *", jobTemplate: { jobType: "system.noop", parentJobId: $p } }) { __typename ... on Error { message } } }',
    variables: (ids) => ({ p: ids.jobId }),
  },
  { field: 'updateSchedule', write: true, document: 'mutation($id: ID!) { updateSchedule(id: $id, input: { cron: "0 0 2 1 *" }) { __typename ... on Error { message } } }', variables: (ids) => ({ id: ids.scheduleId }) },
  { field: 'pauseSchedule', write: true, document: 'mutation($id: ID!) { pauseSchedule(id: $id) { __typename ... on Error { message } } }', variables: (ids) => ({ id: ids.scheduleId }) },
  { field: 'resumeSchedule', write: true, document: 'mutation($id: ID!) { resumeSchedule(id: $id) { __typename ... on Error { message } } }', variables: (ids) => ({ id: ids.scheduleId }) },
  { field: 'deleteSchedule', write: true, document: 'mutation($id: ID!) { deleteSchedule(id: $id) { __typename ... on Error { message } } }', variables: (ids) => ({ id: ids.scheduleId }) },
  { field: 'pauseQueue', write: true, admin: true, document: 'mutation { pauseQueue(queueName: "default") { __typename ... on Error { message } } }', variables: () => ({}) },
  { field: 'resumeQueue', write: true, admin: true, document: 'mutation { resumeQueue(queueName: "default") { __typename ... on Error { message } } }', variables: () => ({}) },
  {
    field: 'setQueueRateLimit',
    write: true,
    admin: true,
    document: 'mutation { setQueueRateLimit(queueName: "default", maxStarts: 1, intervalMs: 1000) { __typename ... on Error { message } } }',
    variables: () => ({}),
  },
  { field: 'clearQueueRateLimit', write: true, admin: true, document: 'mutation { clearQueueRateLimit(queueName: "default") { __typename ... on Error { message } } }', variables: () => ({}) },
  {
    field: 'createImportJob',
    write: true,
    document: 'mutation($file: File!) { createImportJob(input: { file: $file }) { __typename ... on Error { message } } }',
    variables: () => ({ file: null }),
  },
  // Budget jobs: an unknown budget (the sample provider's NOT_FOUND) and unknown suggestions; test/budgets/budget-tenants.test.ts covers their data across tenants.
  { field: 'budgetJobs', document: '{ budgetJobs(budgetId: "no-such-budget") { edges { node { id } } } }', variables: () => ({}) },
  { field: 'budgetSuggestions', document: '{ budgetSuggestions(budgetId: "no-such-budget") { edges { node { id } } } }', variables: () => ({}) },
  { field: 'budgetSnapshots', document: '{ budgetSnapshots(budgetId: "no-such-budget") { edges { node { id } } } }', variables: () => ({}) },
  ...(
    [
      ['createBudgetSyncJob', '{ budgetId: "no-such-budget" }'],
      ['createSyncAndSuggestJob', '{ budgetId: "no-such-budget" }'],
      ['createSuggestionsGenerateJob', '{ budgetId: "no-such-budget" }'],
      ['createSuggestionsRetryPayeeJob', '{ budgetId: "no-such-budget", payeeId: "p" }'],
      ['createSuggestionsApplyJob', '{ budgetId: "no-such-budget" }'],
      ['createSnapshotCreateJob', '{ budgetId: "no-such-budget" }'],
      ['createSnapshotRedownloadJob', '{ budgetId: "no-such-budget", snapshotId: "00000000-0000-4000-8000-000000000000" }'],
      ['createBudgetSchedule', '{ budgetId: "no-such-budget", cron: "0 6 * * *" }'],
      ['acceptSuggestions', '{ budgetId: "no-such-budget", suggestionIds: ["00000000-0000-4000-8000-000000000000"] }'],
      ['rejectSuggestions', '{ budgetId: "no-such-budget", suggestionIds: ["00000000-0000-4000-8000-000000000000"] }'],
    ] as const
  ).map(([field, input]): Row => ({ field, write: true, document: `mutation { ${field}(input: ${input}) { __typename ... on Error { message } } }`, variables: () => ({}) })),
  // Provider connections: test/connections/provider-connections.test.ts covers them across tenants.
  { field: 'providerConnections', connections: true, document: '{ providerConnections { provider tokenLast4 } }', variables: () => ({}) },
  {
    field: 'saveProviderConnection',
    connections: true,
    document: 'mutation($t: Secret!) { saveProviderConnection(provider: YNAB, token: $t) { __typename ... on Error { message } } }',
    variables: () => ({ t: 'a-ynab-token-of-tenant-b' }),
  },
  { field: 'deleteProviderConnection', connections: true, document: 'mutation { deleteProviderConnection(provider: YNAB) { __typename ... on Error { message } } }', variables: () => ({}) },
  // Webhook subscriptions: test/webhooks/subscriptions.test.ts covers them across tenants.
  { field: 'webhookSubscriptions', document: '{ webhookSubscriptions { id url statuses } }', variables: () => ({}) },
  {
    field: 'webhookDeliveries',
    document: 'query($id: ID!) { webhookDeliveries(subscriptionId: $id) { __typename ... on QueryWebhookDeliveriesSuccess { data { id status } } ... on Error { message } } }',
    variables: (ids) => ({ id: ids.webhookSubscriptionId }),
  },
  {
    field: 'createWebhookSubscription',
    write: true,
    document:
      'mutation { createWebhookSubscription(input: { url: "http://93.184.215.14/hook", statuses: [FAILED], queueNames: ["no-such-queue"] }) { __typename ... on Error { message } } }',
    variables: () => ({}),
  },
  {
    field: 'deleteWebhookSubscription',
    write: true,
    document: 'mutation($id: ID!) { deleteWebhookSubscription(id: $id) { __typename ... on Error { message } } }',
    variables: (ids) => ({ id: ids.webhookSubscriptionId }),
  },
];

const SUBSCRIPTION_ROWS: Row[] = [
  { field: 'jobUpdated', document: 'subscription($id: ID!) { jobUpdated(id: $id) { id status } }', variables: (ids) => ({ id: ids.jobId }) },
  {
    field: 'jobEvents',
    document: 'subscription { jobEvents { cursor status } }',
    viewerDocument: 'subscription($id: ID!) { jobEvents(filter: { jobIds: [$id] }) { cursor status } }',
    variables: (ids) => ({ id: ids.jobId }),
  },
  { field: 'jobStream', document: 'subscription($id: ID!) { jobStream(jobId: $id, name: "out") { sequence chunk } }', variables: (ids) => ({ id: ids.jobId }) },
  { field: 'jobLogs', document: 'subscription($id: ID!) { jobLogs(jobId: $id) { sequence message } }', variables: (ids) => ({ id: ids.jobId }) },
  { field: 'queuesUpdated', document: 'subscription { queuesUpdated { queueName } }', variables: () => ({}) },
  { field: 'portfolioImportEvents', document: 'subscription($p: ID!) { portfolioImportEvents(portfolioId: $p) { jobId } }', variables: (ids) => ({ p: ids.portfolioId }) },
  { field: 'queueUpdated', document: 'subscription { queueUpdated(queueName: "default") { queueName paused } }', variables: () => ({}) },
];

/** Answers with ids replaced, so another tenant's id and a missing one compare equal. */
function normalised(value: unknown, ids: string[]): string {
  let text = JSON.stringify(value);
  for (const id of ids) text = text.split(id).join('<id>');
  return text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>');
}

/** Ids of the same shapes as tenant A's (global IDs of the same types), of nothing. */
function missingIds(): typeof a {
  const like = (globalId: string) => {
    const [type] = Buffer.from(globalId, 'base64').toString().split(':');
    return Buffer.from(`${type}:${randomUUID()}`).toString('base64');
  };
  return {
    jobId: like(a.jobId),
    collectionJobId: like(a.collectionJobId),
    importJobId: like(a.importJobId),
    portfolioImportJobId: like(a.portfolioImportJobId),
    portfolioId: randomUUID(),
    scheduleId: randomUUID(),
    webhookSubscriptionId: randomUUID(),
  };
}

/** Sends a row's operation; createImportJob as a multipart upload (its file cannot travel in JSON). */
async function send(client: GraphQLTestClient, row: Row, ids: typeof a) {
  if (row.field !== 'createImportJob') return client.send(row.document, row.variables(ids));
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: row.document, variables: { file: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.file'] }));
  form.set('0', new Blob(['question,answer\n']), 'empty.csv');
  const response = await fetch(client.url, {
    method: 'POST',
    body: form,
    headers: { 'x-graphql-yoga-csrf': '1', ...(client.token ? { authorization: `Bearer ${client.token}` } : {}) },
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Awaited<ReturnType<GraphQLTestClient['send']>>['body'] };
}

describe('every query and mutation field', () => {
  it('the table covers every root field of the schema', () => {
    const fields = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) => Object.keys(type!.getFields()));
    // A field may have several rows (jobs: a list and a search); each field at least one.
    expect([...new Set([...ROWS, ...SUBSCRIPTION_ROWS].map((row) => row.field))].sort()).toEqual([...new Set(fields)].sort());
  });

  for (const row of ROWS) {
    describe(row.field, () => {
      it('without a token: refused, naming the missing token; nothing changes', async () => {
        const before = await rowCounts();
        const { body } = await send(service.client.as(undefined), row, a);
        expect(body.errors?.[0]?.message ?? '').toMatch(/needs a token/);
        expect(body.errors?.[0]?.extensions?.code).toBe('NotAuthorizedError');
        expect(JSON.stringify(body.data ?? null)).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/);
        expect(await rowCounts()).toEqual(before);
      });

      it('with an expired or wrongly signed JWT: HTTP 401 naming why; nothing changes', async () => {
        const before = await rowCounts();
        const expired = await send(service.client.as(tokens.expired), row, a);
        expect(expired.status).toBe(401);
        expect(expired.body.errors?.[0]?.message).toBe('token expired');
        expect(expired.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
        const forged = await send(service.client.as(tokens.wrongSignature), row, a);
        expect(forged.status).toBe(401);
        expect(forged.body.errors?.[0]?.message).toBe('invalid token (signature or format)');
        expect(await rowCounts()).toEqual(before);
      });

      const needed = row.admin ? 'admin' : row.connections ? 'connections:write' : row.write ? 'jobs:write' : 'jobs:read';
      it(`without ${needed}: refused, naming the scope; nothing changes`, async () => {
        const before = await rowCounts();
        const token = row.admin || row.connections ? tokens.bobKey : row.write ? tokens.readOnly : tokens.writeOnly;
        const { body } = await send(service.client.as(token), row, a);
        expect(body.errors?.[0]?.message ?? '').toMatch(new RegExp(`needs the scope ${needed}`));
        expect(body.errors?.[0]?.extensions?.code).toBe('NotAuthorizedError');
        expect(await rowCounts()).toEqual(before);
      });

      it('with a viewer token (of another job of the same tenant): the answer without a token; nothing changes', async () => {
        const before = await rowCounts();
        const viewer = await send(service.client.as(tokens.viewer), row, a);
        const none = await send(service.client.as(undefined), row, a);
        expect(viewer.status).toBe(none.status);
        expect(viewer.body).toEqual(none.body);
        expect(await rowCounts()).toEqual(before);
      });

      for (const [name, token] of [
        ['a tag viewer token (a tag none of these jobs has, same tenant)', 'viewerOtherTag'],
        ["another tenant's tag viewer token (of this job's tag)", 'viewerForeignTag'],
      ] as const) {
        it(`with ${name}: the answer without a token (jobs: an empty list); nothing changes`, async () => {
          const before = await rowCounts();
          const viewer = await send(service.client.as(tokens[token]), row, a);
          if (row.field === 'jobs') {
            // A tag token may list jobs: only those with its tag, of its tenant.
            expect(viewer.body.errors).toBeUndefined();
            expect((viewer.body.data as any).jobs).toEqual({ totalCount: 0, edges: [] });
          } else {
            const none = await send(service.client.as(undefined), row, a);
            expect(viewer.status).toBe(none.status);
            expect(viewer.body).toEqual(none.body);
          }
          expect(await rowCounts()).toEqual(before);
        });
      }

      it("with another tenant's ids: the answer of a missing id; nothing of the other tenant changes", async () => {
        const before = await rowCounts();
        const other = await send(service.client.as(tokens.bobKey), row, a);
        const missing = await send(service.client.as(tokens.bobJwt), row, missingIds());
        expect(normalised(other.body, Object.values(a))).toEqual(normalised(missing.body, []));
        expect(JSON.stringify(other.body)).not.toMatch(/What is tenant A|tenant-a/);
        const after = await rowCounts();
        // A create by tenant B may add B's own rows, never touch A's: A's rows are compared below.
        if (!row.write || !row.field.startsWith('create')) expect(after).toEqual(before);
        const aRows = await db.pool.query(`select id, status, retry_count, cancel_requested_at from job where tenant_id = 'tenant-a' order by id`);
        expect(aRows.rows.every((job) => job.cancel_requested_at === null && job.retry_count === 0)).toBe(true);
        expect(aRows.rows.length).toBe(4);
      });
    });
  }
});

describe('subscriptions', () => {
  const wsUrl = () => service.app.api!.url.replace(/^http/, 'ws');

  /** The close code and reason of a socket whose connection_init carries `params`. */
  async function closeOf(params: Record<string, unknown> | undefined) {
    const closed = deferred<{ code: number; reason: string }>('the socket to close');
    const client = createClient({
      url: wsUrl(),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: params,
      on: { closed: (event) => closed.resolve({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason }) },
      onNonLazyError: () => undefined,
    });
    const result = await closed.promise;
    await client.dispose();
    return result;
  }

  it('a connection without a token, or with an expired or forged one, is closed 4401 before connection_ack, naming why', async () => {
    expect(await closeOf(undefined)).toEqual({ code: 4401, reason: 'Unauthorized: connection_init needs { "authorization": "Bearer <token>" }' });
    expect(await closeOf({ authorization: `Bearer ${tokens.expired}` })).toEqual({ code: 4401, reason: 'Unauthorized: token expired' });
    expect(await closeOf({ token: tokens.wrongSignature })).toEqual({ code: 4401, reason: 'Unauthorized: invalid token (signature or format)' });
  });

  it('one principal holds at most 50 websockets by default (WS_MAX_SOCKETS_PER_PRINCIPAL): the 51st is closed 4429 naming the setting', async () => {
    const sockets = Array.from({ length: 50 }, () => connectSocket(service.client.url, tokens.aliceKey));
    try {
      expect(new Set(await Promise.all(sockets.map((socket) => socket.outcome)))).toEqual(new Set(['acknowledged']));
      const over = connectSocket(service.client.url, tokens.aliceKey);
      sockets.push(over);
      expect(await over.outcome).toEqual({ code: 4429, reason: 'Too many sockets: at most 50 per principal (WS_MAX_SOCKETS_PER_PRINCIPAL)' });
    } finally {
      await Promise.all(sockets.map((socket) => socket.client.dispose()));
    }
  });

  it('a token that expires closes its socket with 4401 "token expired"', async () => {
    const shortLived = await jwt({ sub: 'bob@b', tenant: 'tenant-b', scope: 'jobs:read' }, { expiresIn: Math.floor(Date.now() / 1000) + 2 });
    const closed = deferred<{ code: number; reason: string }>('the socket to close when its token expires', 10_000);
    const acked = deferred<void>('connection_ack');
    const client = createClient({
      url: wsUrl(),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${shortLived}` },
      on: { connected: () => acked.resolve(), closed: (event) => closed.resolve({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason }) },
      onNonLazyError: () => undefined,
    });
    await acked.promise;
    expect(await closed.promise).toEqual({ code: 4401, reason: 'Unauthorized: token expired' });
    await client.dispose();
  });

  for (const row of SUBSCRIPTION_ROWS) {
    it(`${row.field} without jobs:read: refused naming the scope`, async () => {
      const client = service.client.as(tokens.writeOnly);
      const subscription = client.subscribe({ toString: () => row.document } as never, row.variables(a) as never);
      await expect(subscription.waitFor('an error', () => false, 10_000)).rejects.toThrow(/needs the scope jobs:read/);
      subscription.close();
      await client.close();
    });
  }

  for (const row of SUBSCRIPTION_ROWS) {
    it(`${row.field} with a viewer token (of another job of the same tenant): refused as without a token`, async () => {
      const client = service.client.as(tokens.viewer);
      const document = row.viewerDocument ?? row.document;
      const subscription = client.subscribe({ toString: () => document } as never, row.variables(a) as never);
      await expect(subscription.waitFor('an error', () => false, 10_000)).rejects.toThrow(
        `Subscription.${row.field} needs a token (Authorization: Bearer <API key or JWT>)`,
      );
      expect(subscription.received).toEqual([]);
      subscription.close();
      await client.close();
    });
  }

  for (const row of SUBSCRIPTION_ROWS) {
    it(`${row.field} with a tag viewer token (of another tag, or of another tenant): refused as without a token`, async () => {
      for (const token of [tokens.viewerOtherTag, tokens.viewerForeignTag]) {
        const client = service.client.as(token);
        const document = row.viewerDocument ?? row.document;
        const subscription = client.subscribe({ toString: () => document } as never, row.variables(a) as never);
        await expect(subscription.waitFor('an error', () => false, 10_000)).rejects.toThrow(
          `Subscription.${row.field} needs a token (Authorization: Bearer <API key or JWT>)`,
        );
        expect(subscription.received).toEqual([]);
        subscription.close();
        await client.close();
      }
    });
  }

  it("jobUpdated of another tenant's job answers as a missing job", async () => {
    const bob = service.client.as(tokens.bobKey);
    const other = bob.subscribe(JobUpdated, { id: a.jobId });
    const otherError = await other.waitFor('an error', () => false, 10_000).then(() => '', (error: Error) => error.message);
    const missingId = randomUUID();
    const missing = bob.subscribe(JobUpdated, { id: missingId });
    const missingError = await missing.waitFor('an error', () => false, 10_000).then(() => '', (error: Error) => error.message);
    expect(otherError.replace(uuidOf(a.jobId), '<id>')).toEqual(missingError.replace(missingId, '<id>'));
    expect(otherError).toMatch(/no job with id/);
    other.close();
    missing.close();
    await bob.close();
  });

  it('two tenants creating and watching jobs at once: neither receives the other\'s events', async () => {
    const alice = service.client.as(tokens.aliceKey);
    const bob = service.client.as(tokens.bobKey);
    // From the start of the log: a subscription that becomes active after the jobs ran still has their events.
    const fromTheStart = encodeCursor({ txId: '0', id: '0' });
    const aliceEvents = alice.subscribe(JobEvents, { after: fromTheStart });
    const bobEvents = bob.subscribe(JobEvents, { after: fromTheStart });
    const create = (client: GraphQLTestClient) =>
      client.send(`mutation { createJob(input: { jobType: "system.noop" }) { ... on MutationCreateJobSuccess { data { id } } ... on Error { message } } }`).then((answer) => (answer.body.data as any).createJob.data.id as string);
    const created = await Promise.all(Array.from({ length: 10 }, (_, index) => create(index % 2 ? bob : alice)));
    const aliceIds = new Set(created.filter((_, index) => index % 2 === 0));
    const bobIds = new Set(created.filter((_, index) => index % 2 === 1));
    const completed = (ids: Set<string>) => (received: any[]) => [...ids].every((id) => received.some((event) => event.jobEvents.job.id === id && event.jobEvents.status === 'COMPLETED'));
    await aliceEvents.waitFor("alice's jobs completing", completed(aliceIds));
    await bobEvents.waitFor("bob's jobs completing", completed(bobIds));
    expect(aliceEvents.received.some((event: any) => bobIds.has(event.jobEvents.job.id))).toBe(false);
    expect(bobEvents.received.some((event: any) => aliceIds.has(event.jobEvents.job.id))).toBe(false);
    // Admin crosses tenants.
    const { body } = await service.client.as(tokens.admin).send(`{ jobs(first: 50) { totalCount } }`);
    expect((body.data as any).jobs.totalCount).toBeGreaterThanOrEqual(14);
    aliceEvents.close();
    bobEvents.close();
    await alice.close();
    await bob.close();
  });

  it('GraphiQL (on outside production) loads without a token or CSRF header; its page holds no data', async () => {
    const page = await fetch(service.client.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/graphiql/i);
  });

  it('createdBy is the principal and the job belongs to its tenant', async () => {
    const { body } = await service.client.as(tokens.bobJwt).send(`mutation { createJob(input: { jobType: "system.noop" }) { ... on MutationCreateJobSuccess { data { id createdBy } } } }`);
    const job = (body.data as any).createJob.data;
    expect(job.createdBy).toBe('jwt:bob@b');
    const row = await db.pool.query(`select distinct tenant_id from job where created_by = 'jwt:bob@b'`);
    expect(row.rows).toEqual([{ tenant_id: 'tenant-b' }]);
  });

  it("every kind row (created through createKindJob) and every imported record has its job's tenant", async () => {
    const tenantsOf = async (table: string, jobColumn: string) =>
      (
        await db.pool.query<{ tenant_id: string; rows: string }>(
          `select t.tenant_id, count(*) as rows from ${table} t join job j on j.id = t.${jobColumn} where j.tenant_id = 'tenant-a' group by t.tenant_id`,
        )
      ).rows.map((row) => ({ tenant: row.tenant_id, some: Number(row.rows) > 0 }));
    for (const kindTable of ['collection_job', 'import_job', 'portfolio_import_job']) {
      expect(await tenantsOf(kindTable, 'job_id'), kindTable).toEqual([{ tenant: 'tenant-a', some: true }]);
    }
    expect(await tenantsOf('qa_pair', 'import_job_id')).toEqual([{ tenant: 'tenant-a', some: true }]);
    // Tenant A's statement has no activity inside its interval; any row there must still be tenant A's.
    for (const recordTable of ['portfolio_trade', 'portfolio_cash_transaction', 'portfolio_position']) {
      for (const found of await tenantsOf(recordTable, 'import_job_id')) expect(found.tenant, recordTable).toBe('tenant-a');
    }
  });
});
