// Cancel: a queued job whose queue entry still waits leaves the queue and is
// CANCELLED at once; a running job (or a queued one a worker has taken) is
// asked to stop (its worker's AbortSignal fires) and ends CANCELLED.
//
// The worker side: a job cancelled after a worker took it but before it
// started is cancelled unrun (cancelTakenJob); a running handler that stopped
// on its signal ends CANCELLED (cancelRunningJob). The signal itself reaches
// the worker over CANCEL_CHANNEL (worker/runner.ts → core/job-abort.ts).
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { visibleTenant } from '../auth/principal.ts';
import { InvalidTransitionError, JobNotFoundError } from '../core/errors.ts';
import type { Caller } from '../auth/principal.ts';
import { endRunningJob } from './end-running.ts';
import { lockJob, setEventMessage, type JobRow } from './job-row.ts';
import { removeWaitingQueueEntry } from './queue-entry.ts';
import { ACTIVE_STATUSES, JobStatus, QUEUED_SQL } from './statuses.ts';

export const CANCEL_CHANNEL = 'jobwire_cancel';

export type CancelOutcome = 'cancelled' | 'cancel_requested' | 'already_cancelled';

/** Idempotent: cancelling a cancelled job, or one already asked to stop, changes nothing. */
export async function cancelJob(pool: pg.Pool, caller: Caller, jobId: string): Promise<CancelOutcome> {
  return withTransaction(pool, (client) => cancelJobInTransaction(client, caller, jobId));
}

/** cancelJob inside a transaction the caller holds (jobs/bulk.ts cancels many in one). */
export async function cancelJobInTransaction(client: Queryable, caller: Caller, jobId: string): Promise<CancelOutcome> {
  const job = await lockJob(client, jobId, visibleTenant(caller));
  if (!job) throw new JobNotFoundError(jobId);
  switch (job.status) {
    case JobStatus.CANCELLED:
      return 'already_cancelled';
    case JobStatus.PENDING:
    case JobStatus.SCHEDULED:
    case JobStatus.RETRYING:
      // Only a job whose queue entry still waits is cancelled outright. Otherwise a
      // worker may be running it before it shows RUNNING, or writing its
      // outcome (worker/run-job.ts): it is asked, as for RUNNING.
      if (!(await removeWaitingQueueEntry(client, job.queueEntryId))) return requestCancel(client, job);
      await setEventMessage(client, `cancelled by ${caller.principalId}`);
      await client.query(`update job set status = 'CANCELLED', worker_id = null where id = $1`, [jobId]);
      return 'cancelled';
    case JobStatus.RUNNING:
      return requestCancel(client, job);
    default:
      throw new InvalidTransitionError(jobId, 'cancel', job.status, ACTIVE_STATUSES);
  }
}

/** Asks the worker that runs the job to stop (its AbortSignal fires); the job ends CANCELLED when it does. */
async function requestCancel(db: Queryable, job: JobRow): Promise<CancelOutcome> {
  if (job.cancelRequestedAt === null) {
    await db.query('update job set cancel_requested_at = now() where id = $1', [job.id]);
    // Reaches every worker on commit; the one running the job aborts it.
    await db.query('select pg_notify($1, $2)', [CANCEL_CHANNEL, job.id]);
  }
  return 'cancel_requested';
}

/** A job cancelled while a worker had taken it but not started it: CANCELLED, unrun; false when it is no longer queued. */
export async function cancelTakenJob(pool: pg.Pool, jobId: string, message: string): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    await setEventMessage(client, message);
    const result = await client.query(`update job set status = 'CANCELLED', worker_id = null where id = $1 and status in ${QUEUED_SQL}`, [jobId]);
    return result.rowCount === 1;
  });
}

/** A RUNNING job whose handler stopped on its cancel signal ends CANCELLED; false when the job no longer runs on this worker. */
export function cancelRunningJob(db: Queryable, jobId: string, workerId: string): Promise<boolean> {
  return endRunningJob(db, jobId, workerId, { status: JobStatus.CANCELLED });
}
