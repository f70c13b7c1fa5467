// InMemoryCollectionJobRepository (seed 002): the contract over plain maps, for
// tests of code that needs a repository but not a database. The contract suite
// (test/collections/repository.test.ts) holds it to the Postgres behaviour; its
// status moves follow the core's table (src/job-state/statuses.ts).
import { FAILURE_STATUSES, isTransitionAllowed, JobStatus } from '../../src/job-state/statuses.ts';
import {
  DEFAULT_LIST_LIMIT,
  type CollectionJob,
  type FailedSymbol,
  type ICollectionJobRepository,
  type CollectionStats,
} from '../../src/collections/kind.ts';

type SymbolStatus = 'PENDING' | 'COMPLETED' | 'FAILED';

/** The stored job: the repository moves its status and counters (callers get readonly copies). */
type StoredJob = { -readonly [K in keyof CollectionJob]: CollectionJob[K] };

interface Entry {
  job: StoredJob;
  symbols: Map<string, { status: SymbolStatus; candleCount: number }>;
  failed: FailedSymbol[];
}

const copy = (job: CollectionJob): StoredJob => ({ ...job, symbols: [...job.symbols] });
const newestFirst = (a: CollectionJob, b: CollectionJob) =>
  b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export class InMemoryCollectionJobRepository implements ICollectionJobRepository {
  readonly #entries = new Map<string, Entry>();

  async save(job: CollectionJob): Promise<void> {
    const existing = this.#entries.get(job.id);
    if (existing) {
      const { completedSymbolCount, failedSymbolCount, candleCount, newCandleCount } = job;
      Object.assign(existing.job, { completedSymbolCount, failedSymbolCount, candleCount, newCandleCount });
      return;
    }
    this.#entries.set(job.id, {
      // A new job enters as PENDING, as the Postgres implementation's does.
      job: { ...copy(job), status: JobStatus.PENDING },
      symbols: new Map(job.symbols.map((symbol) => [symbol, { status: 'PENDING' as SymbolStatus, candleCount: 0 }])),
      failed: [],
    });
  }

  async getById(jobId: string): Promise<CollectionJob | null> {
    const entry = this.#entries.get(jobId);
    return entry ? copy(entry.job) : null;
  }

  async delete(jobId: string): Promise<boolean> {
    return this.#entries.delete(jobId);
  }

  async listByStatus(status: JobStatus, limit = DEFAULT_LIST_LIMIT, offset = 0): Promise<CollectionJob[]> {
    return this.#jobs()
      .filter((job) => job.status === status)
      .slice(offset, offset + limit);
  }

  async listRecent(limit = DEFAULT_LIST_LIMIT, since: Date | null = null): Promise<CollectionJob[]> {
    return this.#jobs()
      .filter((job) => !since || job.createdAt >= since)
      .slice(0, limit);
  }

  async getRunningJobs(): Promise<CollectionJob[]> {
    return this.#jobs().filter((job) => job.status === JobStatus.RUNNING);
  }

  async updateStatus(jobId: string, status: JobStatus, errorMessage: string | null = null): Promise<boolean> {
    const job = this.#entries.get(jobId)?.job;
    if (!job || !isTransitionAllowed(job.status, status)) return false;
    const reason = errorMessage ?? job.errorMessage;
    if (FAILURE_STATUSES.includes(status) && reason === null) return false;
    job.status = status;
    job.errorMessage = reason;
    return true;
  }

  async addFailedSymbol(jobId: string, symbol: string, error: string): Promise<void> {
    const entry = this.#entries.get(jobId);
    if (!entry) return;
    entry.failed.push({ symbol, error, failedAt: new Date() });
    const progress = entry.symbols.get(symbol);
    if (progress?.status === 'PENDING') {
      progress.status = 'FAILED';
      entry.job.failedSymbolCount += 1;
    }
  }

  async getStats(jobId: string): Promise<CollectionStats | null> {
    const job = this.#entries.get(jobId)?.job;
    if (!job) return null;
    return {
      symbolCount: job.symbols.length,
      completedSymbolCount: job.completedSymbolCount,
      failedSymbolCount: job.failedSymbolCount,
      candleCount: job.candleCount,
      newCandleCount: job.newCandleCount,
    };
  }

  async listFailedSymbols(jobId: string): Promise<FailedSymbol[]> {
    return (this.#entries.get(jobId)?.failed ?? []).map((failed) => ({ ...failed }));
  }

  async markSymbolCompleted(jobId: string, symbol: string, candleCount: number, newCandleCount: number): Promise<void> {
    const entry = this.#entries.get(jobId);
    const progress = entry?.symbols.get(symbol);
    if (!entry || !progress || progress.status === 'COMPLETED') return;
    if (progress.status === 'FAILED') entry.job.failedSymbolCount -= 1;
    progress.status = 'COMPLETED';
    progress.candleCount = candleCount;
    entry.job.completedSymbolCount += 1;
    entry.job.candleCount += candleCount;
    entry.job.newCandleCount += newCandleCount;
  }

  async beginAttempt(jobId: string): Promise<string[]> {
    const entry = this.#entries.get(jobId);
    if (!entry) return [];
    for (const progress of entry.symbols.values()) {
      if (progress.status === 'FAILED') progress.status = 'PENDING';
    }
    entry.failed = [];
    entry.job.failedSymbolCount = 0;
    return entry.job.symbols.filter((symbol) => entry.symbols.get(symbol)?.status !== 'COMPLETED');
  }

  #jobs(): CollectionJob[] {
    return [...this.#entries.values()].map((entry) => copy(entry.job)).sort(newestFirst);
  }
}
