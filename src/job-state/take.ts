// Take: a worker reads the queued jobs whose queue entries it fetched, without
// writing anything. It writes RUNNING only if a job runs for a while
// (mark-running.ts); a job done sooner goes from queued to COMPLETED in one
// write (complete.ts, completeTakenJobs).
import type { Queryable } from '../db/pool.ts';
import { JOB_ROW_COLUMNS, type JobRow } from './job-row.ts';
import { QUEUED_SQL } from './statuses.ts';

/** A queued job as a worker first reads it, before anything is written. */
export interface TakenJob extends JobRow {
  /** The database's clock when it was read, in full precision (the job's started_at if it finishes before RUNNING is written). */
  readonly takenAt: string;
  /** Its queue was paused when read / has a rate limit: the flow gates decide whether it starts (src/flow/gates.ts). */
  readonly queuePaused: boolean;
  readonly queueRateLimited: boolean;
  /** Its tenant has a running-job limit (tenant_scheduling): the gate counts its running jobs (src/flow/tenant-limit.ts). */
  readonly tenantLimited: boolean;
}

/** The queued jobs among these ids (PENDING, SCHEDULED, RETRYING), read without a write. */
export async function takeQueuedJobs(db: Queryable, jobIds: string[]): Promise<TakenJob[]> {
  const result = await db.query<TakenJob>({
    name: 'jobwire-take-queued-jobs',
    text: `select ${JOB_ROW_COLUMNS}, clock_timestamp()::text as "takenAt",
              exists (select 1 from paused_queue where paused_queue.queue_name = job.queue_name) as "queuePaused",
              exists (select 1 from queue_rate_limit where queue_rate_limit.queue_name = job.queue_name) as "queueRateLimited",
              exists (select 1 from tenant_scheduling as s where s.tenant_id = job.tenant_id and s.max_running_jobs is not null) as "tenantLimited"
       from job where id = any($1::uuid[]) and status in ${QUEUED_SQL}`,
    values: [jobIds],
  });
  return result.rows;
}
