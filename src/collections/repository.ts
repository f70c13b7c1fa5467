// CollectionJobRepository: the contract on Postgres, in SQL like the other kinds' repositories. The job row goes
// through the core's status machine (its triggers write history and notify);
// counters move in single SQL statements so concurrent writers cannot lose updates.
import type pg from 'pg';
import { DEFAULT_TENANT } from '../auth/principal.ts';
import { withTransaction } from '../db/pool.ts';
import { NO_FLOW_OPTIONS } from '../core/flow-options.ts';
import { insertJobs } from '../job-state/insert.ts';
import { JobKind, JobStatus } from '../generated/prisma/enums.ts';
import { applyTransition } from '../job-state/transition.ts';
import {
  COLLECTION_JOB_TYPE,
  DEFAULT_LIST_LIMIT,
  type CollectionJob,
  type FailedSymbol,
  type ICollectionJobRepository,
  type CollectionStats,
} from './kind.ts';
import { isUuid } from '../core/validation.ts';

/** A job row with its collection_job row, in the shape of CollectionJob. */
const SELECT_JOB = `
  select j.id, j.status, j.error_message as "errorMessage", c.symbols, c.timeframe,
         c.range_from as "rangeFrom", c.range_to as "rangeTo", c.provider,
         c.completed_symbol_count as "completedSymbolCount", c.failed_symbol_count as "failedSymbolCount",
         c.candle_count as "candleCount", c.new_candle_count as "newCandleCount", j.created_at as "createdAt"
    from job j join collection_job c on c.job_id = j.id`;

/** Newest first, as NEWEST_FIRST (src/jobs/order.ts) orders GraphQL lists. */
const NEWEST_FIRST_SQL = 'order by j.created_at desc, j.id desc';

