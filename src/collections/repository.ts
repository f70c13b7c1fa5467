// Seed 002's ICollectionJobRepository: the persistence contract of CollectionJob.
// Method names are the seed's own (snake_case) so the contract reads one-to-one
// against the specification; every method is async.
import type { JobStatus } from '../generated/prisma/enums.ts';

export const TIMEFRAMES = ['1m', '5m', '15m', '1h', '4h', '1d', '1w'] as const;
export type Timeframe = (typeof TIMEFRAMES)[number];

export interface FailedSymbol {
  symbol: string;
  error: string;
  failedAt: Date;
}

/** A CollectionJob as the domain sees it: the job row plus its collection_job row. */
export interface CollectionJob {
  id: string;
  status: JobStatus;
  errorMessage: string | null;
  symbols: string[];
  timeframe: Timeframe;
  rangeFrom: Date;
  rangeTo: Date;
  provider: string;
  completedSymbols: number;
  failedSymbols: number;
  /** Candles fetched within the range. */
  totalCandles: number;
  /** Candles the candle table did not have before (fetched again: 0). */
  newCandles: number;
  createdAt: Date;
}

/** Seed 002's JobStats: aggregated statistics of one job. */
export interface JobStats {
  /** Symbols the job was asked to collect. */
  total: number;
  completed: number;
  failed: number;
  /** Candles fetched within the range. */
  total_candles: number;
  /** Of those, candles the candle table did not have before. */
  new_candles: number;
}

export interface ICollectionJobRepository {
  /** Inserts the job, or updates its counters when it exists. */
  save(job: CollectionJob): Promise<void>;
  get_by_id(job_id: string): Promise<CollectionJob | null>;
  /** Whether a job was deleted. */
  delete(job_id: string): Promise<boolean>;
  /** Newest first. */
  list_by_status(status: JobStatus, limit?: number, offset?: number): Promise<CollectionJob[]>;
  /** Newest first; created at or after `since` when given. */
  list_recent(limit?: number, since?: Date | null): Promise<CollectionJob[]>;
  get_running_jobs(): Promise<CollectionJob[]>;
  /**
   * Moves the job to `status` if the status machine allows it from the job's
   * current status, in one atomic step. Returns whether it applied.
   */
  update_status(job_id: string, status: JobStatus, error_message?: string | null): Promise<boolean>;
  /** Records a symbol that failed after its retries and counts it. */
  add_failed_symbol(job_id: string, symbol: string, error: string): Promise<void>;
  get_stats(job_id: string): Promise<JobStats | null>;

  // Beyond the seed: what per-symbol progress and resumable retries need.
  /** Failed symbols of the job, oldest first. */
  list_failed_symbols(job_id: string): Promise<FailedSymbol[]>;
  /** Counts a symbol as collected: `candles` fetched, `new_candles` of them new to the candle table. */
  mark_symbol_completed(job_id: string, symbol: string, candles: number, new_candles: number): Promise<void>;
  /**
   * Symbols still to collect, in the job's order. Failed symbols count as
   * unfinished: their failure records and counts are cleared, so a retry
   * collects them again and nothing else.
   */
  begin_attempt(job_id: string): Promise<string[]>;
}

export const DEFAULT_LIST_LIMIT = 50;
