// The hole of issue 23 with the default (sample) budget provider: tenant B
// syncs the budget id tenant A works on, accepts its suggestions and applies
// them. Before, both tenants wrote to one in-process sample budget, so A's next
// sync found B's categories and A's PENDING suggestions were gone. Now every
// tenant has its own copy of the sample budget: A's suggestions do not move.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { SAMPLE_BUDGET_ID } from '../../src/budgets/sample-provider.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { create, succeeded } from '../support/budgets.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { AcceptSuggestions } from '../support/operations-budgets.ts';

let db: TestDatabase;
let service: TestApp;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, { env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' } });
  const key = async (tenantId: string) => (await createApiKey(db.pool, { name: tenantId, tenantId, scopes: ['jobs:read', 'jobs:write'] })).key;
  alice = service.client.as(await key('tenant-a'));
  bob = service.client.as(await key('tenant-b'));
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

/** A tenant's suggestions by status, and its uncategorised stored transactions. */
async function stateOf(tenantId: string) {
  const { rows } = await db.pool.query(
    `select (select count(*)::int from category_suggestion where tenant_id = $1 and status = 'PENDING') as pending,
            (select count(*)::int from budget_transaction where tenant_id = $1 and category_id is null and not deleted) as uncategorised`,
    [tenantId],
  );
  return rows[0] as { pending: number; uncategorised: number };
}

it("tenant B syncing, accepting and applying on the sample budget id leaves tenant A's budget and pending suggestions as they were", async () => {
  await succeeded(alice, create.syncAndSuggest(alice, SAMPLE_BUDGET_ID));
  const before = await stateOf('tenant-a');
  expect(before.pending).toBeGreaterThan(0);

  await succeeded(bob, create.syncAndSuggest(bob, SAMPLE_BUDGET_ID));
  const { rows } = await db.pool.query<{ id: string }>(`select id from category_suggestion where tenant_id = 'tenant-b' and status = 'PENDING'`);
  expect(rows.length).toBe(before.pending);
  const accepted = await bob.request(AcceptSuggestions, { input: { budgetId: SAMPLE_BUDGET_ID, suggestionIds: rows.map((row) => row.id) } });
  expect(accepted.acceptSuggestions.__typename).toBe('MutationAcceptSuggestionsSuccess');
  const applied = await succeeded(bob, create.apply(bob, SAMPLE_BUDGET_ID));
  expect(applied.appliedSuggestionCount).toBe(rows.length);

  // A syncs again: its budget is its own, so nothing B wrote reaches it.
  const again = await succeeded(alice, create.syncAndSuggest(alice, SAMPLE_BUDGET_ID));
  expect(await stateOf('tenant-a')).toEqual(before);
  expect(again.syncedTransactionCount).toBe(0);
});
