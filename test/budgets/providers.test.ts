// The budget providers against what they talk to: the YNAB adapter against the
// local YNAB server (src/testing/ynab-server.ts) over real HTTP, the sample
// adapter in memory. One contract suite runs against both; then what only
// HTTP has: pages and deltas of a 10,000-transaction budget, 429 with
// Retry-After, 401, 404, a 500 that carries the token and URL, PATCH chunks,
// the streamed export.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { dispose } from '../support/dispose.ts';
import { createBudgetProviders, ynabProviderOptions } from '../../src/budgets/providers.ts';
import { BudgetProviderError, type BudgetProvider, type Transaction } from '../../src/budgets/provider.ts';
import { SAMPLE_BUDGET_ID, SampleBudgetProvider, sampleBudget } from '../../src/budgets/sample-provider.ts';
import { retryAfterMs, YnabProvider } from '../../src/budgets/ynab-provider.ts';
import type { YnabBudget } from '../../src/budgets/ynab-wire.ts';
import { ConfigError, loadConfig } from '../../src/service-config.ts';
import { generateBudget, startYnabServer, type YnabServer } from '../../src/testing/ynab-server.ts';

const TOKEN = 'ynab-test-token-7f3e9a';
const signal = new AbortController().signal;

async function ynabServer(budgets: YnabBudget[], options: { pagingExtension?: boolean } = {}): Promise<YnabServer> {
  const server = await startYnabServer({ budgets, token: TOKEN, ...options });
  dispose(() => server.close());
  return server;
}

/** The YNAB adapter as the configuration builds it (a tenant's, with `token`), pointed at the local server. */
function ynabProvider(server: YnabServer, env: Record<string, string> = {}, token = TOKEN): BudgetProvider {
  const config = loadConfig({
    BUDGET_PROVIDER: 'ynab',
    YNAB_API_URL: server.url,
    OUTBOUND_ALLOW_LIST: '127.0.0.1',
    YNAB_RETRY_BASE_DELAY_MS: '10',
    ...env,
  });
  return new YnabProvider({ ...ynabProviderOptions(config), accessToken: token });
}

async function allPages(provider: BudgetProvider, budgetId: string, since: number | null) {
  const pages: Array<{ items: Transaction[]; serverKnowledge: number }> = [];
  for await (const page of provider.transactionPages(budgetId, since, signal)) pages.push(page);
  return pages;
}

async function exportText(provider: BudgetProvider, budgetId: string): Promise<{ text: string; chunks: number }> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of provider.exportBudget(budgetId, signal)) chunks.push(chunk);
  return { text: Buffer.concat(chunks).toString('utf8'), chunks: chunks.length };
}

async function providerError(promise: Promise<unknown>): Promise<BudgetProviderError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a BudgetProviderError, the call succeeded');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(BudgetProviderError);
  return error as BudgetProviderError;
}

const contracts: Array<[string, () => Promise<BudgetProvider>]> = [
  ['ynab (local server)', async () => ynabProvider(await ynabServer([sampleBudget()]), { YNAB_TRANSACTIONS_PAGE_SIZE: '300' })],
  ['sample', async () => new SampleBudgetProvider()],
];

