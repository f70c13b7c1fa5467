import type { Queryable } from '../../db/pool.ts';
import { tenantCondition } from '../../auth/tenant-scope.ts';
import type { JobStatus } from '../status.ts';

/**
 * Sets the message of the event that this transaction's next status change
 * writes (read by the job_after_insert and job_after_update triggers).
 */
export async function setEventMessage(db: Queryable, message: string): Promise<void> {
  await db.query(`select set_config('jobwire.event_message', $1, true)`, [message]);
}

export interface LockedJob {
  id: string;
  status: JobStatus;
  cancelRequestedAt: Date | null;
  priority: number;
  maxRetries: number;
  /** graphile-worker's queue entry that runs the job (job.queue_entry_id; bigint as text). */
  queueEntryId: string | null;
}

/** Locks a job row for a status change; null when there is no such job in the tenant (null: any tenant). */
export async function lockJob(db: Queryable, jobId: string, tenantId: string | null): Promise<LockedJob | null> {
  const result = await db.query<LockedJob>(
    `select id, status, cancel_requested_at as "cancelRequestedAt", priority, max_retries as "maxRetries",
            queue_entry_id as "queueEntryId"
       from job j where id = $1 and ${tenantCondition('j', 2)} for update`,
    [jobId, tenantId],
  );
  return result.rows[0] ?? null;
}
