// CollectionJobRepository: the contract on Postgres. The job row goes
// through the core's status machine (its triggers write history and notify);
// counters move in single SQL statements so concurrent writers cannot lose updates.
import { NEWEST_FIRST } from '../jobs/order.ts';
import type { Queryable } from '../db/pool.ts';
import { JobKind, JobStatus } from '../generated/prisma/enums.ts';
import { applyTransition } from '../job-state/transition.ts';
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';
import {
  COLLECTION_JOB_TYPE,
  DEFAULT_LIST_LIMIT,
  type CollectionJob,
  type FailedSymbol,
  type ICollectionJobRepository,
  type CollectionStats,
  type Timeframe,
} from './kind.ts';
import { isUuid } from '../jobs/validation.ts';

const withCollection = { collectionJob: true } as const;
type JobRow = Prisma.JobGetPayload<{ include: typeof withCollection }>;

function toCollectionJob(row: JobRow): CollectionJob {
  const collection = row.collectionJob!;
  return {
    id: row.id,
    status: row.status,
    errorMessage: row.errorMessage,
    symbols: collection.symbols,
    timeframe: collection.timeframe as Timeframe,
    rangeFrom: collection.rangeFrom,
    rangeTo: collection.rangeTo,
    provider: collection.provider,
    completedSymbolCount: collection.completedSymbolCount,
    failedSymbolCount: collection.failedSymbolCount,
    totalCandles: collection.totalCandles,
    newCandleCount: collection.newCandleCount,
    createdAt: row.createdAt,
  };
}

export class CollectionJobRepository implements ICollectionJobRepository {
  constructor(
    private readonly prisma: PrismaClient,
    /** The pool under `prisma`: status writes go through the job-state module's SQL. */
    private readonly db: Queryable,
  ) {}

  /**
   * Persists only: queuing a new job for a worker is createCollectionJob's
   * (create.ts). A new job enters the status machine as PENDING (the column's
   * default); its status then moves only through updateStatus (job-state).
   */
  async save(job: CollectionJob): Promise<void> {
    const counters = {
      completedSymbolCount: job.completedSymbolCount,
      failedSymbolCount: job.failedSymbolCount,
      totalCandles: job.totalCandles,
      newCandleCount: job.newCandleCount,
    };
    await this.prisma.$transaction(async (tx) => {
      const updated = await tx.collectionJob.updateMany({ where: { jobId: job.id }, data: counters });
      if (updated.count > 0) return;
      await tx.job.create({
        data: {
          id: job.id,
          kind: JobKind.COLLECTION,
          jobType: COLLECTION_JOB_TYPE,
          errorMessage: job.errorMessage,
          createdAt: job.createdAt,
          collectionJob: {
            create: {
              symbols: job.symbols,
              timeframe: job.timeframe,
              rangeFrom: job.rangeFrom,
              rangeTo: job.rangeTo,
              provider: job.provider,
              ...counters,
              symbolProgress: { createMany: { data: job.symbols.map((symbol) => ({ symbol })) } },
            },
          },
        },
      });
    });
  }

  async getById(jobId: string): Promise<CollectionJob | null> {
    if (!isUuid(jobId)) return null;
    const row = await this.prisma.job.findFirst({
      where: { id: jobId, kind: JobKind.COLLECTION },
      include: withCollection,
    });
    return row ? toCollectionJob(row) : null;
  }

  async delete(jobId: string): Promise<boolean> {
    if (!isUuid(jobId)) return false;
    const deleted = await this.prisma.job.deleteMany({ where: { id: jobId, kind: JobKind.COLLECTION } });
    return deleted.count > 0;
  }

  async listByStatus(status: JobStatus, limit = DEFAULT_LIST_LIMIT, offset = 0): Promise<CollectionJob[]> {
    return this.#list({ status }, limit, offset);
  }

  async listRecent(limit = DEFAULT_LIST_LIMIT, since: Date | null = null): Promise<CollectionJob[]> {
    return this.#list(since ? { createdAt: { gte: since } } : {}, limit, 0);
  }

  /** Seed 002: every running job, not a page (there are at most as many as worker slots). */
  async getRunningJobs(): Promise<CollectionJob[]> {
    return this.#list({ status: JobStatus.RUNNING }, null, 0);
  }