describe.each(contracts)('the %s provider keeps the port contract', (_name, make) => {
  it('describes the sample budget, its categories in groups, payees and accounts', async () => {
    const provider = await make();
    expect(await provider.getBudget(SAMPLE_BUDGET_ID, signal)).toMatchObject({ id: SAMPLE_BUDGET_ID, name: 'Sample household budget', currencyIsoCode: 'USD' });
    const categories = await provider.categories(SAMPLE_BUDGET_ID, null, signal);
    expect(categories.items).toHaveLength(20);
    expect(categories.items.find((category) => category.name === 'Groceries')).toMatchObject({ categoryGroupName: 'Everyday', hidden: false });
    const payees = await provider.payees(SAMPLE_BUDGET_ID, null, signal);
    expect(payees.items.filter((payee) => payee.transferAccountId === null)).toHaveLength(40);
    expect(payees.items.map((payee) => payee.name)).toEqual(expect.arrayContaining(['Amazon.com', expect.stringMatching(/^AMAZON\.COM\*\w+$/)]));
    expect((await provider.accounts(SAMPLE_BUDGET_ID, null, signal)).items).toHaveLength(3);
  });

  it('answers every transaction once, in pages; a delta after a category write answers exactly the written ones', async () => {
    const provider = await make();
    const pages = await allPages(provider, SAMPLE_BUDGET_ID, null);
    expect(pages.length).toBeGreaterThan(1);
    const transactions = pages.flatMap((page) => page.items);
    expect(new Set(transactions.map((transaction) => transaction.id)).size).toBe(1000);
    const uncategorised = transactions.filter((transaction) => transaction.categoryId === null);
    expect(uncategorised.length).toBeGreaterThan(50);
    const knowledge = pages.at(-1)!.serverKnowledge;
    expect(await allPages(provider, SAMPLE_BUDGET_ID, knowledge)).toEqual([{ items: [], serverKnowledge: knowledge }]);

    const groceries = (await provider.categories(SAMPLE_BUDGET_ID, null, signal)).items.find((category) => category.name === 'Groceries')!;
    const written = uncategorised.slice(0, 3).map((transaction) => ({ transactionId: transaction.id, categoryId: groceries.id }));
    const result = await provider.updateTransactionCategories(SAMPLE_BUDGET_ID, written, signal);
    expect(result.updatedTransactionIds.sort()).toEqual(written.map((update) => update.transactionId).sort());
    expect(result.serverKnowledge).toBeGreaterThan(knowledge);

    const delta = (await allPages(provider, SAMPLE_BUDGET_ID, knowledge)).flatMap((page) => page.items);
    expect(delta.map((transaction) => [transaction.id, transaction.categoryId]).sort()).toEqual(written.map((update) => [update.transactionId, groceries.id]).sort());
    expect((await provider.categories(SAMPLE_BUDGET_ID, result.serverKnowledge, signal)).items).toEqual([]);
  });

  it('refuses a write naming an unknown category as a whole, changing nothing', async () => {
    const provider = await make();
    const [transaction] = (await allPages(provider, SAMPLE_BUDGET_ID, null))[0]!.items;
    const knowledge = (await provider.accounts(SAMPLE_BUDGET_ID, null, signal)).serverKnowledge;
    const error = await providerError(
      provider.updateTransactionCategories(SAMPLE_BUDGET_ID, [{ transactionId: transaction!.id, categoryId: 'no-such-category' }], signal),
    );
    expect(error).toMatchObject({ code: 'BAD_RESPONSE', retriable: false });
    expect(await allPages(provider, SAMPLE_BUDGET_ID, knowledge)).toEqual([{ items: [], serverKnowledge: knowledge }]);
  });

  it('says NOT_FOUND for an unknown budget', async () => {
    const provider = await make();
    expect(await providerError(provider.getBudget('no-such-budget', signal))).toMatchObject({ code: 'NOT_FOUND', retriable: false });
    expect(await providerError(provider.payees('no-such-budget', null, signal))).toMatchObject({ code: 'NOT_FOUND', retriable: false });
  });

  it('exports the whole budget as JSON, streamed', async () => {
    const provider = await make();
    const { text, chunks } = await exportText(provider, SAMPLE_BUDGET_ID);
    expect(chunks).toBeGreaterThan(1);
    const exported = JSON.parse(text) as { data: { budget: YnabBudget; server_knowledge: number } };
    expect(exported.data.budget.id).toBe(SAMPLE_BUDGET_ID);
    expect(exported.data.budget.transactions).toHaveLength(1000);
  });
});

