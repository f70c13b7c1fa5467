// Jobs that write one budget run one at a time (the concurrency key
// budget:<budgetId>, limit 1), across worker processes: two syncs of one
// budget created at once on two workers run one after the other.
import { beforeAll, expect, it } from 'vitest';
import type { TestApp } from '../support/app.ts';
import { startApiAndTwoWorkers } from '../support/flow.ts';
import { budgetProviderEnv, create, finished, generateBudget, startBudgetServer } from '../support/budgets.ts';
import type { YnabServer } from '../../src/testing/ynab-server.ts';

const BUDGET = generateBudget({ seed: 23, transactions: 3000 });
let api: TestApp;
let server: YnabServer;

beforeAll(async () => {
  // Each answer takes a while, so that two syncs left to run together would overlap.
  server = await startBudgetServer([BUDGET], 15);
  const env = { ...budgetProviderEnv(server), YNAB_TRANSACTIONS_PAGE_SIZE: '500' };
  ({ api } = await startApiAndTwoWorkers(env, env));
}, 90_000);

it('two syncs of one budget created at once on two workers: they run one after the other', async () => {
  const from = server.requests.length;
  const [a, b] = await Promise.all([create.sync(api.client, BUDGET.id, true), create.sync(api.client, BUDGET.id, true)]);
  const [doneA, doneB] = await Promise.all([finished(api.client, a.id), finished(api.client, b.id)]);
  for (const done of [doneA, doneB]) expect(done.job).toMatchObject({ budgetStatus: 'SUCCEEDED', syncedTransactionCount: 3000, retryCount: 0 });

  const [first, second] = [doneA.job, doneB.job].sort((x, y) => Date.parse(x.startedAt!) - Date.parse(y.startedAt!));
  expect(Date.parse(second!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(first!.completedAt!));
  // The provider saw one whole sync, then the other: pages 1..6 twice, never interleaved.
  const pages = server.requests
    .slice(from)
    .filter((r) => r.path === `/budgets/${BUDGET.id}/transactions`)
    .map((r) => Number(r.query.page));
  expect(pages).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
});
