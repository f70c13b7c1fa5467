// Provider connections per tenant (issue 23, item 1), against the local YNAB
// server (each tenant's token reaches its own budget only) and a local Flex
// Web Service (each tenant's token and query answer its own statement):
// - table-driven, every budget job type, the budget queries, the budget
//   schedule, the scheduled tick as a plain job and the portfolio import:
//   a tenant without a connection (carol) and a tenant with its own (bob)
//   naming tenant A's budget, suggestion, payee, snapshot, account and
//   portfolio get exactly the answer of unknown ones, and tenant A's data,
//   its provider requests and its statement do not move;
// - no token appears in any answer, log line (all levels captured), job
//   error or stored row, also when the upstream echoes it;
// - the budget list a create checks is asked once per connection.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import type { Scope } from '../../src/auth/principal.ts';
import { startFlexServer, type FlexServer } from '../../src/testing/flex-server.ts';
import { startYnabServer, type YnabServer } from '../../src/testing/ynab-server.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { create, finished, generateBudget, succeeded } from '../support/budgets.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { dispose } from '../support/dispose.ts';
import { DeleteProviderConnection, ProviderConnections, SaveProviderConnection } from '../support/operations-connections.ts';
import { BudgetSuggestions } from '../support/operations-budgets.ts';
import { JobUpdated } from '../support/operations.ts';
import { createImport, created, flexStatement } from '../support/portfolios.ts';

const secret = (name: string) => `${name}-${randomBytes(16).toString('hex')}`;
const YNAB_A = secret('ynab-a');
const YNAB_B = secret('ynab-b');
const YNAB_OPERATOR = secret('ynab-operator');
const FLEX_A = secret('flex-a');
const FLEX_B = secret('flex-b');
const FLEX_WRONG = secret('flex-wrong');
const TOKENS = [YNAB_A, YNAB_B, YNAB_OPERATOR, FLEX_A, FLEX_B, FLEX_WRONG];

const BUDGET_A = generateBudget({ seed: 31, transactions: 300, name: 'Budget of tenant A' });
const BUDGET_B = generateBudget({ seed: 32, transactions: 200, name: 'Budget of tenant B' });
const ACCOUNT_A = 'UA000001';
const ACCOUNT_B = 'UB000002';
const INTERVAL = { start: '2026-01-10', end: '2026-01-20' };

let db: TestDatabase;
let ynab: YnabServer;
let flex: FlexServer;
let service: TestApp;
const logs: string[] = [];
/** Every answer this file received, to search for tokens. */
const answers: unknown[] = [];
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;
let carol: GraphQLTestClient;
let dave: GraphQLTestClient;

/** Tenant A's ids, and ids of the same shapes that name nothing. */
interface Ids {
  budgetId: string;
  suggestionId: string;
  payeeId: string;
  snapshotId: string;
  accountId: string;
  portfolioId: string;
}
const a: Ids = { budgetId: BUDGET_A.id, suggestionId: '', payeeId: '', snapshotId: '', accountId: ACCOUNT_A, portfolioId: randomUUID() };
const unknown = (): Ids => ({
  budgetId: randomUUID(),
  suggestionId: randomUUID(),
  payeeId: randomUUID(),
  snapshotId: randomUUID(),
  accountId: `UZ${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`,
  portfolioId: randomUUID(),
});

/** Sends an operation and keeps its answer. */
async function send(client: GraphQLTestClient, document: string, variables: Record<string, unknown> = {}) {
  const { body } = await client.send(document, variables);
  answers.push(body);
  return body as { data?: Record<string, any> | null; errors?: Array<{ message: string }> };
}

/** Awaits a job's end (jobUpdated) and answers its status and error, as the job query reads them. */
async function ended(client: GraphQLTestClient, id: string) {
  const live = client.subscribe(JobUpdated, { id });
  await live.waitFor(`job ${id} to end`, (received) => received.some((m) => ['COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'].includes(m.jobUpdated.status)), 60_000);
  live.close();
  const body = await send(client, 'query($id: ID!) { job(id: $id) { status errorMessage } }', { id });
  return body.data!.job as { status: string; errorMessage: string | null };
}