  async updateStatus(jobId: string, status: JobStatus, errorMessage: string | null = null): Promise<boolean> {
    if (!isUuid(jobId)) return false;
    return applyTransition(this.db, jobId, JobKind.COLLECTION, status, errorMessage);
  }

  async addFailedSymbol(jobId: string, symbol: string, error: string): Promise<void> {
    if (!isUuid(jobId)) return;
    await this.prisma.$executeRaw`
      with recorded as (
        insert into collection_failed_symbol (job_id, symbol, error)
        select job_id, ${symbol}, ${error} from collection_job where job_id = ${jobId}::uuid
      ), marked as (
        update collection_symbol set status = 'FAILED', error = ${error}, updated_at = now()
         where job_id = ${jobId}::uuid and symbol = ${symbol} and status = 'PENDING'
        returning 1
      )
      update collection_job set failed_symbol_count = failed_symbol_count + (select count(*) from marked)
       where job_id = ${jobId}::uuid`;
  }

  async getStats(jobId: string): Promise<CollectionStats | null> {
    if (!isUuid(jobId)) return null;
    const row = await this.prisma.collectionJob.findUnique({ where: { jobId } });
    if (!row) return null;
    return {
      total: row.symbols.length,
      completed: row.completedSymbolCount,
      failed: row.failedSymbolCount,
      totalCandles: row.totalCandles,
      newCandleCount: row.newCandleCount,
    };
  }

  async listFailedSymbols(jobId: string): Promise<FailedSymbol[]> {
    if (!isUuid(jobId)) return [];
    const rows = await this.prisma.collectionFailedSymbol.findMany({ where: { jobId }, orderBy: { id: 'asc' } });
    return rows.map(({ symbol, error, failedAt }) => ({ symbol, error, failedAt }));
  }

  async markSymbolCompleted(jobId: string, symbol: string, candles: number, newCandleCount: number): Promise<void> {
    await this.prisma.$executeRaw`
      with previous as (
        select status from collection_symbol
         where job_id = ${jobId}::uuid and symbol = ${symbol} and status <> 'COMPLETED'
         for update
      ), done as (
        update collection_symbol set status = 'COMPLETED', candles = ${candles}, new_candle_count = ${newCandleCount}, error = null, updated_at = now()
         where job_id = ${jobId}::uuid and symbol = ${symbol} and status <> 'COMPLETED'
        returning candles, new_candle_count
      )
      update collection_job
         set completed_symbol_count = completed_symbol_count + (select count(*) from done),
             failed_symbol_count = failed_symbol_count - (select count(*) from previous where status = 'FAILED'),
             total_candles = total_candles + coalesce((select sum(candles) from done), 0),
             new_candle_count = new_candle_count + coalesce((select sum(new_candle_count) from done), 0)
       where job_id = ${jobId}::uuid`;
  }

  async beginAttempt(jobId: string): Promise<string[]> {
    if (!isUuid(jobId)) return [];
    const [, , , pending, job] = await this.prisma.$transaction([
      this.prisma.collectionSymbol.updateMany({ where: { jobId, status: 'FAILED' }, data: { status: 'PENDING', error: null } }),
      this.prisma.collectionFailedSymbol.deleteMany({ where: { jobId } }),
      this.prisma.collectionJob.updateMany({ where: { jobId }, data: { failedSymbolCount: 0 } }),
      this.prisma.collectionSymbol.findMany({ where: { jobId, status: { not: 'COMPLETED' } }, select: { symbol: true } }),
      this.prisma.collectionJob.findUnique({ where: { jobId }, select: { symbols: true } }),
    ]);
    const unfinished = new Set(pending.map((row) => row.symbol));
    return (job?.symbols ?? []).filter((symbol) => unfinished.has(symbol));
  }

  /** `limit` null: every matching job. */
  async #list(where: Prisma.JobWhereInput, limit: number | null, offset: number): Promise<CollectionJob[]> {
    const rows = await this.prisma.job.findMany({
      where: { ...where, kind: JobKind.COLLECTION },
      include: withCollection,
      orderBy: NEWEST_FIRST,
      ...(limit === null ? {} : { take: limit }),
      skip: offset,
    });
    return rows.map(toCollectionJob);
  }
}
