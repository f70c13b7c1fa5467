// PrismaCollectionJobRepository: the contract on Postgres. The job row goes
// through the core's status machine (its triggers write history and notify);
// counters move in single SQL statements so concurrent writers cannot lose updates.
import { JobKind, JobStatus } from '../generated/prisma/enums.ts';
import type { Prisma, PrismaClient } from '../generated/prisma/client.ts';
import {
  DEFAULT_LIST_LIMIT,
  type CollectionJob,
  type FailedSymbol,
  type ICollectionJobRepository,
  type JobStats,
  type Timeframe,
} from './repository.ts';

/** The job_type of every CollectionJob (its handler in handler.ts). */
export const COLLECTION_JOB_TYPE = 'collection.collect';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
    completedSymbols: collection.completedSymbols,
    failedSymbols: collection.failedSymbols,
    totalCandles: collection.totalCandles,
    newCandles: collection.newCandles,
    createdAt: row.createdAt,
  };
}

export class PrismaCollectionJobRepository implements ICollectionJobRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Persists only: queuing a new job for a worker is createCollectionJob's (create.ts). */
  async save(job: CollectionJob): Promise<void> {
    const counters = {
      completedSymbols: job.completedSymbols,
      failedSymbols: job.failedSymbols,
      totalCandles: job.totalCandles,
      newCandles: job.newCandles,
    };
    await this.prisma.$transaction(async (tx) => {
      const updated = await tx.collectionJob.updateMany({ where: { jobId: job.id }, data: counters });
      if (updated.count > 0) return;
      await tx.job.create({
        data: {
          id: job.id,
          kind: JobKind.COLLECTION,
          jobType: COLLECTION_JOB_TYPE,
          status: job.status,
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

  async get_by_id(job_id: string): Promise<CollectionJob | null> {
    if (!UUID.test(job_id)) return null;
    const row = await this.prisma.job.findFirst({
      where: { id: job_id, kind: JobKind.COLLECTION },
      include: withCollection,
    });
    return row ? toCollectionJob(row) : null;
  }

  async delete(job_id: string): Promise<boolean> {
    if (!UUID.test(job_id)) return false;
    const deleted = await this.prisma.job.deleteMany({ where: { id: job_id, kind: JobKind.COLLECTION } });
    return deleted.count > 0;
  }

  async list_by_status(status: JobStatus, limit = DEFAULT_LIST_LIMIT, offset = 0): Promise<CollectionJob[]> {
    return this.#list({ status }, limit, offset);
  }

  async list_recent(limit = DEFAULT_LIST_LIMIT, since: Date | null = null): Promise<CollectionJob[]> {
    return this.#list(since ? { createdAt: { gte: since } } : {}, limit, 0);
  }

  async get_running_jobs(): Promise<CollectionJob[]> {
    return this.#list({ status: JobStatus.RUNNING }, undefined, 0);
  }

  async update_status(job_id: string, status: JobStatus, error_message: string | null = null): Promise<boolean> {
    if (!UUID.test(job_id)) return false;
    // One statement: the transition check and the write cannot be separated by another writer.
    const applied = await this.prisma.$executeRaw`
      update job
         set status = ${status}::job_status,
             error_message = coalesce(${error_message}::text, error_message)
       where id = ${job_id}::uuid
         and kind = 'COLLECTION'
         and job_status_transition_allowed(status, ${status}::job_status)
         and (${status}::job_status not in ('FAILED', 'DEAD_LETTER')
              or coalesce(${error_message}::text, error_message) is not null)`;
    return applied > 0;
  }

  async add_failed_symbol(job_id: string, symbol: string, error: string): Promise<void> {
    if (!UUID.test(job_id)) return;
    await this.prisma.$executeRaw`
      with recorded as (
        insert into collection_failed_symbol (job_id, symbol, error)
        select job_id, ${symbol}, ${error} from collection_job where job_id = ${job_id}::uuid
      ), marked as (
        update collection_symbol set status = 'FAILED', error = ${error}, updated_at = now()
         where job_id = ${job_id}::uuid and symbol = ${symbol} and status = 'PENDING'
        returning 1
      )
      update collection_job set failed_symbols = failed_symbols + (select count(*) from marked)
       where job_id = ${job_id}::uuid`;
  }

  async get_stats(job_id: string): Promise<JobStats | null> {
    if (!UUID.test(job_id)) return null;
    const row = await this.prisma.collectionJob.findUnique({ where: { jobId: job_id } });
    if (!row) return null;
    return {
      total: row.symbols.length,
      completed: row.completedSymbols,
      failed: row.failedSymbols,
      total_candles: row.totalCandles,
      new_candles: row.newCandles,
    };
  }

  async list_failed_symbols(job_id: string): Promise<FailedSymbol[]> {
    if (!UUID.test(job_id)) return [];
    const rows = await this.prisma.collectionFailedSymbol.findMany({ where: { jobId: job_id }, orderBy: { id: 'asc' } });
    return rows.map(({ symbol, error, failedAt }) => ({ symbol, error, failedAt }));
  }

  async mark_symbol_completed(job_id: string, symbol: string, candles: number, new_candles: number): Promise<void> {
    await this.prisma.$executeRaw`
      with previous as (
        select status from collection_symbol
         where job_id = ${job_id}::uuid and symbol = ${symbol} and status <> 'COMPLETED'
         for update
      ), done as (
        update collection_symbol set status = 'COMPLETED', candles = ${candles}, new_candles = ${new_candles}, error = null, updated_at = now()
         where job_id = ${job_id}::uuid and symbol = ${symbol} and status <> 'COMPLETED'
        returning candles, new_candles
      )
      update collection_job
         set completed_symbols = completed_symbols + (select count(*) from done),
             failed_symbols = failed_symbols - (select count(*) from previous where status = 'FAILED'),
             total_candles = total_candles + coalesce((select sum(candles) from done), 0),
             new_candles = new_candles + coalesce((select sum(new_candles) from done), 0)
       where job_id = ${job_id}::uuid`;
  }

  async begin_attempt(job_id: string): Promise<string[]> {
    if (!UUID.test(job_id)) return [];
    const [, , , pending, job] = await this.prisma.$transaction([
      this.prisma.collectionSymbol.updateMany({ where: { jobId: job_id, status: 'FAILED' }, data: { status: 'PENDING', error: null } }),
      this.prisma.collectionFailedSymbol.deleteMany({ where: { jobId: job_id } }),
      this.prisma.collectionJob.updateMany({ where: { jobId: job_id }, data: { failedSymbols: 0 } }),
      this.prisma.collectionSymbol.findMany({ where: { jobId: job_id, status: { not: 'COMPLETED' } }, select: { symbol: true } }),
      this.prisma.collectionJob.findUnique({ where: { jobId: job_id }, select: { symbols: true } }),
    ]);
    const unfinished = new Set(pending.map((row) => row.symbol));
    return (job?.symbols ?? []).filter((symbol) => unfinished.has(symbol));
  }

  async #list(where: Prisma.JobWhereInput, limit = DEFAULT_LIST_LIMIT, offset: number): Promise<CollectionJob[]> {
    const rows = await this.prisma.job.findMany({
      where: { ...where, kind: JobKind.COLLECTION },
      include: withCollection,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit,
      skip: offset,
    });
    return rows.map(toCollectionJob);
  }
}
