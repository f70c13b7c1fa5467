// The budget provider port: what budget jobs need from a budgeting service.
// Shaped after the YNAB API (budgets, accounts, categories, payees,
// transactions; delta requests with last_knowledge_of_server and the
// server_knowledge each answer carries; bulk transaction updates). Adapters:
// the YNAB HTTP API, and a sample budget shipped in the repository so that
// `npm start` can run every budget job offline. Amounts are milliunits, as YNAB
// sends them; ids are the provider's own strings.

/** A position in the provider's change history; a delta request passes the last one stored. */
export type ServerKnowledge = number;

export interface BudgetSummary {
  id: string;
  name: string;
  currencyIsoCode: string | null;
  lastModifiedOn: string | null;
}

export interface Account {
  id: string;
  name: string;
  type: string;
  closed: boolean;
  deleted: boolean;
}

export interface Category {
  id: string;
  name: string;
  categoryGroupName: string;
  hidden: boolean;
  deleted: boolean;
}

export interface Payee {
  id: string;
  name: string;
  /** Set on the payees YNAB creates for transfers between accounts. */
  transferAccountId: string | null;
  deleted: boolean;
}

export interface Transaction {
  id: string;
  accountId: string;
  /** ISO date, YYYY-MM-DD. */
  date: string;
  amountMilliunits: number;
  payeeId: string | null;
  payeeName: string | null;
  categoryId: string | null;
  memo: string | null;
  approved: boolean;
  deleted: boolean;
}

/** One answer of a delta request: the changed (or, without knowledge, all) entities. */
export interface Delta<T> {
  items: T[];
  serverKnowledge: ServerKnowledge;
}

/** A category written back to one transaction. */
export interface TransactionCategoryUpdate {
  transactionId: string;
  categoryId: string;
}

export interface TransactionUpdateResult {
  /** Transactions the provider reports as updated. */
  updatedTransactionIds: string[];
  serverKnowledge: ServerKnowledge;
}

export interface BudgetProvider {
  /** The adapter's name, as configuration and job metadata spell it ("ynab", "sample"). */
  readonly name: string;
  /** Throws BudgetProviderError with code NOT_FOUND for an unknown budget. */
  getBudget(budgetId: string, signal: AbortSignal): Promise<BudgetSummary>;
  accounts(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): Promise<Delta<Account>>;
  categories(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): Promise<Delta<Category>>;
  payees(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): Promise<Delta<Payee>>;
  /**
   * Transactions changed since `since` (all without it), page by page, so a
   * budget of any size is never held whole. Every page carries the
   * serverKnowledge of the answer it came from; store the last one only after
   * every page is stored.
   */
  transactionPages(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): AsyncIterable<Delta<Transaction>>;
  /** One bulk write of categories to transactions. */
  updateTransactionCategories(
    budgetId: string,
    updates: readonly TransactionCategoryUpdate[],
    signal: AbortSignal,
  ): Promise<TransactionUpdateResult>;
  /** The whole budget as the provider exports it (JSON bytes), streamed. */
  exportBudget(budgetId: string, signal: AbortSignal): AsyncIterable<Uint8Array>;
}

export type BudgetProviderErrorCode =
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'BAD_RESPONSE';

/**
 * A provider failure. `message` is user-safe by construction: adapters build it
 * from the code and the HTTP status only, never from a URL, a header, a token
 * or the provider's body, because it becomes the job's failureReason.
 */
export class BudgetProviderError extends Error {
  override name = 'BudgetProviderError';
  constructor(
    readonly code: BudgetProviderErrorCode,
    message: string,
    /** Whether running the job again later may succeed (5xx, 429 past its wait, network). */
    readonly retriable: boolean,
  ) {
    super(message);
  }
}
