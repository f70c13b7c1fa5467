// Cancel: a queued job whose task still waits leaves the queue and is
// CANCELLED at once; a running job (or a queued one a worker has taken) is
// asked to stop (its worker's AbortSignal fires) and ends CANCELLED.
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { InvalidTransitionError, JobNotFoundError } from './errors.ts';
import { visibleTenant } from '../auth/principal.ts';
import type { Caller } from './create.ts';
import { setEventMessage, lockJob, type LockedJob } from './sql/job-status.ts';
import { removeWaitingRunJobTask } from './sql/queue.ts';
import { ACTIVE_STATUSES, JobStatus } from './status.ts';

export const CANCEL_CHANNEL = 'jobwire_cancel';

export type CancelOutcome = 'cancelled' | 'cancel_requested' | 'already_cancelled';

/** Idempotent: cancelling a cancelled job, or one already asked to stop, changes nothing. */
export async function cancelJob(pool: pg.Pool, caller: Caller, jobId: string): Promise<CancelOutcome> {
  return withTransaction(pool, async (client) => {
    const job = await lockJob(client, jobId, visibleTenant(caller));
    if (!job) throw new JobNotFoundError(jobId);
    switch (job.status) {
      case JobStatus.CANCELLED:
        return 'already_cancelled';
      case JobStatus.PENDING:
      case JobStatus.SCHEDULED:
      case JobStatus.RETRYING:
        // Only a job whose task still waits is cancelled outright. Otherwise a
        // worker may be running it before it shows RUNNING, or writing its
        // outcome (worker/run-job.ts): it is asked, as for RUNNING.
        if (!(await removeWaitingRunJobTask(client, job.queueEntryId))) return requestCancel(client, job);
        await setEventMessage(client, `cancelled by ${caller.principalId}`);
        await client.query(`update job set status = 'CANCELLED', worker_id = null where id = $1`, [jobId]);
        return 'cancelled';
      case JobStatus.RUNNING:
        return requestCancel(client, job);
      default:
        throw new InvalidTransitionError(jobId, 'cancel', job.status, ACTIVE_STATUSES);
    }
  });
}

/** Asks the worker that runs the job to stop (its AbortSignal fires); the job ends CANCELLED when it does. */
async function requestCancel(db: Queryable, job: LockedJob): Promise<CancelOutcome> {
  if (job.cancelRequestedAt === null) {
    await db.query('update job set cancel_requested_at = now() where id = $1', [job.id]);
    // Reaches every worker on commit; the one running the job aborts it.
    await db.query('select pg_notify($1, $2)', [CANCEL_CHANNEL, job.id]);
  }
  return 'cancel_requested';
}
