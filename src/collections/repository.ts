// CollectionJobRepository: the contract on Postgres. The job row goes
// through the core's status machine (its triggers write history and notify);
// counters move in single SQL statements so concurrent writers cannot lose updates.
import { NEWEST_FIRST } from '../jobs/order.ts';
import type pg from 'pg';
import { DEFAULT_TENANT } from '../auth/principal.ts';
import { withTransaction } from '../db/pool.ts';
import { NO_FLOW_OPTIONS } from '../flow/options.ts';
import { insertJobs } from '../job-state/insert.ts';
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
    private readonly db: pg.Pool,
  ) {}

  /**
   * Seed 002's save: an existing job's counters are updated; a new job enters
   * the status machine through job-state's insert, as PENDING with its queue
   * entry (whatever status it says: only updateStatus moves a status), in the
   * default tenant and queue. The API creates jobs with createCollectionJob
   * (create.ts), which validates the request and applies the caller's tenant.
   */
  async save(job: CollectionJob): Promise<void> {
    const counters = {
      completedSymbolCount: job.completedSymbolCount,
      failedSymbolCount: job.failedSymbolCount,
      totalCandles: job.totalCandles,
      newCandleCount: job.newCandleCount,
    };
    await withTransaction(this.db, async (client) => {
      const updated = await client.query(
        `update collection_job set completed_symbol_count = $2, failed_symbol_count = $3, total_candles = $4, new_candle_count = $5
          where job_id = $1`,
        [job.id, counters.completedSymbolCount, counters.failedSymbolCount, counters.totalCandles, counters.newCandleCount],
      );
      if (updated.rowCount) return;
      await insertJobs(client, [
        {
          id: job.id,
          kind: JobKind.COLLECTION,
          queueName: 'default',
          jobType: COLLECTION_JOB_TYPE,
          payload: {},
          priority: 0,
          maxRetries: 3,
          scheduledAt: null,
          parentJobId: null,
          createdBy: null,
          tenantId: DEFAULT_TENANT,
          metadata: {},
          steps: [],
          flow: NO_FLOW_OPTIONS,
        },
      ]);
      // What the seed's job carries beyond a new job's defaults (no status among them).
      await client.query(`update job set created_at = $2, error_message = $3 where id = $1`, [job.id, job.createdAt, job.errorMessage]);
      await client.query(
        `insert into collection_job (job_id, symbols, timeframe, range_from, range_to, provider,
                                     completed_symbol_count, failed_symbol_count, total_candles, new_candle_count)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [job.id, job.symbols, job.timeframe, job.rangeFrom, job.rangeTo, job.provider,
          counters.completedSymbolCount, counters.failedSymbolCount, counters.totalCandles, counters.newCandleCount],
      );
      await client.query(`insert into collection_symbol (job_id, symbol) select $1, unnest($2::text[])`, [job.id, job.symbols]);
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
