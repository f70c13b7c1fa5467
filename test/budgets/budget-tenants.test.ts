// Budget data belongs to the tenant whose job stored it: another tenant sees
// none of it, its ids answer as unknown ones, and its own sync of the same
// budget (here both tenants' connections hold a token that reaches it) is its
// own copy. Reads need jobs:read, creates jobs:write.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import type { Scope } from '../../src/auth/principal.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import type { YnabServer } from '../../src/testing/ynab-server.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { budgetProviderEnv, create, generateBudget, startBudgetServer, succeeded, YNAB_TOKEN } from '../support/budgets.ts';
import { SaveProviderConnection } from '../support/operations-connections.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import {
  AcceptSuggestions,
  BudgetJobs,
  BudgetSnapshots,
  BudgetSuggestions,
  CreateBudgetSyncJob,
  CreateSnapshotRedownloadJob,
  CreateSuggestionsApplyJob,
  CreateSuggestionsRetryPayeeJob,
  GetBudgetJob,
} from '../support/operations-budgets.ts';

const BUDGET = generateBudget({ seed: 9, transactions: 400 });
let db: TestDatabase;
let service: TestApp;
let server: YnabServer;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;
let bobReader: GraphQLTestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startBudgetServer([BUDGET]);
  service = await startTestApp(db.url, {
    env: { ...budgetProviderEnv(server, 'perTenant'), AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0', CONNECTIONS_ENCRYPTION_KEY: randomBytes(32).toString('base64') },
  });
  const key = async (tenantId: string, scopes: Scope[]) => (await createApiKey(db.pool, { name: tenantId, tenantId, scopes })).key;
  alice = service.client.as(await key('tenant-a', ['jobs:read', 'jobs:write', 'connections:write']));
  bob = service.client.as(await key('tenant-b', ['jobs:read', 'jobs:write', 'connections:write']));
  bobReader = service.client.as(await key('tenant-b', ['jobs:read']));
  for (const client of [alice, bob]) {
    const saved = await client.request(SaveProviderConnection, { provider: 'YNAB', token: YNAB_TOKEN });
    expect(saved.saveProviderConnection.__typename).toBe('MutationSaveProviderConnectionSuccess');
  }
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

/** Everything of tenant A's budget: it must not move while tenant B acts. */
async function tenantARows(): Promise<string> {
  const { rows } = await db.pool.query(
    `select (select count(*) from job where tenant_id = 'tenant-a') as jobs,
            (select count(*) from budget_transaction where tenant_id = 'tenant-a') as transactions,
            (select string_agg(id::text || status, ',' order by id) from category_suggestion where tenant_id = 'tenant-a') as suggestions,
            (select string_agg(id::text || coalesce(verified_at::text, ''), ',' order by id) from budget_snapshot where tenant_id = 'tenant-a') as snapshots,
            (select transactions_knowledge from budget where tenant_id = 'tenant-a') as knowledge`,
  );
  return JSON.stringify(rows[0]);
}

it("another tenant sees none of a budget's jobs, suggestions or snapshots, and its ids answer as unknown ones", async () => {
  const synced = await succeeded(alice, create.syncAndSuggest(alice, BUDGET.id));
  const snapshot = await succeeded(alice, create.snapshot(alice, BUDGET.id));
  const suggestions = (await alice.request(BudgetSuggestions, { budgetId: BUDGET.id, first: 2 })).budgetSuggestions.edges.map((e) => e.node);
  expect(suggestions.length).toBe(2);
  const payeeId = suggestions[0]!.payeeId!;
  const before = await tenantARows();

  expect((await bob.request(BudgetJobs, { budgetId: BUDGET.id })).budgetJobs.edges).toEqual([]);
  expect((await bob.request(BudgetSuggestions, { budgetId: BUDGET.id })).budgetSuggestions.edges).toEqual([]);
  expect((await bob.request(BudgetSnapshots, { budgetId: BUDGET.id })).budgetSnapshots.edges).toEqual([]);
  expect((await bob.request(GetBudgetJob, { id: synced.id })).job).toBeNull();

  const unknownSuggestion = '00000000-0000-4000-8000-00000000000a';
  const answers = async (suggestionId: string, snapshotId: string) => [
    (await bob.request(AcceptSuggestions, { input: { budgetId: BUDGET.id, suggestionIds: [suggestionId] } })).acceptSuggestions,
    (await bob.request(CreateSuggestionsApplyJob, { input: { budgetId: BUDGET.id, suggestionIds: [suggestionId] } })).createSuggestionsApplyJob,
    (await bob.request(CreateSnapshotRedownloadJob, { input: { budgetId: BUDGET.id, snapshotId } })).createSnapshotRedownloadJob,
  ];
  const withAlicesIds = await answers(suggestions[0]!.id, snapshot.snapshotId!);
  expect(withAlicesIds.map((a) => a.__typename)).toEqual(['SuggestionNotFoundError', 'SuggestionNotFoundError', 'SnapshotNotFoundError']);
  const withUnknownIds = await answers(unknownSuggestion, '00000000-0000-4000-8000-00000000000b');
  const normalised = (value: unknown) => JSON.stringify(value).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>');
  expect(normalised(withAlicesIds)).toBe(normalised(withUnknownIds));
  // Alice's payee is not Bob's until Bob syncs the budget himself.
  const retry = (await bob.request(CreateSuggestionsRetryPayeeJob, { input: { budgetId: BUDGET.id, payeeId } })).createSuggestionsRetryPayeeJob;
  expect(retry).toMatchObject({ __typename: 'PayeeNotFoundError', payeeId });
  expect(await tenantARows()).toBe(before);
  expect(Number((await db.pool.query(`select count(*) from job where tenant_id = 'tenant-b'`)).rows[0].count)).toBe(0);
});

it("a tenant's sync of the same budget is its own copy; it leaves the other tenant's untouched", async () => {
  const before = await tenantARows();
  const job = await succeeded(bob, create.sync(bob, BUDGET.id));
  expect(job.syncedTransactionCount).toBe(400);
  expect(await tenantARows()).toBe(before);
  const { rows } = await db.pool.query(`select tenant_id, count(*)::int as n from budget_transaction group by tenant_id order by tenant_id`);
  expect(rows).toEqual([
    { tenant_id: 'tenant-a', n: 400 },
    { tenant_id: 'tenant-b', n: 400 },
  ]);
  expect((await db.pool.query(`select tenant_id from budget_job where job_id = $1`, [uuidOf(job.id)])).rows[0].tenant_id).toBe('tenant-b');
});

it('reading needs jobs:read, creating jobs:write', async () => {
  const refused = await bobReader.send(CreateBudgetSyncJob, { input: { budgetId: BUDGET.id } });
  expect(refused.body.errors?.[0]?.message).toMatch(/needs the scope jobs:write/);
  expect((await bobReader.request(BudgetJobs, { budgetId: BUDGET.id })).budgetJobs.edges.length).toBe(1);
});
