// With the default settings (BUDGET_PROVIDER=sample, no network), every budget
// job type runs on the sample budget: what `npm start` demonstrates offline.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SAMPLE_BUDGET_ID } from '../../src/budgets/sample-provider.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { create, succeeded } from '../support/budgets.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { AcceptSuggestions, BudgetSuggestions } from '../support/operations-budgets.ts';

let db: TestDatabase;
let service: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url);
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

it('sync, suggestions, retry per payee, apply, snapshot and redownload all succeed on the sample budget', async () => {
  const client = service.client;
  const synced = await succeeded(client, create.syncAndSuggest(client, SAMPLE_BUDGET_ID));
  expect(synced.syncedTransactionCount).toBe(1000);
  expect(synced.suggestionCount).toBeGreaterThan(0);
  await succeeded(client, create.sync(client, SAMPLE_BUDGET_ID));
  await succeeded(client, create.suggestions(client, SAMPLE_BUDGET_ID));
  const [first] = (await client.request(BudgetSuggestions, { budgetId: SAMPLE_BUDGET_ID, status: 'PENDING', first: 1 })).budgetSuggestions.edges.map((e) => e.node);
  await succeeded(client, create.retryPayee(client, SAMPLE_BUDGET_ID, first!.payeeId!));
  await client.request(AcceptSuggestions, { input: { budgetId: SAMPLE_BUDGET_ID, suggestionIds: [first!.id] } });
  const applied = await succeeded(client, create.apply(client, SAMPLE_BUDGET_ID));
  expect(applied.appliedSuggestionCount).toBe(1);
  const snapshot = await succeeded(client, create.snapshot(client, SAMPLE_BUDGET_ID));
  const redownload = await succeeded(client, create.redownload(client, SAMPLE_BUDGET_ID, snapshot.snapshotId!));
  expect(redownload.result).toMatchObject({ verified: true });
});
