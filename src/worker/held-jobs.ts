// After a lost connection, a claim may have committed without its answer
// arriving: the retried claim then finds the job RUNNING under this very
// worker. Such rows are this worker's claims, read back instead of being taken
// for lost jobs.
import type { Queryable } from '../db/pool.ts';
import type { ClaimedJobRow } from './sql.ts';

const HELD_COLUMNS = `id, kind, job_type as "jobType", queue_name as "queueName", payload, metadata, priority,
  max_retries as "maxRetries", retry_count as "retryCount", parent_job_id as "parentJobId",
  created_by as "createdBy", created_at as "createdAt", status, worker_id as "workerId",
  cancel_requested_at as "cancelRequestedAt", queue_entry_id as "queueEntryId"`;

/** The jobs among these ids that are RUNNING under this worker. */
export async function readHeldJobs(db: Queryable, jobIds: string[], workerId: string): Promise<ClaimedJobRow[]> {
  if (jobIds.length === 0) return [];
  const result = await db.query<ClaimedJobRow>(
    `select ${HELD_COLUMNS} from job where id = any($1::uuid[]) and status = 'RUNNING' and worker_id = $2`,
    [jobIds, workerId],
  );
  return result.rows;
}
