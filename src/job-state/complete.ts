// Complete: a handler's success. Batched: one statement completes every job a
// worker finished in the same tick (worker/status-batcher.ts).
import type { Queryable } from '../db/pool.ts';
import { QUEUED_SQL } from './statuses.ts';

/** Completes many RUNNING jobs of this worker, in one statement; returns the ids completed. */
export async function completeRunningJobs(
  db: Queryable,
  jobs: Array<{ jobId: string; result: Record<string, unknown> }>,
  workerId: string,
): Promise<string[]> {
  const result = await db.query<{ id: string }>({
    name: 'jobwire-complete-running-jobs',
    text: `update job set status = 'COMPLETED', result = done.result, progress = 100, error_message = null, error = null, worker_id = null
       from unnest($1::uuid[], $2::jsonb[]) as done(id, result)
      where job.id = done.id and job.worker_id = $3 and job.status = 'RUNNING'
      returning job.id`,
    values: [jobs.map((job) => job.jobId), jobs.map((job) => JSON.stringify(job.result)), workerId],
  });
  return result.rows.map((row) => row.id);
}

/**
 * Completes many taken jobs that finished before RUNNING was written, each
 * passing through RUNNING from when it was taken (the database writes both
 * events); returns the ids completed. A job that left its queued status
 * meanwhile is not touched.
 */
export async function completeTakenJobs(
  db: Queryable,
  jobs: Array<{ jobId: string; takenAt: string; result: Record<string, unknown> }>,
): Promise<string[]> {
  const result = await db.query<{ id: string }>({
    name: 'jobwire-complete-taken-jobs',
    text: `update job set status = 'COMPLETED', started_at = done.started_at, result = done.result, progress = 100,
                    error_message = null, error = null, worker_id = null
       from unnest($1::uuid[], $2::timestamptz[], $3::jsonb[]) as done(id, started_at, result)
      where job.id = done.id and job.status in ${QUEUED_SQL}
      returning job.id`,
    values: [jobs.map((job) => job.jobId), jobs.map((job) => job.takenAt), jobs.map((job) => JSON.stringify(job.result))],
  });
  return result.rows.map((row) => row.id);
}
