// budget_sync: accounts, categories, payees and transactions of one budget,
// fetched from the provider as deltas since the stored server knowledge (all
// of them without it, or with fullResync) and upserted page by page, so memory
// holds one page at a time. The new knowledge is stored only after the last
// page: a sync that dies midway fetches the same changes again, and the
// upserts make that harmless.
import type pg from 'pg';
import type { JobContext } from '../core/handler.ts';
import type { BudgetProvider } from './provider.ts';
import { BudgetRepository, NO_KNOWLEDGE, type BudgetKnowledge } from './repository.ts';

/** The job a budget handler runs: its id and the budget_job row's budget and tenant. */
export interface BudgetJobRef {
  readonly jobId: string;
  readonly tenantId: string;
  readonly budgetId: string;
}

export interface SyncResult extends Record<string, unknown> {
  /** Whether the sync started from no knowledge (first sync or fullResync). */
  readonly full: boolean;
  readonly syncedAccountCount: number;
  readonly syncedCategoryCount: number;
  readonly syncedPayeeCount: number;
  readonly syncedTransactionCount: number;
  /** The provider's transactions knowledge now stored. */
  readonly serverKnowledge: number;
}

export async function syncBudget(
  pool: pg.Pool,
  provider: BudgetProvider,
  job: BudgetJobRef,
  fullResync: boolean,
  ctx: Pick<JobContext, 'signal' | 'progress'>,
  /** The share of the job's progress this sync fills (sync_and_suggest: 0..50). */
  progressSpan: [number, number] = [0, 100],
): Promise<SyncResult> {
  const { signal } = ctx;
  const [from, to] = progressSpan;
  let progressMessage = 'syncing accounts, categories and payees';
  const at = (share: number) => ctx.progress({ percent: from + (to - from) * share, message: progressMessage });
  const budgets = new BudgetRepository(pool);
  const since = fullResync ? NO_KNOWLEDGE : await budgets.readKnowledge(job);
  const full = since.transactions === null;

  await budgets.upsertBudget(job, provider.name, await provider.getBudget(job.budgetId, signal));
  await pool.query(`update budget_job set synced_transaction_count = 0 where job_id = $1`, [job.jobId]);
  at(0);
  const accounts = await provider.accounts(job.budgetId, since.accounts, signal);
  const syncedAccountCount = await budgets.upsertAccounts(job, accounts.items);
  const categories = await provider.categories(job.budgetId, since.categories, signal);
  const syncedCategoryCount = await budgets.upsertCategories(job, categories.items);
  const payees = await provider.payees(job.budgetId, since.payees, signal);
  const syncedPayeeCount = await budgets.upsertPayees(job, payees.items);
  at(0.1);

  let syncedTransactionCount = 0;
  let transactionsKnowledge = since.transactions;
  let pages = 0;
  for await (const page of provider.transactionPages(job.budgetId, since.transactions, signal)) {
    const written = await budgets.upsertTransactions(job, job.jobId, page.items);
    syncedTransactionCount += written;
    transactionsKnowledge = page.serverKnowledge;
    pages += 1;
    // The count jobUpdated shows (a trigger notifies on every write of budget_job).
    await pool.query(`update budget_job set synced_transaction_count = $2 where job_id = $1`, [job.jobId, syncedTransactionCount]);
    progressMessage = `${syncedTransactionCount} transactions synced`;
    // The number of pages is unknown up front: progress approaches 90% of the span page by page.
    at(0.1 + 0.8 * (1 - 1 / (pages + 1)));
  }
  signal.throwIfAborted();

  const knowledge: BudgetKnowledge = {
    accounts: accounts.serverKnowledge,
    categories: categories.serverKnowledge,
    payees: payees.serverKnowledge,
    transactions: transactionsKnowledge,
  };
  await budgets.storeKnowledge(job, knowledge);
  progressMessage = `${syncedTransactionCount} transactions synced`;
  at(1);
  return { full, syncedAccountCount, syncedCategoryCount, syncedPayeeCount, syncedTransactionCount, serverKnowledge: knowledge.transactions ?? 0 };
}
