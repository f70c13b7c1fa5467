// The status writes of a running job. Every write after the claim is guarded
// by worker_id: a worker that was taken for dead and lost the job cannot
// overwrite what the worker that took it over writes. The batched statements
// of the hot path are named (prepared once per connection, not planned per batch).
import type { Queryable } from '../db/pool.ts';
import type { JobKind, JobStatus } from '../generated/prisma/enums.ts';

export interface ClaimedJobRow {
  id: string;
  kind: JobKind;
  jobType: string;
  queueName: string;
  payload: Record<string, unknown>;
  metadata: Record<string, unknown>;
  priority: number;
  maxRetries: number;
  retryCount: number;
  parentJobId: string | null;
  createdBy: string | null;
  createdAt: Date;
  status: JobStatus;
  workerId: string | null;
  cancelRequestedAt: Date | null;
  /** graphile-worker's queue entry that runs the job (bigint as text); a task of another entry is stale. */
  queueEntryId: string | null;
  /** Flow control (src/flow/). */
  timeoutMs: number | null;
  concurrencyKey: string | null;
  concurrencyLimit: number | null;
  /** Read with a queued job only: its queue was paused then / has a rate limit (src/flow/gates.ts). */
  queuePaused?: boolean;
  queueRateLimited?: boolean;
}

/** The statuses of a job waiting for a worker (the ones it can be taken from). */
const QUEUED = `('PENDING', 'SCHEDULED', 'RETRYING')`;

const CLAIMED_COLUMNS = `id, kind, job_type as "jobType", queue_name as "queueName", payload, metadata, priority,
  max_retries as "maxRetries", retry_count as "retryCount", parent_job_id as "parentJobId",
  created_by as "createdBy", created_at as "createdAt", status, worker_id as "workerId",
  cancel_requested_at as "cancelRequestedAt", queue_entry_id as "queueEntryId",
  timeout_ms as "timeoutMs", concurrency_key as "concurrencyKey", concurrency_limit as "concurrencyLimit"`;

/**
 * Queued jobs become RUNNING for this worker, in one statement; returns the
 * rows claimed (a job in any other state is left as it is).
 */
export async function claimQueuedJobs(db: Queryable, jobIds: string[], workerId: string): Promise<ClaimedJobRow[]> {
  const result = await db.query<ClaimedJobRow>({
    name: 'jobwire-claim-queued-jobs',
    text: `update job set status = 'RUNNING', worker_id = $2
      where id = any($1::uuid[]) and status in ${QUEUED}
      returning ${CLAIMED_COLUMNS}`,
    values: [jobIds, workerId],
  });
  return result.rows;
}

/** A queued job as a worker first reads it, before anything is written. */
export interface TakenJobRow extends ClaimedJobRow {
  /** The database's clock when it was read, in full precision (the job's started_at if it finishes unstarted). */
  takenAt: string;
}

/**
 * The queued jobs among these ids, read without writing anything: the worker
 * runs them and writes RUNNING only if they take a while (see run-job.ts).
 */
export async function readQueuedJobs(db: Queryable, jobIds: string[]): Promise<TakenJobRow[]> {
  const result = await db.query<TakenJobRow>({
    name: 'jobwire-read-queued-jobs',
    text: `select ${CLAIMED_COLUMNS}, clock_timestamp()::text as "takenAt",
              exists (select 1 from paused_queue where paused_queue.queue_name = job.queue_name) as "queuePaused",
              exists (select 1 from queue_rate_limit where queue_rate_limit.queue_name = job.queue_name) as "queueRateLimited"
       from job where id = any($1::uuid[]) and status in ${QUEUED}`,
    values: [jobIds],
  });
  return result.rows;
}

/**
 * Completes many jobs that finished before RUNNING was written, each passing
 * through RUNNING from when it was taken (the database writes both events);
 * returns the ids completed. A job that left its queued status meanwhile is
 * not touched.
 */
export async function completeUnstartedJobs(
  db: Queryable,
  jobs: Array<{ jobId: string; takenAt: string; result: Record<string, unknown> }>,
): Promise<string[]> {
  const result = await db.query<{ id: string }>({
    name: 'jobwire-complete-unstarted-jobs',
    text: `update job set status = 'COMPLETED', started_at = done.started_at, result = done.result, progress = 100,
                    error_message = null, worker_id = null
       from unnest($1::uuid[], $2::timestamptz[], $3::jsonb[]) as done(id, started_at, result)
      where job.id = done.id and job.status in ${QUEUED}
      returning job.id`,
    values: [jobs.map((job) => job.jobId), jobs.map((job) => job.takenAt), jobs.map((job) => JSON.stringify(job.result))],
  });
  return result.rows.map((row) => row.id);
}

