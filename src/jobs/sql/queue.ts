// The job row's entry in graphile-worker's queue: one `run_job` task keyed by
// the job id, so adding it again replaces it and removing it is by key.
import type { Queryable } from '../../db/pool.ts';

export const RUN_JOB_TASK = 'run_job';

/**
 * graphile-worker attempts cover infrastructure failures and crash take-overs
 * only; our retries are counted in job.retry_count (see worker/run-job.ts).
 * The slack lets a job that keeps crashing its worker reach DEAD_LETTER by our
 * count before graphile-worker gives up on it.
 */
export const queueAttempts = (maxRetries: number) => maxRetries + 10;

export interface QueueEntry {
  jobId: string;
  runAt: Date | null;
  priority: number;
  maxRetries: number;
}

/** Adds (or replaces) the run_job tasks of these jobs, in the caller's transaction. */
export async function addRunJobTasks(db: Queryable, entries: readonly QueueEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `select graphile_worker.add_jobs(array(
       select row($1::text, json_build_object('jobId', e.job_id), null, e.run_at, e.max_attempts, e.job_id::text, e.priority, null)::graphile_worker.job_spec
         from unnest($2::uuid[], $3::timestamptz[], $4::int[], $5::int[]) as e(job_id, run_at, max_attempts, priority)
     ))`,
    [
      RUN_JOB_TASK,
      entries.map((e) => e.jobId),
      entries.map((e) => e.runAt),
      entries.map((e) => queueAttempts(e.maxRetries)),
      // graphile-worker runs lower numbers first; our priority is higher-first.
      entries.map((e) => -e.priority),
    ],
  );
}

/** Removes a job's queued task (a locked one is kept from running again). */
export async function removeRunJobTask(db: Queryable, jobId: string): Promise<void> {
  await db.query('select graphile_worker.remove_job($1)', [jobId]);
}

/**
 * Whether the job's task still waits in the queue, untaken. When a worker
 * holds it, the worker may be running the job before it shows RUNNING; when it
 * is gone, a worker ran the job and is writing its outcome (see
 * worker/run-job.ts), or died doing so (worker/orphans.ts).
 */
export async function isRunJobTaskWaiting(db: Queryable, jobId: string): Promise<boolean> {
  const result = await db.query<{ waiting: boolean }>(
    `select exists (select 1 from graphile_worker.jobs where key = $1 and locked_at is null) as waiting`,
    [jobId],
  );
  return result.rows[0]!.waiting;
}
