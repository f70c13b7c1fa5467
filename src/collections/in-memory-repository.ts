// InMemoryCollectionJobRepository (seed 002): the contract over plain maps, for
// tests of code that needs a repository but not a database. The contract suite
// (test/collection-repository.test.ts) holds it to the Postgres behaviour.
import { JobStatus } from '../generated/prisma/enums.ts';
import {
  DEFAULT_LIST_LIMIT,
  type CollectionJob,
  type FailedSymbol,
  type ICollectionJobRepository,
  type JobStats,
} from './repository.ts';

type SymbolStatus = 'PENDING' | 'COMPLETED' | 'FAILED';

interface Entry {
  job: CollectionJob;
  symbols: Map<string, { status: SymbolStatus; candles: number }>;
  failed: FailedSymbol[];
}

// The database's job_status_transition_allowed, restated for the in-memory store.
const ALLOWED: Record<JobStatus, readonly JobStatus[]> = {
  PENDING: ['RUNNING', 'CANCELLED'],
  SCHEDULED: ['PENDING', 'RUNNING', 'CANCELLED'],
  RUNNING: ['COMPLETED', 'FAILED', 'RETRYING', 'DEAD_LETTER', 'CANCELLED'],
  RETRYING: ['RUNNING', 'CANCELLED'],
  FAILED: ['PENDING'],
  DEAD_LETTER: ['PENDING'],
  CANCELLED: ['PENDING'],
  COMPLETED: [],
};

const copy = (job: CollectionJob): CollectionJob => ({ ...job, symbols: [...job.symbols] });
const newestFirst = (a: CollectionJob, b: CollectionJob) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export class InMemoryCollectionJobRepository implements ICollectionJobRepository {
  readonly #entries = new Map<string, Entry>();

  async save(job: CollectionJob): Promise<void> {
    const existing = this.#entries.get(job.id);
    if (existing) {
      const { completedSymbols, failedSymbols, totalCandles, newCandles } = job;
      Object.assign(existing.job, { completedSymbols, failedSymbols, totalCandles, newCandles });
      return;
    }
    this.#entries.set(job.id, {
      job: copy(job),
      symbols: new Map(job.symbols.map((symbol) => [symbol, { status: 'PENDING' as SymbolStatus, candles: 0 }])),
      failed: [],
    });
  }

  async get_by_id(job_id: string): Promise<CollectionJob | null> {
    const entry = this.#entries.get(job_id);
    return entry ? copy(entry.job) : null;
  }

  async delete(job_id: string): Promise<boolean> {
    return this.#entries.delete(job_id);
  }

  async list_by_status(status: JobStatus, limit = DEFAULT_LIST_LIMIT, offset = 0): Promise<CollectionJob[]> {
    return this.#jobs()
      .filter((job) => job.status === status)
      .slice(offset, offset + limit);
  }

  async list_recent(limit = DEFAULT_LIST_LIMIT, since: Date | null = null): Promise<CollectionJob[]> {
    return this.#jobs()
      .filter((job) => !since || job.createdAt >= since)
      .slice(0, limit);
  }

  async get_running_jobs(): Promise<CollectionJob[]> {
    return this.#jobs().filter((job) => job.status === JobStatus.RUNNING);
  }

  async update_status(job_id: string, status: JobStatus, error_message: string | null = null): Promise<boolean> {
    const job = this.#entries.get(job_id)?.job;
    if (!job || !ALLOWED[job.status].includes(status)) return false;
    const errorMessage = error_message ?? job.errorMessage;
    if ((status === JobStatus.FAILED || status === JobStatus.DEAD_LETTER) && errorMessage === null) return false;
    job.status = status;
    job.errorMessage = errorMessage;
    return true;
  }

  async add_failed_symbol(job_id: string, symbol: string, error: string): Promise<void> {
    const entry = this.#entries.get(job_id);
    if (!entry) return;
    entry.failed.push({ symbol, error, failedAt: new Date() });
    const progress = entry.symbols.get(symbol);
    if (progress?.status === 'PENDING') {
      progress.status = 'FAILED';
      entry.job.failedSymbols += 1;
    }
  }

  async get_stats(job_id: string): Promise<JobStats | null> {
    const job = this.#entries.get(job_id)?.job;
    if (!job) return null;
    return {
      total: job.symbols.length,
      completed: job.completedSymbols,
      failed: job.failedSymbols,
      total_candles: job.totalCandles,
      new_candles: job.newCandles,
    };
  }

  async list_failed_symbols(job_id: string): Promise<FailedSymbol[]> {
    return (this.#entries.get(job_id)?.failed ?? []).map((failed) => ({ ...failed }));
  }

  async mark_symbol_completed(job_id: string, symbol: string, candles: number, new_candles: number): Promise<void> {
    const entry = this.#entries.get(job_id);
    const progress = entry?.symbols.get(symbol);
    if (!entry || !progress || progress.status === 'COMPLETED') return;
    if (progress.status === 'FAILED') entry.job.failedSymbols -= 1;
    progress.status = 'COMPLETED';
    progress.candles = candles;
    entry.job.completedSymbols += 1;
    entry.job.totalCandles += candles;
    entry.job.newCandles += new_candles;
  }

  async begin_attempt(job_id: string): Promise<string[]> {
    const entry = this.#entries.get(job_id);
    if (!entry) return [];
    for (const progress of entry.symbols.values()) {
      if (progress.status === 'FAILED') progress.status = 'PENDING';
    }
    entry.failed = [];
    entry.job.failedSymbols = 0;
    return entry.job.symbols.filter((symbol) => entry.symbols.get(symbol)?.status !== 'COMPLETED');
  }

  #jobs(): CollectionJob[] {
    return [...this.#entries.values()].map((entry) => copy(entry.job)).sort(newestFirst);
  }
}
