// Take-over: a job still RUNNING when a live worker is handed its queue entry
// was running on a worker that died (graphile-worker released its lock). That
// attempt counts as failed: the job is cancelled if a cancel was asked,
// dead-lettered if no retry is left, and otherwise moved to RETRYING for the
// new worker, which then marks it running.
import type { Queryable } from '../db/pool.ts';
import type { JobError } from './job-error.ts';
import { setEventMessage, type JobRow } from './job-row.ts';
import { JobStatus } from './statuses.ts';

export type TakeOverOutcome = 'cancelled' | 'dead_lettered' | 'retrying';

/** In the caller's transaction, with the job row locked (lockJob). */
export async function takeOverJob(db: Queryable, job: JobRow, workerId: string): Promise<TakeOverOutcome> {
  const lost = `worker ${job.workerId ?? 'unknown'} stopped while running the job`;
  if (job.cancelRequestedAt) {
    await setEventMessage(db, `${lost}; cancelled as requested`);
    await db.query(`update job set status = 'CANCELLED', worker_id = null where id = $1`, [job.id]);
    return 'cancelled';
  }
  if (job.retryCount >= job.maxRetries) {
    await db.query(`update job set status = 'DEAD_LETTER', error_message = $2, error = $3, worker_id = null where id = $1`, [
      job.id,
      `${lost}; no retries left`,
      workerLost(`${lost}; no retries left`),
    ]);
    return 'dead_lettered';
  }
  await db.query(`update job set status = 'RETRYING', error_message = $2, error = $3, retry_count = retry_count + 1 where id = $1`, [
    job.id,
    lost,
    workerLost(lost),
  ]);
  await setEventMessage(db, `taken over by worker ${workerId}`);
  return 'retrying';
}

const workerLost = (message: string): string => JSON.stringify({ name: 'WorkerLostError', message } satisfies JobError);
