// A checked transition for the seeds' repositories (updateStatus, seeds 001
// and 002): the job moves to `to` only if the status machine allows it from
// where it is, in one statement, so the check and the write cannot be split
// by another writer. The run path (worker/run-job.ts) does not use it.
import type { Queryable } from '../db/pool.ts';
import type { JobKind } from '../generated/prisma/enums.ts';
import type { JobStatus } from './statuses.ts';

/** Whether the job (of this kind) moved to `to`; a failure status needs a reason, given or already on the job. */
export async function applyTransition(
  db: Queryable,
  jobId: string,
  kind: JobKind,
  to: JobStatus,
  errorMessage: string | null = null,
): Promise<boolean> {
  const result = await db.query(
    `update job
        set status = $3::job_status,
            error_message = coalesce($4::text, error_message),
            error = case when $4::text is null then error else jsonb_build_object('name', 'Error', 'message', $4::text) end
      where id = $1 and kind = $2::job_kind
        and job_status_transition_allowed(status, $3::job_status)
        and ($3::job_status not in ('FAILED', 'DEAD_LETTER') or coalesce($4::text, error_message) is not null)`,
    [jobId, kind, to, errorMessage],
  );
  return result.rowCount === 1;
}