describe('the YNAB adapter against the local YNAB server', () => {
  it('syncs 10,000 transactions in pages, then a delta fetches only the 25 that changed', async () => {
    const budget = generateBudget({ seed: 1, transactions: 10_000, accounts: 4, payees: 80 });
    const server = await ynabServer([budget]);
    const provider = ynabProvider(server, { YNAB_TRANSACTIONS_PAGE_SIZE: '1000' });

    const full = await allPages(provider, budget.id, null);
    expect(full.map((page) => page.items.length)).toEqual(Array(10).fill(1000));
    expect(new Set(full.flatMap((page) => page.items.map((transaction) => transaction.id))).size).toBe(10_000);
    const transactionRequests = server.requests.filter((request) => request.path === `/budgets/${budget.id}/transactions`);
    expect(transactionRequests.map((request) => request.query)).toEqual(
      Array.from({ length: 10 }, (_, i) => ({ page: String(i + 1), per_page: '1000' })),
    );

    const changed = server.mutate(budget.id, 25);
    const knowledge = full.at(-1)!.serverKnowledge;
    server.requests.length = 0;
    const delta = await allPages(provider, budget.id, knowledge);
    expect(delta.flatMap((page) => page.items.map((transaction) => transaction.id)).sort()).toEqual([...changed].sort());
    expect(delta.at(-1)!.serverKnowledge).toBeGreaterThan(knowledge);
    expect(server.requests.map((request) => [request.path, request.query.last_knowledge_of_server])).toEqual([
      [`/budgets/${budget.id}/transactions`, String(knowledge)],
    ]);
  });

  it('reads an answer without next_page (real YNAB ignores page and per_page) as the only page', async () => {
    const server = await ynabServer([sampleBudget()], { pagingExtension: false });
    const pages = await allPages(ynabProvider(server, { YNAB_TRANSACTIONS_PAGE_SIZE: '100' }), SAMPLE_BUDGET_ID, null);
    expect(pages.map((page) => page.items.length)).toEqual([1000]);
    expect(server.requests).toHaveLength(1);
  });

  it('waits out a 429 for its Retry-After (2 s, by the times the server saw), then goes on', async () => {
    const server = await ynabServer([sampleBudget()]);
    const provider = ynabProvider(server);
    server.failNext({ status: 429, retryAfter: '2' });
    const payees = await provider.payees(SAMPLE_BUDGET_ID, null, signal);
    expect(payees.items.length).toBeGreaterThan(0);
    const [limited, retried] = server.requests;
    expect([limited!.status, retried!.status]).toEqual([429, 200]);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(2000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-12-01T06:00:00Z');
    expect(retryAfterMs('2', now)).toBe(2000);
    expect(retryAfterMs('Tue, 01 Dec 2026 06:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Tue, 01 Dec 2026 05:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });

  it('fails RATE_LIMITED (retriable) when 429s go on past YNAB_RATE_LIMIT_RETRIES waits', async () => {
    const server = await ynabServer([sampleBudget()]);
    const provider = ynabProvider(server, { YNAB_RATE_LIMIT_RETRIES: '2' });
    server.failNext(...Array(3).fill({ status: 429, retryAfter: '0' }));
    const error = await providerError(provider.accounts(SAMPLE_BUDGET_ID, null, signal));
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retriable: true, message: 'YNAB: rate limit still in force after waiting (HTTP 429)' });
    expect(server.requests.map((request) => request.status)).toEqual([429, 429, 429]);
  });

  it('stops waiting for a Retry-After when the job is cancelled', async () => {
    const server = await ynabServer([sampleBudget()]);
    const provider = ynabProvider(server);
    server.failNext({ status: 429, retryAfter: '600' });
    const controller = new AbortController();
    const call = provider.payees(SAMPLE_BUDGET_ID, null, controller.signal);
    await server.nextRequest();
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests).toHaveLength(1);
  });

  it('says UNAUTHORIZED for a token YNAB refuses, once, without retrying', async () => {
    const server = await ynabServer([sampleBudget()]);
    const provider = ynabProvider(server, {}, 'wrong-token');
    const error = await providerError(provider.categories(SAMPLE_BUDGET_ID, null, signal));
    expect(error).toMatchObject({ code: 'UNAUTHORIZED', retriable: false, message: 'YNAB: the access token was refused (HTTP 401)' });
    expect(server.requests.map((request) => request.status)).toEqual([401]);
  });

  it('says NOT_FOUND (HTTP 404) for the endpoints of an unknown budget', async () => {
    const server = await ynabServer([sampleBudget()]);
    const error = await providerError(allPages(ynabProvider(server), 'no-such-budget', null));
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'YNAB: not found (HTTP 404)' });
  });

  it('retries a 500 with backoff and succeeds; a 500 that lasts fails UNAVAILABLE without the token or URL in anything it carries', async () => {
    const server = await ynabServer([sampleBudget()]);
    const provider = ynabProvider(server, { YNAB_RETRIES: '2' });
    server.failNext({ status: 500 });
    expect((await provider.accounts(SAMPLE_BUDGET_ID, null, signal)).items).toHaveLength(3);
    expect(server.requests.map((request) => request.status)).toEqual([500, 200]);

    server.requests.length = 0;
    server.failNext({ status: 500 }, { status: 500 }, { status: 500 });
    const error = await providerError(provider.accounts(SAMPLE_BUDGET_ID, null, signal));
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retriable: true, message: 'YNAB: unavailable (HTTP 500)' });
    expect(server.requests.map((request) => request.status)).toEqual([500, 500, 500]);
    const { port } = new URL(server.url);
    for (const text of [error.message, String(error), JSON.stringify(error)]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(port);
      expect(text).not.toContain(`${SAMPLE_BUDGET_ID}/accounts`);
    }
    expect(error.stack).not.toContain(TOKEN);
  });

  it('says BAD_RESPONSE for an answer that is not JSON, or not the expected shape', async () => {
    const server = await ynabServer([sampleBudget()]);
    const provider = ynabProvider(server);
    server.failNext({ status: 200, body: '<html>maintenance</html>' });
    expect(await providerError(provider.payees(SAMPLE_BUDGET_ID, null, signal))).toMatchObject({ code: 'BAD_RESPONSE', message: 'YNAB: unexpected answer (HTTP 200, not JSON)' });
    server.failNext({ status: 200, body: '{"data":{"payees":"none"}}' });
    expect(await providerError(provider.payees(SAMPLE_BUDGET_ID, null, signal))).toMatchObject({ code: 'BAD_RESPONSE', retriable: false });
  });

  it('asks for the budget list once per YNAB_BUDGET_LIST_CACHE_MS, also for concurrent and unknown budgets; a failed answer is not kept', async () => {
    const server = await ynabServer([sampleBudget()]);
    const lists = () => server.requests.filter((request) => request.path === '/budgets').length;
    const provider = ynabProvider(server, { YNAB_RETRIES: '0' });
    server.failNext({ status: 503 });
    expect(await providerError(provider.getBudget(SAMPLE_BUDGET_ID, signal))).toMatchObject({ code: 'UNAVAILABLE' });
    const answers = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => provider.getBudget(i % 2 ? SAMPLE_BUDGET_ID : `no-such-budget-${i}`, signal)));
    expect(answers.filter((answer) => answer.status === 'fulfilled')).toHaveLength(10);
    expect(answers.filter((answer) => answer.status === 'rejected' && (answer.reason as BudgetProviderError).code === 'NOT_FOUND')).toHaveLength(10);
    // The failed answer, then one list for the twenty.
    expect(lists()).toBe(2);
    const uncached = ynabProvider(server, { YNAB_BUDGET_LIST_CACHE_MS: '0' });
    await uncached.getBudget(SAMPLE_BUDGET_ID, signal);
    await uncached.getBudget(SAMPLE_BUDGET_ID, signal);
    expect(lists()).toBe(4);
  });

  it('says UNAVAILABLE (retriable) when the server cannot be reached', async () => {
    const server = await ynabServer([sampleBudget()]);
    const provider = ynabProvider(server, { YNAB_RETRIES: '1' });
    await server.close();
    expect(await providerError(provider.getBudget(SAMPLE_BUDGET_ID, signal))).toMatchObject({ code: 'UNAVAILABLE', retriable: true, message: 'YNAB: unavailable (network error)' });
  });

  it('refuses a loopback API URL unless OUTBOUND_ALLOW_LIST lets it through, without naming it', async () => {
    const server = await ynabServer([sampleBudget()]);
    const error = await providerError(ynabProvider(server, { OUTBOUND_ALLOW_LIST: '' }).getBudget(SAMPLE_BUDGET_ID, signal));
    expect(error).toMatchObject({ code: 'UNAVAILABLE', retriable: false });
    expect(error.message).not.toContain('127.0.0.1');
    expect(server.requests).toEqual([]);
  });

  it('writes categories in PATCH chunks of YNAB_UPDATE_CHUNK_SIZE; the server receives each update once', async () => {
    const budget = generateBudget({ seed: 2, transactions: 2000 });
    const server = await ynabServer([budget]);
    const provider = ynabProvider(server, { YNAB_UPDATE_CHUNK_SIZE: '40' });
    const category = budget.category_groups[0]!.categories[0]!;
    const updates = budget.transactions
      .filter((transaction) => transaction.category_id === null)
      .slice(0, 100)
      .map((transaction) => ({ transactionId: transaction.id, categoryId: category.id }));
    expect(updates).toHaveLength(100);

    const result = await provider.updateTransactionCategories(budget.id, updates, signal);
    expect(result.updatedTransactionIds).toEqual(updates.map((update) => update.transactionId));
    const patches = server.requests.filter((request) => request.method === 'PATCH');
    expect(patches.map((request) => request.path)).toEqual(Array(3).fill(`/budgets/${budget.id}/transactions`));
    expect(server.receivedUpdates).toEqual(updates.map((update) => ({ budgetId: budget.id, ...update })));
  });

  it('streams the export of a 10,000-transaction budget as valid JSON', async () => {
    const budget = generateBudget({ seed: 3, transactions: 10_000 });
    const server = await ynabServer([budget]);
    const { text, chunks } = await exportText(ynabProvider(server), budget.id);
    expect(chunks).toBeGreaterThan(1);
    const exported = JSON.parse(text) as { data: { budget: YnabBudget } };
    expect(exported.data.budget.transactions.map((transaction) => transaction.id)).toEqual(budget.transactions.map((transaction) => transaction.id));
    expect(server.requests.map((request) => [request.method, request.path])).toEqual([['GET', `/budgets/${budget.id}`]]);
  });
});

