// One YNAB-shaped budget held in memory with YNAB's change tracking: every
// entity remembers the server knowledge at which it last changed, and a delta
// request (last_knowledge_of_server = N) answers those changed after N. The
// local YNAB server serves it over HTTP; the sample provider reads it directly.
import type { YnabAccount, YnabBudget, YnabBudgetSummary, YnabCategoryGroup, YnabPayee, YnabTransaction } from './ynab-wire.ts';

/** One category written back to one transaction, as PATCH /budgets/{id}/transactions spells it. */
export interface YnabCategoryUpdate {
  id: string;
  category_id: string;
}

/** An update naming a category the budget does not have (YNAB answers 400, nothing changed). */
export class UnknownCategoryError extends Error {
  override name = 'UnknownCategoryError';
}

export class BudgetStore {
  #knowledge = 1;
  /** Entity id → the server knowledge at which it last changed. */
  readonly #changedAt = new Map<string, number>();
  readonly #transactionsById = new Map<string, YnabTransaction>();
  readonly #categoryNames = new Map<string, string>();

  constructor(readonly budget: YnabBudget) {
    for (const transaction of budget.transactions) this.#transactionsById.set(transaction.id, transaction);
    for (const group of budget.category_groups) for (const category of group.categories) this.#categoryNames.set(category.id, category.name);
  }

  get id(): string {
    return this.budget.id;
  }

  get serverKnowledge(): number {
    return this.#knowledge;
  }

  summary(): YnabBudgetSummary {
    const { id, name, last_modified_on, currency_format } = this.budget;
    return { id, name, last_modified_on, currency_format };
  }

  #changedSince<T extends { id: string }>(items: T[], since: number | null): T[] {
    return since === null ? items : items.filter((item) => (this.#changedAt.get(item.id) ?? 1) > since);
  }

  accounts(since: number | null): YnabAccount[] {
    return this.#changedSince(this.budget.accounts, since);
  }

  payees(since: number | null): YnabPayee[] {
    return this.#changedSince(this.budget.payees, since);
  }

  /** Groups with their changed categories; a group appears when it or one of its categories changed. */
  categoryGroups(since: number | null): YnabCategoryGroup[] {
    if (since === null) return this.budget.category_groups;
    return this.budget.category_groups
      .map((group) => ({ ...group, categories: this.#changedSince(group.categories, since) }))
      .filter((group) => group.categories.length > 0 || (this.#changedAt.get(group.id) ?? 1) > since);
  }

  /**
   * Transactions changed after `since` (all without it), in a stable order
   * (the budget's own), `limit` of them from `offset`; `total` counts them all.
   */
  transactions(since: number | null, offset = 0, limit = Number.POSITIVE_INFINITY): { items: YnabTransaction[]; total: number } {
    const changed = this.#changedSince(this.budget.transactions, since);
    return { items: changed.slice(offset, offset + limit), total: changed.length };
  }

  /**
   * Writes categories to transactions; unknown transaction ids are skipped (not
   * in the answer), an unknown category refuses the whole request. One new
   * server knowledge for the request, as YNAB does.
   */
  updateCategories(updates: readonly YnabCategoryUpdate[]): { updatedIds: string[]; transactions: YnabTransaction[] } {
    const unknown = updates.find((update) => !this.#categoryNames.has(update.category_id));
    if (unknown) throw new UnknownCategoryError(`category ${unknown.category_id} does not exist`);
    const knowledge = this.#knowledge + 1;
    const transactions: YnabTransaction[] = [];
    for (const update of updates) {
      const transaction = this.#transactionsById.get(update.id);
      if (!transaction) continue;
      transaction.category_id = update.category_id;
      transaction.category_name = this.#categoryNames.get(update.category_id)!;
      transaction.approved = true;
      this.#changedAt.set(transaction.id, knowledge);
      transactions.push(transaction);
    }
    if (transactions.length) this.#knowledge = knowledge;
    return { updatedIds: transactions.map((transaction) => transaction.id), transactions };
  }

  /**
   * Changes the memo and amount of `count` transactions spread over the budget
   * (as someone editing in YNAB would), under one new server knowledge. Returns
   * their ids: exactly what the next delta request answers.
   */
  mutate(count: number): string[] {
    const all = this.budget.transactions;
    const n = Math.min(count, all.length);
    const knowledge = ++this.#knowledge;
    const ids: string[] = [];
    // A stride through the budget picks n distinct transactions (n * step <= length), others with each call.
    const step = Math.max(1, Math.floor(all.length / Math.max(1, n)));
    for (let i = 0; i < n; i++) {
      const transaction = all[(i * step + knowledge) % all.length]!;
      transaction.memo = `edited at knowledge ${knowledge}`;
      transaction.amount -= 10;
      this.#changedAt.set(transaction.id, knowledge);
      ids.push(transaction.id);
    }
    return ids;
  }

  /**
   * The whole budget as YNAB's GET /budgets/{id} answers it
   * (`{"data":{"budget":{…},"server_knowledge":N}}`), in chunks of about
   * `transactionsPerChunk` transactions, so a large budget is never one string.
   */
  *exportChunks(transactionsPerChunk = 1000): Generator<string> {
    const { transactions, ...rest } = this.budget;
    const head = JSON.stringify(rest);
    yield `{"data":{"budget":${head.slice(0, -1)},"transactions":[`;
    for (let i = 0; i < transactions.length; i += transactionsPerChunk) {
      const chunk = transactions.slice(i, i + transactionsPerChunk).map((transaction) => JSON.stringify(transaction));
      yield (i === 0 ? '' : ',') + chunk.join(',');
    }
    yield `]},"server_knowledge":${this.#knowledge}}}`;
  }
}