beforeAll(async () => {
  db = await createTestDatabase();
  // The operator's token reaches every budget (unused: no tenant may use it); each tenant's only its own.
  ynab = await startYnabServer({
    budgets: [BUDGET_A, BUDGET_B],
    token: YNAB_OPERATOR,
    tokens: [
      { token: YNAB_A, budgetIds: [BUDGET_A.id] },
      { token: YNAB_B, budgetIds: [BUDGET_B.id] },
    ],
  });
  dispose(() => ynab.close());
  flex = await startFlexServer({
    accounts: [
      { token: FLEX_A, queryId: '111', statement: flexStatement(ACCOUNT_A) },
      { token: FLEX_B, queryId: '222', statement: flexStatement(ACCOUNT_B) },
    ],
    // A refusal quotes the token it was sent (a careless upstream): it must not travel on.
    echoTokens: true,
  });
  dispose(() => flex.close());
  service = await startTestApp(db.url, {
    logs,
    env: {
      LOG_LEVEL: 'trace',
      AUTH_ENABLED: 'true',
      AUTH_API_KEY_CACHE_MS: '0',
      BUDGET_PROVIDER: 'ynab',
      YNAB_API_URL: ynab.url,
      YNAB_RETRY_BASE_DELAY_MS: '10',
      OUTBOUND_ALLOW_LIST: '127.0.0.1',
      IBKR_FLEX_BASE_URL: flex.url,
      IBKR_FLEX_POLL_INTERVAL_MS: '10',
      CONNECTIONS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    },
  });
  const key = async (tenantId: string, scopes: Scope[] = ['jobs:read', 'jobs:write', 'connections:write']) =>
    service.client.as((await createApiKey(db.pool, { name: tenantId, tenantId, scopes })).key);
  alice = await key('tenant-a');
  bob = await key('tenant-b');
  carol = await key('tenant-c');
  dave = await key('tenant-d');

  const save = async (client: GraphQLTestClient, provider: 'YNAB' | 'IBKR_FLEX', token: string, queryId?: string) => {
    const answer = (await client.request(SaveProviderConnection, { provider, token, queryId })).saveProviderConnection;
    answers.push(answer);
    expect(answer).toMatchObject({ __typename: 'MutationSaveProviderConnectionSuccess', data: { provider, tokenLast4: token.slice(-4) } });
  };
  await save(alice, 'YNAB', YNAB_A);
  await save(alice, 'IBKR_FLEX', FLEX_A, '111');
  await save(bob, 'YNAB', YNAB_B);
  await save(bob, 'IBKR_FLEX', FLEX_B, '222');
  await save(dave, 'IBKR_FLEX', FLEX_WRONG, '111');

  // Tenant A's budget, suggestions, payee, snapshot and imported statement.
  await succeeded(alice, create.syncAndSuggest(alice, BUDGET_A.id));
  a.snapshotId = (await succeeded(alice, create.snapshot(alice, BUDGET_A.id))).snapshotId!;
  const [suggestion] = (await alice.request(BudgetSuggestions, { budgetId: BUDGET_A.id, first: 1 })).budgetSuggestions.edges.map((e) => e.node);
  a.suggestionId = suggestion!.id;
  a.payeeId = suggestion!.payeeId!;
  const imported = created(await createImport(alice, { portfolioId: a.portfolioId, accountId: ACCOUNT_A, source: 'IBKR', interval: INTERVAL }));
  expect(await ended(alice, imported.id)).toEqual({ status: 'COMPLETED', errorMessage: null });
  // With an empty id the table would compare nothing with nothing.
  expect(Object.values(a).every(Boolean)).toBe(true);
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

/** Everything of tenant A: it must not move while others act. */
async function tenantA(): Promise<string> {
  const { rows } = await db.pool.query(
    `select (select count(*) from job where tenant_id = 'tenant-a') as jobs,
            (select string_agg(transaction_id || coalesce(category_id, '-'), ',' order by transaction_id) from budget_transaction where tenant_id = 'tenant-a') as transactions,
            (select string_agg(id::text || status, ',' order by id) from category_suggestion where tenant_id = 'tenant-a') as suggestions,
            (select string_agg(id::text || coalesce(verified_at::text, ''), ',' order by id) from budget_snapshot where tenant_id = 'tenant-a') as snapshots,
            (select count(*) from portfolio_trade where tenant_id = 'tenant-a') as trades,
            (select string_agg(provider::text || credential_id::text, ',') from provider_connection where tenant_id = 'tenant-a') as connections`,
  );
  return JSON.stringify(rows[0]);
}

interface Row {
  name: string;
  /** Runs the operation with these ids; answers what the caller learns (created jobs: how they ended). */
  run(client: GraphQLTestClient, ids: Ids): Promise<unknown>;
}

const typed = '__typename ... on Error { message }';
const mutation = (field: string, input: (ids: Ids) => Record<string, unknown>, inputType: string): Row => ({
  name: field,
  run: async (client, ids) => {
    const body = await send(client, `mutation($input: ${inputType}!) { ${field}(input: $input) { ${typed} } }`, { input: input(ids) });
    return body.data?.[field] ?? body;
  },
});
const query = (name: string, document: string): Row => ({ name, run: async (client, ids) => (await send(client, document, { ...ids })).data });

/** A created job's end, or the create's answer. */
async function outcome(client: GraphQLTestClient, field: string, body: { data?: Record<string, any> | null }) {
  const answer = body.data?.[field];
  if (!answer?.data?.id) return answer ?? body;
  return ended(client, answer.data.id);
}

const ROWS: Row[] = [
  mutation('createBudgetSyncJob', (ids) => ({ budgetId: ids.budgetId, maxRetries: 0 }), 'BudgetSyncJobInput'),
  mutation('createSyncAndSuggestJob', (ids) => ({ budgetId: ids.budgetId, maxRetries: 0 }), 'BudgetSyncJobInput'),
  mutation('createSuggestionsGenerateJob', (ids) => ({ budgetId: ids.budgetId, maxRetries: 0 }), 'BudgetJobInput'),
  mutation('createSuggestionsRetryPayeeJob', (ids) => ({ budgetId: ids.budgetId, payeeId: ids.payeeId, maxRetries: 0 }), 'SuggestionsRetryPayeeJobInput'),
  mutation('createSuggestionsApplyJob', (ids) => ({ budgetId: ids.budgetId, suggestionIds: [ids.suggestionId], maxRetries: 0 }), 'SuggestionsApplyJobInput'),
  { ...mutation('createSuggestionsApplyJob', (ids) => ({ budgetId: ids.budgetId, maxRetries: 0 }), 'SuggestionsApplyJobInput'), name: 'createSuggestionsApplyJob (every ACCEPTED one)' },
  mutation('createSnapshotCreateJob', (ids) => ({ budgetId: ids.budgetId, maxRetries: 0 }), 'BudgetJobInput'),
  mutation('createSnapshotRedownloadJob', (ids) => ({ budgetId: ids.budgetId, snapshotId: ids.snapshotId, maxRetries: 0 }), 'SnapshotRedownloadJobInput'),
  mutation('createBudgetSchedule', (ids) => ({ budgetId: ids.budgetId, cron: '0 6 * * *' }), 'CreateBudgetScheduleInput'),
  mutation('acceptSuggestions', (ids) => ({ budgetId: ids.budgetId, suggestionIds: [ids.suggestionId] }), 'AnswerSuggestionsInput'),
  mutation('rejectSuggestions', (ids) => ({ budgetId: ids.budgetId, suggestionIds: [ids.suggestionId] }), 'AnswerSuggestionsInput'),
  query('budgetJobs', 'query($budgetId: ID!) { budgetJobs(budgetId: $budgetId) { edges { node { id } } } }'),
  query('budgetSuggestions', 'query($budgetId: ID!) { budgetSuggestions(budgetId: $budgetId) { edges { node { id } } } }'),
  query('budgetSnapshots', 'query($budgetId: ID!) { budgetSnapshots(budgetId: $budgetId) { edges { node { id } } } }'),
  query('portfolioTrades', 'query($portfolioId: ID!) { portfolioTrades(portfolioId: $portfolioId) { totalCount edges { node { tradeId } } } }'),
  query('portfolioImportJobs', 'query($portfolioId: ID!) { portfolioImportJobs(portfolioId: $portfolioId) { totalCount } }'),
  {
    name: 'createPortfolioImportJob without a statement',
    run: async (client, ids) => {
      const input = { portfolioId: ids.portfolioId, accountId: ids.accountId, source: 'IBKR', interval: INTERVAL, maxRetries: 0 };
      const body = await send(
        client,
        `mutation($input: CreatePortfolioImportJobInput!) { createPortfolioImportJob(input: $input) { ${typed} ... on MutationCreatePortfolioImportJobSuccess { data { id } } ... on ProviderConnectionMissingError { provider } } }`,
        { input },
      );
      return outcome(client, 'createPortfolioImportJob', body);
    },
  },
];

/** An answer with the ids it was asked about replaced by their names, so tenant A's and unknown ones compare equal. */
function normalised(value: unknown, ids: Ids): string {
  let text = JSON.stringify(value);
  for (const [name, id] of Object.entries(ids)) if (id) text = text.split(id).join(`<${name}>`);
  return text;
}

describe.each([
  ['carol, a tenant without connections', () => carol, 'ProviderConnectionMissingError'],
  ["bob, a tenant with its own connections (its token reaches only its own budget and statement)", () => bob, 'BudgetNotFoundError'],
])('%s', (_who, caller, budgetAnswer) => {
  it.each(ROWS.map((row) => [row.name, row] as const))("%s: tenant A's ids answer exactly as unknown ones; nothing of A moves or is reached", async (_name, row) => {
    const before = await tenantA();
    const ynabRequests = ynab.requests.length;
    const flexRequests = flex.requests.length;
    const withA = await row.run(caller(), a);
    const other = unknown();
    const withUnknown = await row.run(caller(), other);
    expect(normalised(withA, a)).toBe(normalised(withUnknown, other));
    expect(JSON.stringify(withA)).not.toMatch(/tenant A|tenant-a/);
    expect(await tenantA()).toBe(before);
    // Nothing was asked of a provider with A's credentials, nor about A's budget.
    const asked = ynab.requests.slice(ynabRequests);
    expect(asked.filter((request) => request.token === YNAB_A || request.token === YNAB_OPERATOR)).toEqual([]);
    expect(asked.filter((request) => request.path.includes(BUDGET_A.id))).toEqual([]);
    expect(flex.requests.slice(flexRequests).filter((request) => request.token === FLEX_A)).toEqual([]);
  });

  it('the answers say why: no connection, or no such budget at its own provider', async () => {
    const answer = (await ROWS[0]!.run(caller(), a)) as { __typename: string };
    expect(answer.__typename).toBe(budgetAnswer);
    const imported = (await ROWS.at(-1)!.run(caller(), a)) as Record<string, unknown>;
    if (budgetAnswer === 'ProviderConnectionMissingError') {
      expect(imported).toMatchObject({ __typename: 'ProviderConnectionMissingError', provider: 'IBKR_FLEX' });
    } else {
      // Its own statement, which holds no account of A's: the error names only the account asked for.
      expect(imported).toEqual({ status: 'FAILED', errorMessage: `the statement of this tenant's Flex query holds no account ${ACCOUNT_A}` });
    }
  });
});

describe('each tenant its own', () => {
  it("bob's own budget and statement are his to use, with his token only", async () => {
    const ynabRequests = ynab.requests.length;
    const job = await succeeded(bob, create.sync(bob, BUDGET_B.id));
    expect(job.syncedTransactionCount).toBe(200);
    expect(new Set(ynab.requests.slice(ynabRequests).map((request) => request.token))).toEqual(new Set([YNAB_B]));
    const imported = created(await createImport(bob, { portfolioId: randomUUID(), accountId: ACCOUNT_B, source: 'IBKR', interval: INTERVAL }));
    expect(await ended(bob, imported.id)).toEqual({ status: 'COMPLETED', errorMessage: null });
  });

  it('providerConnections lists the caller\'s own, without secrets; delete and save take effect at once', async () => {
    const listed = (await alice.request(ProviderConnections)).providerConnections;
    answers.push(listed);
    expect(listed.map((connection) => [connection.provider, connection.tokenLast4])).toEqual([
      ['YNAB', YNAB_A.slice(-4)],
      ['IBKR_FLEX', FLEX_A.slice(-4)],
    ]);
    expect((await carol.request(ProviderConnections)).providerConnections).toEqual([]);

    const deleted = (await alice.request(DeleteProviderConnection, { provider: 'YNAB' })).deleteProviderConnection;
    expect(deleted).toMatchObject({ __typename: 'MutationDeleteProviderConnectionSuccess', data: { provider: 'YNAB' } });
    const refused = (await send(alice, `mutation { createBudgetSyncJob(input: { budgetId: "${BUDGET_A.id}" }) { ${typed} ... on ProviderConnectionMissingError { provider } } }`)).data!.createBudgetSyncJob;
    expect(refused).toMatchObject({ __typename: 'ProviderConnectionMissingError', provider: 'YNAB', message: expect.stringMatching(/^this tenant has no YNAB connection: save its YNAB token first/) });
    expect((await alice.request(DeleteProviderConnection, { provider: 'YNAB' })).deleteProviderConnection.__typename).toBe('ProviderConnectionMissingError');

    answers.push(await alice.request(SaveProviderConnection, { provider: 'YNAB', token: YNAB_A }));
    await succeeded(alice, create.sync(alice, BUDGET_A.id));
  });

  it('the budget list a create checks is asked once per connection, however many creates name an unknown budget', async () => {
    const budgetLists = () => ynab.requests.filter((request) => request.path === '/budgets' && request.token === YNAB_A).length;
    const before = budgetLists();
    const results = await Promise.all(Array.from({ length: 30 }, () => send(alice, `mutation { createBudgetSyncJob(input: { budgetId: "no-such-budget" }) { ${typed} } }`)));
    expect(results.every((body) => body.data!.createBudgetSyncJob.__typename === 'BudgetNotFoundError')).toBe(true);
    // The list the last save's first create fetched serves them all.
    expect(budgetLists()).toBe(before);
    // New credentials, a new list.
    answers.push(await alice.request(SaveProviderConnection, { provider: 'YNAB', token: YNAB_A }));
    await send(alice, `mutation { createBudgetSyncJob(input: { budgetId: "no-such-budget" }) { ${typed} } }`);
    await send(alice, `mutation { createBudgetSyncJob(input: { budgetId: "no-such-budget" }) { ${typed} } }`);
    expect(budgetLists()).toBe(before + 1);
  });
});

describe('secrets', () => {
  it('an upstream that echoes the token (a YNAB 500, a Flex refusal) does not carry it into the job, its events or the log', async () => {
    ynab.failNext({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
    const sync = (await send(alice, `mutation { createBudgetSyncJob(input: { budgetId: "${BUDGET_A.id}", maxRetries: 0 }) { __typename ... on MutationCreateBudgetSyncJobSuccess { data { id } } } }`)).data!.createBudgetSyncJob;
    const { job } = await finished(alice, sync.data.id);
    answers.push(job);
    expect(job).toMatchObject({ budgetStatus: 'FAILED', failureReason: expect.stringMatching(/^YNAB: unavailable \(HTTP 500\)/) });

    const imported = created(await createImport(dave, { portfolioId: randomUUID(), accountId: ACCOUNT_A, source: 'IBKR', interval: INTERVAL, maxRetries: 0 }));
    const end = await ended(dave, imported.id);
    expect(end.status).toBe('DEAD_LETTER');
    expect(end.errorMessage).toMatch(/^Flex Web Service refused the request: 1012 Token \[redacted\] is not valid\./);
    expect(flex.requests.some((request) => request.token === FLEX_WRONG)).toBe(true);
  });

  it('bad input to saveProviderConnection is refused without quoting the token', async () => {
    const cases = [
      send(alice, 'mutation($t: Secret!) { saveProviderConnection(provider: YNAB, token: $t) { __typename ... on Error { message } } }', { t: `${YNAB_A} with spaces` }),
      send(alice, 'mutation($t: Secret!) { saveProviderConnection(provider: IBKR_FLEX, token: $t) { __typename ... on Error { message } } }', { t: FLEX_A }),
      send(alice, 'mutation($t: Secret!) { saveProviderConnection(provider: YNAB, token: $t, queryId: "1") { __typename ... on Error { message } } }', { t: YNAB_A }),
      send(alice, 'mutation($t: Secret!, $p: ConnectionProvider!) { saveProviderConnection(provider: $p, token: $t) { __typename } }', { t: YNAB_A, p: 'MINT' }),
      send(alice, 'mutation($t: Secret!) { saveProviderConnection(provider: YNAB, token: $t, unknown: 1) { __typename } }', { t: YNAB_A }),
      send(alice, 'mutation($t: Secret!) { saveProviderConnection(token: $t) { __typename } }', { t: YNAB_A }),
      send(carol, 'mutation($t: String!) { saveProviderConnection(provider: YNAB, token: $t) { __typename } }', { t: YNAB_A }),
      send(service.client.as((await createApiKey(db.pool, { name: 'reader', tenantId: 'tenant-a', scopes: ['jobs:read', 'jobs:write'] })).key), 'mutation($t: Secret!) { saveProviderConnection(provider: YNAB, token: $t) { __typename } }', { t: YNAB_A }),
    ];
    const refused = await Promise.all(cases);
    expect(refused[0]!.data!.saveProviderConnection).toEqual({ __typename: 'ValidationError', message: 'token: must be 8 to 512 printable characters without spaces (the token itself is not repeated here)' });
    expect(refused[1]!.data!.saveProviderConnection).toMatchObject({ __typename: 'ValidationError', message: expect.stringMatching(/^queryId: is required for IBKR_FLEX connections/) });
    expect(refused[2]!.data!.saveProviderConnection).toMatchObject({ __typename: 'ValidationError', message: 'queryId: is not an option of YNAB connections' });
    for (const answer of refused.slice(3)) expect(answer.errors?.length).toBeGreaterThan(0);
    expect(refused.at(-1)!.errors![0]!.message).toMatch(/needs the scope connections:write/);
    expect(JSON.stringify(refused)).not.toContain(YNAB_A);
  });

  it('no token is in any answer, log line, job error or event, and the stored rows hold them sealed only', async () => {
    // Something was logged at every level, so the search below is not vacuous.
    expect(logs.length).toBeGreaterThan(100);
    expect(logs.some((line) => line.includes('"level":20'))).toBe(true);
    const stored = await db.pool.query(`select row_to_json(t)::text as row, encode(secret_ciphertext, 'hex') as hex from provider_connection t`);
    expect(stored.rows.length).toBe(5);
    const jobs = await db.pool.query(`select coalesce(error_message, '') || coalesce(result::text, '') || payload::text as text from job`);
    const events = await db.pool.query(`select row_to_json(e)::text as text from job_event e`);
    const places: Array<[string, string[]]> = [
      ['answers', answers.map((answer) => JSON.stringify(answer))],
      ['log lines', logs],
      ['jobs', jobs.rows.map((row) => row.text)],
      ['job events', events.rows.map((row) => row.text)],
      ['stored connections', stored.rows.map((row) => row.row)],
    ];
    for (const token of TOKENS) {
      for (const [where, texts] of places) expect(texts.filter((text) => text.includes(token)), `${where} holding a token`).toEqual([]);
      expect(stored.rows.filter((row) => row.hex.includes(Buffer.from(token).toString('hex')))).toEqual([]);
    }
  });
});
