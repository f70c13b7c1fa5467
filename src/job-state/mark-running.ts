// Mark running: taken jobs become RUNNING on the worker that took them
// (job.worker_id). Every later write of the attempt is guarded by worker_id: a
// worker taken for dead cannot overwrite what the worker that took over writes.
import type { Queryable } from '../db/pool.ts';
import { JOB_ROW_COLUMNS, type JobRow } from './job-row.ts';
import { QUEUED_SQL } from './statuses.ts';

/** Queued jobs become RUNNING for this worker, in one statement; returns the rows marked (a job in any other status is left as it is). */
export async function markJobsRunning(db: Queryable, jobIds: string[], workerId: string): Promise<JobRow[]> {
  const result = await db.query<JobRow>({
    name: 'jobwire-mark-jobs-running',
    text: `update job set status = 'RUNNING', worker_id = $2
      where id = any($1::uuid[]) and status in ${QUEUED_SQL}
      returning ${JOB_ROW_COLUMNS}`,
    values: [jobIds, workerId],
  });
  return result.rows;
}

/**
 * The jobs among these ids that are RUNNING under this worker. After a lost
 * connection a mark may have committed without its answer arriving: the
 * retried mark then finds the job RUNNING under this very worker, and reads it
 * back here instead of taking it for lost.
 */
export async function readJobsRunningOn(db: Queryable, jobIds: string[], workerId: string): Promise<JobRow[]> {
  if (jobIds.length === 0) return [];
  const result = await db.query<JobRow>(
    `select ${JOB_ROW_COLUMNS} from job where id = any($1::uuid[]) and status = 'RUNNING' and worker_id = $2`,
    [jobIds, workerId],
  );
  return result.rows;
}