export class CollectionJobRepository implements ICollectionJobRepository {
  /** Over a pool: a new job's rows go in one transaction, through the job-state module's insert. */
  constructor(private readonly db: pg.Pool) {}

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
      candleCount: job.candleCount,
      newCandleCount: job.newCandleCount,
    };
    await withTransaction(this.db, async (client) => {
      const updated = await client.query(
        `update collection_job set completed_symbol_count = $2, failed_symbol_count = $3, candle_count = $4, new_candle_count = $5
          where job_id = $1`,
        [job.id, counters.completedSymbolCount, counters.failedSymbolCount, counters.candleCount, counters.newCandleCount],
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
                                     completed_symbol_count, failed_symbol_count, candle_count, new_candle_count)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [job.id, job.symbols, job.timeframe, job.rangeFrom, job.rangeTo, job.provider,
          counters.completedSymbolCount, counters.failedSymbolCount, counters.candleCount, counters.newCandleCount],
      );
      await client.query(`insert into collection_symbol (job_id, symbol) select $1, unnest($2::text[])`, [job.id, job.symbols]);
    });
  }

  async getById(jobId: string): Promise<CollectionJob | null> {
    if (!isUuid(jobId)) return null;
    const { rows } = await this.db.query<CollectionJob>(`${SELECT_JOB} where j.id = $1 and j.kind = 'COLLECTION'`, [jobId]);
    return rows[0] ?? null;
  }

  async delete(jobId: string): Promise<boolean> {
    if (!isUuid(jobId)) return false;
    const deleted = await this.db.query(`delete from job where id = $1 and kind = 'COLLECTION'`, [jobId]);
    return (deleted.rowCount ?? 0) > 0;
  }

  /** `limit` null: every matching job. */
  async listByStatus(status: JobStatus, limit: number | null = DEFAULT_LIST_LIMIT, offset = 0): Promise<CollectionJob[]> {
    const { rows } = await this.db.query<CollectionJob>(
      `${SELECT_JOB} where j.kind = 'COLLECTION' and j.status = $1::job_status ${NEWEST_FIRST_SQL} limit $2 offset $3`,
      [status, limit, offset],
    );
    return rows;
  }

  async listRecent(limit = DEFAULT_LIST_LIMIT, since: Date | null = null): Promise<CollectionJob[]> {
    const { rows } = await this.db.query<CollectionJob>(
      `${SELECT_JOB} where j.kind = 'COLLECTION' and ($2::timestamptz is null or j.created_at >= $2) ${NEWEST_FIRST_SQL} limit $1`,
      [limit, since],
    );
    return rows;
  }

  /** Seed 002: every running job, not a page (there are at most as many as worker slots). */
  async getRunningJobs(): Promise<CollectionJob[]> {
    return this.listByStatus(JobStatus.RUNNING, null);
  }

  async updateStatus(jobId: string, status: JobStatus, errorMessage: string | null = null): Promise<boolean> {
    if (!isUuid(jobId)) return false;
    return applyTransition(this.db, jobId, JobKind.COLLECTION, status, errorMessage);
  }

  async addFailedSymbol(jobId: string, symbol: string, error: string): Promise<void> {
    if (!isUuid(jobId)) return;
    await this.db.query(
      `with recorded as (
         insert into collection_failed_symbol (job_id, symbol, error)
         select job_id, $2, $3 from collection_job where job_id = $1
       ), marked as (
         update collection_symbol set status = 'FAILED', error = $3, updated_at = now()
          where job_id = $1 and symbol = $2 and status = 'PENDING'
         returning 1
       )
       update collection_job set failed_symbol_count = failed_symbol_count + (select count(*) from marked)
        where job_id = $1`,
      [jobId, symbol, error],
    );
  }

  async getStats(jobId: string): Promise<CollectionStats | null> {
    if (!isUuid(jobId)) return null;
    const { rows } = await this.db.query<CollectionStats>(
      `select cardinality(symbols) as "symbolCount", completed_symbol_count as "completedSymbolCount",
              failed_symbol_count as "failedSymbolCount", candle_count as "candleCount", new_candle_count as "newCandleCount"
         from collection_job where job_id = $1`,
      [jobId],
    );
    return rows[0] ?? null;
  }

  async listFailedSymbols(jobId: string): Promise<FailedSymbol[]> {
    if (!isUuid(jobId)) return [];
    const { rows } = await this.db.query<FailedSymbol>(
      `select symbol, error, failed_at as "failedAt" from collection_failed_symbol where job_id = $1 order by id`,
      [jobId],
    );
    return rows;
  }

  async markSymbolCompleted(jobId: string, symbol: string, candleCount: number, newCandleCount: number): Promise<void> {
    await this.db.query(
      `with previous as (
         select status from collection_symbol
          where job_id = $1 and symbol = $2 and status <> 'COMPLETED'
          for update
       ), done as (
         update collection_symbol set status = 'COMPLETED', candle_count = $3, new_candle_count = $4, error = null, updated_at = now()
          where job_id = $1 and symbol = $2 and status <> 'COMPLETED'
         returning candle_count, new_candle_count
       )
       update collection_job
          set completed_symbol_count = completed_symbol_count + (select count(*) from done),
              failed_symbol_count = failed_symbol_count - (select count(*) from previous where status = 'FAILED'),
              candle_count = candle_count + coalesce((select sum(candle_count) from done), 0),
              new_candle_count = new_candle_count + coalesce((select sum(new_candle_count) from done), 0)
        where job_id = $1`,
      [jobId, symbol, candleCount, newCandleCount],
    );
  }

  async beginAttempt(jobId: string): Promise<string[]> {
    if (!isUuid(jobId)) return [];
    // One statement: failed symbols become pending again; the unfinished ones are read
    // from the statement's snapshot (where a failed symbol is unfinished too).
    const { rows } = await this.db.query<{ symbols: string[]; unfinished: string[] }>(
      `with reset as (
         update collection_symbol set status = 'PENDING', error = null where job_id = $1 and status = 'FAILED'
       ), cleared as (
         delete from collection_failed_symbol where job_id = $1
       ), zeroed as (
         update collection_job set failed_symbol_count = 0 where job_id = $1 returning symbols
       )
       select z.symbols, array(select symbol from collection_symbol where job_id = $1 and status <> 'COMPLETED') as unfinished
         from zeroed z`,
      [jobId],
    );
    const row = rows[0];
    if (!row) return [];
    const unfinished = new Set(row.unfinished);
    return row.symbols.filter((symbol) => unfinished.has(symbol));
  }
}