describe('the budget provider configuration', () => {
  it('defaults to the sample provider; ynab with the server\'s credentials needs a token, named when missing', () => {
    expect(createBudgetProviders(loadConfig({}), null as never).name).toBe('sample');
    expect(loadConfig({ BUDGET_PROVIDER: 'ynab' }).BUDGET_PROVIDER).toBe('ynab');
    expect(() => loadConfig({ BUDGET_PROVIDER: 'ynab', PROVIDER_CREDENTIALS: 'server' })).toThrow(ConfigError);
    expect(() => loadConfig({ BUDGET_PROVIDER: 'ynab', PROVIDER_CREDENTIALS: 'server' })).toThrow(
      /YNAB_ACCESS_TOKEN: required when BUDGET_PROVIDER is ynab and PROVIDER_CREDENTIALS is server/,
    );
    expect(() => loadConfig({ BUDGET_PROVIDER: 'mint' })).toThrow(/BUDGET_PROVIDER/);
  });

  it('keeps the YNAB token out of what the provider shows of itself', () => {
    const provider = new YnabProvider({ ...ynabProviderOptions(loadConfig({ BUDGET_PROVIDER: 'ynab' })), accessToken: TOKEN });
    expect(provider.name).toBe('ynab');
    expect(inspect(provider, { depth: 10, showHidden: true })).not.toContain(TOKEN);
    expect(JSON.stringify(provider)).not.toContain(TOKEN);
  });

  it('generates the same budget from the same seed', () => {
    expect(generateBudget({ seed: 5, transactions: 50 })).toEqual(generateBudget({ seed: 5, transactions: 50 }));
    expect(generateBudget({ seed: 5, transactions: 50 }).id).not.toBe(generateBudget({ seed: 6, transactions: 50 }).id);
  });
});