/** A queued job the worker was asked to cancel before it started: CANCELLED, unrun. */
export async function cancelQueuedJob(db: Queryable, jobId: string): Promise<void> {
  await db.query(`update job set status = 'CANCELLED', worker_id = null where id = $1 and status in ${QUEUED}`, [jobId]);
}

/** Completes many jobs this worker holds in one statement; returns the ids completed. */
export async function completeHeldJobs(
  db: Queryable,
  jobs: Array<{ jobId: string; result: Record<string, unknown> }>,
  workerId: string,
): Promise<string[]> {
  const result = await db.query<{ id: string }>({
    name: 'jobwire-complete-held-jobs',
    text: `update job set status = 'COMPLETED', result = done.result, progress = 100, error_message = null, worker_id = null
       from unnest($1::uuid[], $2::jsonb[]) as done(id, result)
      where job.id = done.id and job.worker_id = $3 and job.status = 'RUNNING'
      returning job.id`,
    values: [jobs.map((job) => job.jobId), jobs.map((job) => JSON.stringify(job.result)), workerId],
  });
  return result.rows.map((row) => row.id);
}

export async function selectJobForUpdate(db: Queryable, jobId: string): Promise<ClaimedJobRow | null> {
  const result = await db.query<ClaimedJobRow>(
    `select ${CLAIMED_COLUMNS} from job where id = $1 for update`,
    [jobId],
  );
  return result.rows[0] ?? null;
}

export interface StatusChange {
  status: JobStatus;
  errorMessage?: string | null;
  result?: Record<string, unknown> | null;
  retryCount?: number;
  progress?: number;
  workerId?: string | null;
}

/** Applies a status change to a job this worker holds; false when it no longer does. */
export async function updateHeldJob(db: Queryable, jobId: string, workerId: string, change: StatusChange): Promise<boolean> {
  const result = await db.query(
    `update job set status = $3,
                    error_message = case when $4::boolean then $5 else error_message end,
                    result = case when $6::boolean then $7::jsonb else result end,
                    retry_count = coalesce($8, retry_count),
                    progress = coalesce($9, progress),
                    worker_id = case when $10::boolean then $11 else worker_id end
      where id = $1 and worker_id = $2 and status = 'RUNNING'`,
    [
      jobId,
      workerId,
      change.status,
      change.errorMessage !== undefined,
      change.errorMessage ?? null,
      change.result !== undefined,
      change.result === undefined ? null : JSON.stringify(change.result),
      change.retryCount ?? null,
      change.progress ?? null,
      change.workerId !== undefined,
      change.workerId ?? null,
    ],
  );
  return result.rowCount === 1;
}

export async function writeProgress(db: Queryable, jobId: string, workerId: string, percent: number, message: string | null): Promise<void> {
  await db.query(
    `update job set progress = $3, progress_message = $4 where id = $1 and worker_id = $2 and status = 'RUNNING'`,
    [jobId, workerId, percent, message],
  );
}

export interface StepRow {
  id: string;
  position: number;
  status: JobStatus;
  result: Record<string, unknown> | null;
}

export async function findStep(db: Queryable, jobId: string, name: string): Promise<StepRow | null> {
  const result = await db.query<StepRow>(
    'select id, position, status, result from job_step where job_id = $1 and name = $2',
    [jobId, name],
  );
  return result.rows[0] ?? null;
}

/** Starts a step: an existing one moves to RUNNING, a new one is appended. */
export async function startStep(db: Queryable, jobId: string, name: string, existing: StepRow | null): Promise<string> {
  if (existing) {
    await db.query(`update job_step set status = 'RUNNING', error_message = null where id = $1`, [existing.id]);
    return existing.id;
  }
  const result = await db.query<{ id: string }>(
    `insert into job_step (job_id, name, position, status)
     select $1, $2, coalesce(max(position) + 1, 0), 'RUNNING' from job_step where job_id = $1
     returning id`,
    [jobId, name],
  );
  return result.rows[0]!.id;
}

export async function finishStep(
  db: Queryable,
  stepId: string,
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED',
  result: Record<string, unknown> | null,
  errorMessage: string | null,
): Promise<void> {
  await db.query('update job_step set status = $2, result = $3, error_message = $4 where id = $1', [
    stepId,
    status,
    result === null ? null : JSON.stringify(result),
    errorMessage,
  ]);
}
