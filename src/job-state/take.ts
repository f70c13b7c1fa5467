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

/** What a taken job is read with: its row, the clock of its take, and the gates its start must pass. */
const TAKEN_JOB_COLUMNS = `${JOB_ROW_COLUMNS}, clock_timestamp()::text as "takenAt",
  exists (select 1 from paused_queue where paused_queue.queue_name = job.queue_name) as "queuePaused",
  exists (select 1 from queue_rate_limit where queue_rate_limit.queue_name = job.queue_name) as "queueRateLimited",
  exists (select 1 from tenant_scheduling as s where s.tenant_id = job.tenant_id and s.max_running_jobs is not null) as "tenantLimited"`;

/** The queued jobs among these ids (PENDING, SCHEDULED, RETRYING), read without a write. */
export async function takeQueuedJobs(db: Queryable, jobIds: string[]): Promise<TakenJob[]> {
  const result = await db.query<TakenJob>({
    name: 'jobwire-take-queued-jobs',
    text: `select ${TAKEN_JOB_COLUMNS}
       from job where id = any($1::uuid[]) and status in ${QUEUED_SQL}`,
    values: [jobIds],
  });
  return result.rows;
}

/** A queued job that may be read before its lock; not a debounced one, whose payload may be replaced while its entry waits (flow/debounce.ts). */
const READABLE_AHEAD = `job.status in ${QUEUED_SQL} and job.debounce_key is null`;

/**
 * The queued job whose queue entry is at the head of these tasks' queue (the
 * entry graphile-worker's get_job would lock next: available, due, first by
 * priority then run_at), read as takeQueuedJobs reads, without a write and
 * without a lock; null when there is none. worker/read-ahead.ts decides when
 * the row may stand for the read after the lock.
 */
export async function readQueueHead(db: Queryable, taskIdentifiers: readonly string[]): Promise<TakenJob | null> {
  const result = await db.query<TakenJob>({
    name: 'jobwire-read-queue-head',
    text: `select ${TAKEN_JOB_COLUMNS}
       from (select e.id as head_entry_id, (e.payload->>'jobId')::uuid as head_job_id from graphile_worker._private_jobs as e
              where e.is_available and e.run_at <= now()
                and e.task_id in (select t.id from graphile_worker._private_tasks as t where t.identifier = any($1::text[]))
              order by e.priority, e.run_at
              limit 1) as head
       join job on job.id = head.head_job_id and job.queue_entry_id = head.head_entry_id
      where ${READABLE_AHEAD}`,
    values: [taskIdentifiers],
  });
  return result.rows[0] ?? null;
}

/**
 * The queued job of this id, read as readQueueHead reads (a debounced job
 * not), by its primary key: the job a jobs:insert names (its create's first),
 * which for a lone job into an idle worker is the head of the queue.
 * readQueueHead walks graphile-worker's index from its first entry, past
 * every entry of a job already taken that a held MVCC horizon keeps there (a
 * long REPEATABLE READ reader: docs/performance.md); this reads one row.
 */
export async function readQueuedJob(db: Queryable, jobId: string): Promise<TakenJob | null> {
  const result = await db.query<TakenJob>({
    name: 'jobwire-read-queued-job',
    text: `select ${TAKEN_JOB_COLUMNS}
       from job where job.id = $1 and ${READABLE_AHEAD}`,
    values: [jobId],
  });
  return result.rows[0] ?? null;
}
