// The stored budget: what budget_sync writes and what suggestions read. Every
// write is one batched upsert per page (unnest of column arrays), keyed by
// (tenant, budget, the provider's id), so storing a page again changes
// nothing and a delta writes only the rows it carries.
import type { Queryable } from '../db/pool.ts';
import type { Account, BudgetSummary, Category, Payee, ServerKnowledge, Transaction } from './provider.ts';

/** The budget rows a sync writes to: one tenant's copy of one provider budget. */
export interface StoredBudgetKey {
  tenantId: string;
  budgetId: string;
}

/** Server knowledge per entity kind; null: never synced (the next sync fetches everything). */
export interface BudgetKnowledge {
  accounts: ServerKnowledge | null;
  categories: ServerKnowledge | null;
  payees: ServerKnowledge | null;
  transactions: ServerKnowledge | null;
}

export const NO_KNOWLEDGE: BudgetKnowledge = { accounts: null, categories: null, payees: null, transactions: null };

const num = (value: string | null) => (value === null ? null : Number(value));

/** The last version of each id: one statement may not upsert a row twice. */
function lastById<T extends { id: string }>(items: readonly T[]): T[] {
  return [...new Map(items.map((item) => [item.id, item])).values()];
}

/** The stored budget's rows, over a pool or a transaction's client (one style with the other kinds' repositories). */
export class BudgetRepository {
  constructor(private readonly db: Queryable) {}

  async readKnowledge(key: StoredBudgetKey): Promise<BudgetKnowledge> {
    const { rows } = await this.db.query<Record<'accounts' | 'categories' | 'payees' | 'transactions', string | null>>(
      `select accounts_knowledge as accounts, categories_knowledge as categories, payees_knowledge as payees,
              transactions_knowledge as transactions
         from budget where tenant_id = $1 and budget_id = $2`,
      [key.tenantId, key.budgetId],
    );
    const row = rows[0];
    if (!row) return NO_KNOWLEDGE;
    return { accounts: num(row.accounts), categories: num(row.categories), payees: num(row.payees), transactions: num(row.transactions) };
  }

  /** The budget's row (name, provider), without touching its knowledge. */
  async upsertBudget(key: StoredBudgetKey, provider: string, summary: BudgetSummary): Promise<void> {
    await this.db.query(
      `insert into budget (tenant_id, budget_id, provider, name, currency_iso_code) values ($1, $2, $3, $4, $5)
       on conflict (tenant_id, budget_id) do update
         set provider = excluded.provider, name = excluded.name, currency_iso_code = excluded.currency_iso_code`,
      [key.tenantId, key.budgetId, provider, summary.name, summary.currencyIsoCode],
    );
  }

  /** Written last, once every page is stored: a sync that dies before fetches the same changes again. */
  async storeKnowledge(key: StoredBudgetKey, knowledge: BudgetKnowledge): Promise<void> {
    await this.db.query(
      `update budget set accounts_knowledge = $3, categories_knowledge = $4, payees_knowledge = $5,
                         transactions_knowledge = $6, synced_at = now()
        where tenant_id = $1 and budget_id = $2`,
      [key.tenantId, key.budgetId, knowledge.accounts, knowledge.categories, knowledge.payees, knowledge.transactions],
    );
  }

  async upsertAccounts(key: StoredBudgetKey, items: readonly Account[]): Promise<number> {
    const rows = lastById(items);
    if (rows.length === 0) return 0;
    await this.db.query(
      `insert into budget_account (tenant_id, budget_id, account_id, name, type, closed, deleted)
       select $1, $2, a.* from unnest($3::text[], $4::text[], $5::text[], $6::boolean[], $7::boolean[]) as a
       on conflict (tenant_id, budget_id, account_id) do update
         set name = excluded.name, type = excluded.type, closed = excluded.closed, deleted = excluded.deleted`,
      [key.tenantId, key.budgetId, rows.map((a) => a.id), rows.map((a) => a.name), rows.map((a) => a.type), rows.map((a) => a.closed), rows.map((a) => a.deleted)],
    );
    return rows.length;
  }

  async upsertCategories(key: StoredBudgetKey, items: readonly Category[]): Promise<number> {
    const rows = lastById(items);
    if (rows.length === 0) return 0;
    await this.db.query(
      `insert into budget_category (tenant_id, budget_id, category_id, name, category_group_name, hidden, deleted)
       select $1, $2, c.* from unnest($3::text[], $4::text[], $5::text[], $6::boolean[], $7::boolean[]) as c
       on conflict (tenant_id, budget_id, category_id) do update
         set name = excluded.name, category_group_name = excluded.category_group_name, hidden = excluded.hidden, deleted = excluded.deleted`,
      [
        key.tenantId,
        key.budgetId,
        rows.map((c) => c.id),
        rows.map((c) => c.name),
        rows.map((c) => c.categoryGroupName),
        rows.map((c) => c.hidden),
        rows.map((c) => c.deleted),
      ],
    );
    return rows.length;
  }

  async upsertPayees(key: StoredBudgetKey, items: readonly Payee[]): Promise<number> {
    const rows = lastById(items);
    if (rows.length === 0) return 0;
    await this.db.query(
      `insert into budget_payee (tenant_id, budget_id, payee_id, name, transfer_account_id, deleted)
       select $1, $2, p.* from unnest($3::text[], $4::text[], $5::text[], $6::boolean[]) as p
       on conflict (tenant_id, budget_id, payee_id) do update
         set name = excluded.name, transfer_account_id = excluded.transfer_account_id, deleted = excluded.deleted`,
      [key.tenantId, key.budgetId, rows.map((p) => p.id), rows.map((p) => p.name), rows.map((p) => p.transferAccountId), rows.map((p) => p.deleted)],
    );
    return rows.length;
  }

  /** One page of transactions, marked as written by `jobId`; returns how many rows it wrote. */
  async upsertTransactions(key: StoredBudgetKey, jobId: string, items: readonly Transaction[]): Promise<number> {
    const rows = lastById(items);
    if (rows.length === 0) return 0;
    await this.db.query(
      `insert into budget_transaction (tenant_id, budget_id, synced_by_job_id, transaction_id, account_id, date,
                                       amount_milliunits, payee_id, payee_name, category_id, memo, approved, deleted)
       select $1, $2, $3, t.* from unnest($4::text[], $5::text[], $6::date[], $7::bigint[], $8::text[], $9::text[],
                                          $10::text[], $11::text[], $12::boolean[], $13::boolean[]) as t
       on conflict (tenant_id, budget_id, transaction_id) do update
         set account_id = excluded.account_id, date = excluded.date, amount_milliunits = excluded.amount_milliunits,
             payee_id = excluded.payee_id, payee_name = excluded.payee_name, category_id = excluded.category_id,
             memo = excluded.memo, approved = excluded.approved, deleted = excluded.deleted,
             synced_by_job_id = excluded.synced_by_job_id, synced_at = now()`,
      [
        key.tenantId,
        key.budgetId,
        jobId,
        rows.map((t) => t.id),
        rows.map((t) => t.accountId),
        rows.map((t) => t.date),
        rows.map((t) => t.amountMilliunits),
        rows.map((t) => t.payeeId),
        rows.map((t) => t.payeeName),
        rows.map((t) => t.categoryId),
        rows.map((t) => t.memo),
        rows.map((t) => t.approved),
        rows.map((t) => t.deleted),
      ],
    );
    return rows.length;
  }
}
