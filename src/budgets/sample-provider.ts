// The sample adapter of the budget provider port: a small realistic budget
// (3 accounts, 20 categories, 40 payees in near-identical name variants, 1,000
// transactions over two years, about 10% uncategorised), generated at load
// from a fixed seed by the same generator the local YNAB server uses, so that
// `npm start` demonstrates every budget job offline. It behaves as YNAB does:
// deltas by server knowledge, which moves only when categories are written;
// those writes live in this process's memory until it exits.
import { generateBudget } from './budget-generator.ts';
import { BudgetStore, UnknownCategoryError } from './budget-store.ts';
import {
  BudgetProviderError,
  type Account,
  type BudgetProvider,
  type BudgetSummary,
  type Category,
  type Delta,
  type Payee,
  type ServerKnowledge,
  type Transaction,
  type TransactionCategoryUpdate,
  type TransactionUpdateResult,
} from './provider.ts';
import { toAccount, toCategories, toPayee, toTransaction, type YnabBudget } from './ynab-wire.ts';

/** The id of the sample budget (createBudgetJob's budgetId to use with BUDGET_PROVIDER=sample). */
export const SAMPLE_BUDGET_ID = '5a3b1e0c-7d2f-4c1a-9e8b-000000000017';

/** The sample budget: the same on every load. */
export function sampleBudget(): YnabBudget {
  return generateBudget({
    seed: 17,
    id: SAMPLE_BUDGET_ID,
    name: 'Sample household budget',
    transactions: 1000,
    accounts: 3,
    payees: 40,
    categories: 20,
    uncategorisedShare: 0.1,
  });
}

export interface SampleBudgetProviderOptions {
  /** Default: the sample budget alone. */
  budgets?: YnabBudget[];
  /** Transactions per page (250: the sample's 1,000 come in four pages, as a large budget would come in many). */
  pageSize?: number;
}

export class SampleBudgetProvider implements BudgetProvider {
  readonly name = 'sample';
  readonly #stores: Map<string, BudgetStore>;
  readonly #pageSize: number;

  constructor(options: SampleBudgetProviderOptions = {}) {
    this.#stores = new Map((options.budgets ?? [sampleBudget()]).map((budget) => [budget.id, new BudgetStore(budget)]));
    this.#pageSize = options.pageSize ?? 250;
  }

  #store(budgetId: string, signal: AbortSignal): BudgetStore {
    signal.throwIfAborted();
    const store = this.#stores.get(budgetId);
    if (!store) throw new BudgetProviderError('NOT_FOUND', 'sample budget provider: not found (no such budget)', false);
    return store;
  }

  async getBudget(budgetId: string, signal: AbortSignal): Promise<BudgetSummary> {
    const { id, name, currency_format, last_modified_on } = this.#store(budgetId, signal).summary();
    return { id, name, currencyIsoCode: currency_format?.iso_code ?? null, lastModifiedOn: last_modified_on ?? null };
  }

  async accounts(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): Promise<Delta<Account>> {
    const store = this.#store(budgetId, signal);
    const items = store.accounts(since).map(toAccount);
    return { items, serverKnowledge: store.serverKnowledge };
  }

  async categories(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): Promise<Delta<Category>> {
    const store = this.#store(budgetId, signal);
    const items = store.categoryGroups(since).flatMap(toCategories);
    return { items, serverKnowledge: store.serverKnowledge };
  }

  async payees(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): Promise<Delta<Payee>> {
    const store = this.#store(budgetId, signal);
    const items = store.payees(since).map(toPayee);
    return { items, serverKnowledge: store.serverKnowledge };
  }

  async *transactionPages(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): AsyncIterable<Delta<Transaction>> {
    const store = this.#store(budgetId, signal);
    const serverKnowledge = store.serverKnowledge;
    for (let offset = 0; ; offset += this.#pageSize) {
      signal.throwIfAborted();
      const { items, total } = store.transactions(since, offset, this.#pageSize);
      yield { items: items.map(toTransaction), serverKnowledge };
      if (offset + this.#pageSize >= total) return;
    }
  }

  async updateTransactionCategories(
    budgetId: string,
    updates: readonly TransactionCategoryUpdate[],
    signal: AbortSignal,
  ): Promise<TransactionUpdateResult> {
    const store = this.#store(budgetId, signal);
    try {
      const { updatedIds } = store.updateCategories(updates.map((update) => ({ id: update.transactionId, category_id: update.categoryId })));
      return { updatedTransactionIds: updatedIds, serverKnowledge: store.serverKnowledge };
    } catch (error) {
      // As YNAB answers HTTP 400: the whole write refused, nothing changed.
      if (error instanceof UnknownCategoryError) throw new BudgetProviderError('BAD_RESPONSE', 'sample budget provider: unexpected answer (unknown category)', false);
      throw error;
    }
  }

  async *exportBudget(budgetId: string, signal: AbortSignal): AsyncIterable<Uint8Array> {
    const store = this.#store(budgetId, signal);
    const encoder = new TextEncoder();
    for (const chunk of store.exportChunks()) {
      signal.throwIfAborted();
      yield encoder.encode(chunk);
    }
  }
}
