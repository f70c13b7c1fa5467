// The source port: where a portfolio's activity comes from. Another broker is
// one more enum value (migration + Prisma) and one more adapter here.
import type { PortfolioImportSource } from '../generated/prisma/enums.ts';
import type { DateInterval } from './interval.ts';

export interface ImportedTrade {
  tradeId: string;
  tradeDate: string;
  symbol: string;
  conid: string | null;
  assetCategory: string | null;
  currency: string;
  buySell: string | null;
  quantity: string;
  tradePrice: string;
  proceeds: string | null;
  commission: string | null;
}

export interface ImportedCashTransaction {
  transactionId: string;
  date: string;
  type: string;
  description: string | null;
  symbol: string | null;
  currency: string;
  amount: string;
}

export interface ImportedPosition {
  reportDate: string;
  conid: string;
  symbol: string;
  assetCategory: string | null;
  currency: string;
  quantity: string;
  markPrice: string | null;
  positionValue: string | null;
  costBasis: string | null;
}

/** A statement's activity of one account, already cut to the interval. */
export interface PortfolioActivity {
  accountId: string;
  trades: ImportedTrade[];
  cashTransactions: ImportedCashTransaction[];
  positions: ImportedPosition[];
}

export interface ImportRequest {
  /** The job's tenant: a fetched statement is fetched with its credentials only. */
  tenantId: string;
  accountId: string;
  interval: DateInterval;
  /** An uploaded statement; null: the adapter fetches one. */
  statement: string | null;
  signal: AbortSignal;
}

export interface PortfolioSourceAdapter {
  source: PortfolioImportSource;
  /** Throws NonRetriableError for a statement that can never import (malformed, other account). */
  load(request: ImportRequest): Promise<PortfolioActivity>;
}
