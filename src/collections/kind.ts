// The collection kind: its job type, what a CollectionJob is, and seed 002's
// repository contract (ICollectionJobRepository; repository.ts implements it on
// Postgres, test/support has an in-memory one). Method names are the seed's own
// (snake_case) so the contract reads one-to-one against the specification.
import type { JobStatus } from '../generated/prisma/enums.ts';

/** The job_type of every CollectionJob (its handler in handler.ts). */
export const COLLECTION_JOB_TYPE = 'collection.collect';

export const TIMEFRAMES = ['1m', '5m', '15m', '1h', '4h', '1d', '1w'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

export interface FailedSymbol {
  readonly symbol: string;
  readonly error: string;
  readonly failedAt: Date;
}

/** A CollectionJob as the domain sees it: the job row plus its collection_job row. */
export interface CollectionJob {
  readonly id: string;
  readonly status: JobStatus;
  readonly errorMessage: string | null;
  readonly symbols: readonly string[];
  readonly timeframe: Timeframe;
  readonly rangeFrom: Date;
  readonly rangeTo: Date;
  readonly provider: string;
  readonly completedSymbolCount: number;
  readonly failedSymbolCount: number;
  /** Candles fetched within the range. */
  readonly candleCount: number;
  /** Candles the candle table did not have before (fetched again: 0). */
  readonly newCandleCount: number;
  readonly createdAt: Date;
}

/**
 * Seed 002's JobStats, its names (total, completed, failed, total_candles)
 * made counts: symbolCount, completedSymbolCount and failedSymbolCount count
 * symbols, candleCount and newCandleCount count candles.
 */
export interface CollectionStats {
  /** Symbols the job was asked to collect. */
  readonly symbolCount: number;
  readonly completedSymbolCount: number;
  readonly failedSymbolCount: number;
  /** Candles fetched within the range. */
  readonly candleCount: number;
  /** Of those, candles the candle table did not have before. */
  readonly newCandleCount: number;
}

export interface ICollectionJobRepository {
  /** Inserts the job, or updates its counters when it exists. */
  save(job: CollectionJob): Promise<void>;
  getById(jobId: string): Promise<CollectionJob | null>;
  /** Whether a job was deleted. */
  delete(jobId: string): Promise<boolean>;
  /** Newest first. */
  listByStatus(status: JobStatus, limit?: number, offset?: number): Promise<CollectionJob[]>;
  /** Newest first; created at or after `since` when given. */
  listRecent(limit?: number, since?: Date | null): Promise<CollectionJob[]>;
  getRunningJobs(): Promise<CollectionJob[]>;
  /**
   * Moves the job to `status` if the status machine allows it from the job's
   * current status, in one atomic step. Returns whether it applied.
   */
  updateStatus(jobId: string, status: JobStatus, errorMessage?: string | null): Promise<boolean>;
  /** Records a symbol that failed after its retries and counts it. */
  addFailedSymbol(jobId: string, symbol: string, error: string): Promise<void>;
  getStats(jobId: string): Promise<CollectionStats | null>;

  // Beyond the seed: what per-symbol progress and resumable retries need.
  /** Failed symbols of the job, oldest first. */
  listFailedSymbols(jobId: string): Promise<FailedSymbol[]>;
  /** Counts a symbol as collected: `candleCount` fetched, `newCandleCount` of them new to the candle table. */
  markSymbolCompleted(jobId: string, symbol: string, candleCount: number, newCandleCount: number): Promise<void>;
  /**
   * Symbols still to collect, in the job's order. Failed symbols count as
   * unfinished: their failure records and counts are cleared, so a retry
   * collects them again and nothing else.
   */
  beginAttempt(jobId: string): Promise<string[]>;
}

export const DEFAULT_LIST_LIMIT = 50;
