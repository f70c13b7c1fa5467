// Waiting: a queued job that may not start yet keeps its status (PENDING,
// SCHEDULED or RETRYING) and says why in job.waiting_reason (each change of
// the reason writes an event: the job_after_update trigger). Its
// queue entry is due only once released (WAIT_UNTIL_RELEASED) or at its next look; whatever releases it makes
// the entry due. Flow control (src/flow/) decides when a job waits; the writes
// are here.
import type { Queryable } from '../db/pool.ts';
import type { JobWaitingReason } from '../generated/prisma/enums.ts';
import type { JobRow } from './job-row.ts';
import { queueJobsAgain } from './queue-entry.ts';
import { QUEUED_SQL } from './statuses.ts';

/** The run_at of a waiting job's queue entry that no worker fetches until something releases it (sets its run_at). */
export const WAIT_UNTIL_RELEASED = new Date('2999-01-01T00:00:00Z');

/** Locks a queued job's row; answers its queue entry, or undefined when the job is no longer queued. */
export async function lockQueuedJob(db: Queryable, jobId: string): Promise<string | null | undefined> {
  const { rows } = await db.query<{ queueEntryId: string | null }>(
    `select queue_entry_id as "queueEntryId" from job where id = $1 and status in ${QUEUED_SQL} for update`,
    [jobId],
  );
  return rows[0] === undefined ? undefined : rows[0].queueEntryId;
}

/** The job waits, with its reason (an event when the reason changes), under a new queue entry due at `until`. */
export async function waitQueuedJob(
  db: Queryable,
  job: Pick<JobRow, 'id' | 'jobType' | 'queueName' | 'priority' | 'maxRetries'>,
  reason: JobWaitingReason,
  until: Date,
): Promise<void> {
  await db.query(`update job set waiting_reason = $2 where id = $1 and waiting_reason is distinct from $2`, [job.id, reason]);
  await queueJobsAgain(db, [{ jobId: job.id, jobType: job.jobType, queueName: job.queueName, runAt: until, priority: job.priority, maxRetries: job.maxRetries }]);
}

/** The jobs of a resumed queue that waited for it: no longer waiting, due at once (or at their scheduled time). */
export async function releasePausedQueueJobs(db: Queryable, queueName: string): Promise<void> {
  await db.query(
    `with released as (
       update job set waiting_reason = null
        where queue_name = $1 and waiting_reason = 'QUEUE_PAUSED' and status in ${QUEUED_SQL}
        returning queue_entry_id, scheduled_at
     )
     update graphile_worker._private_jobs as entry set run_at = greatest(now(), coalesce(released.scheduled_at, now()))
       from released where entry.id = released.queue_entry_id`,
    [queueName],
  );
}

/**
 * How many of the tenant's jobs with this concurrency key are RUNNING (read
 * under the key's advisory lock, see src/flow/gates.ts). Keys are per tenant.
 */
export async function countRunningWithKey(db: Queryable, tenantId: string, concurrencyKey: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from job where tenant_id = $1 and concurrency_key = $2 and status = 'RUNNING'`,
    [tenantId, concurrencyKey],
  );
  return rows[0]!.n;
}
