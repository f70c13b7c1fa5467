// Manual retry: a FAILED, DEAD_LETTER or CANCELLED job is queued again with a
// fresh retry budget. Completed steps stay completed, so it resumes where it stopped.
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { visibleTenant } from '../auth/principal.ts';
import { conflictOf, InvalidTransitionError, JobConflictError, JobNotFoundError, JobStillActiveError } from '../jobs/errors.ts';
import type { Caller } from '../jobs/create.ts';
import { lockJob, setEventMessage } from './job-row.ts';
import { queueJobsAgain } from './queue-entry.ts';
import { JobStatus, RETRIABLE_STATUSES } from './statuses.ts';

/**
 * Retrying a job that has not ended changes nothing and says so
 * (JobStillActiveError), so a repeated retry is harmless but never silent.
 */
export async function retryJob(pool: pg.Pool, caller: Caller, jobId: string): Promise<void> {
  return withTransaction(pool, (client) => retryJobInTransaction(client, caller, jobId));
}

/** retryJob inside a transaction the caller holds (jobs/bulk.ts retries many in one). */
export async function retryJobInTransaction(client: Queryable, caller: Caller, jobId: string): Promise<void> {
  const job = await lockJob(client, jobId, visibleTenant(caller));
  if (!job) throw new JobNotFoundError(jobId);
  if (job.status === JobStatus.COMPLETED) {
    throw new InvalidTransitionError(jobId, 'retry', job.status, RETRIABLE_STATUSES);
  }
  if (!RETRIABLE_STATUSES.includes(job.status)) throw new JobStillActiveError(jobId, 'retry', job.status, RETRIABLE_STATUSES);
  await setEventMessage(client, `retried by ${caller.principalId}`);
  await client
    .query(
    `update job set status = 'PENDING', retry_count = 0, error_message = null, error = null, result = null,
                    worker_id = null, scheduled_at = null
      where id = $1`,
      [jobId],
    )
    .catch((error: unknown) => {
      // A kind's constraint refuses the job back (e.g. its interval is taken meanwhile).
      const conflict = conflictOf(error);
      if (conflict) throw new JobConflictError(jobId, 'retry', conflict.constraint ?? 'unknown constraint', conflict.detail ?? '');
      throw error;
    });
  await queueJobsAgain(client, [{ jobId, jobType: job.jobType, queueName: job.queueName, runAt: null, priority: job.priority, maxRetries: job.maxRetries }]);
}
