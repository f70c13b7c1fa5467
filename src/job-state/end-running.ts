// The one statement that ends (or re-queues) the attempt of a RUNNING job on
// the worker that runs it (job.worker_id): fail.ts, cancel.ts and requeue.ts call it with their status.
import type { Queryable } from '../db/pool.ts';
import type { JobError } from './job-error.ts';
import type { JobStatus } from './statuses.ts';

export interface AttemptEnd {
  readonly status: JobStatus;
  /** With it, job.error is written too: `error`, or a plain Error of this message. */
  readonly errorMessage?: string | null;
  readonly error?: JobError;
  /** A failed attempt's JobResult.resultData, kept as job.result. */
  readonly resultData?: Readonly<Record<string, unknown>>;
  readonly retryCount?: number;
}

/** Moves a RUNNING job of this worker to `end.status` and releases it; false when the job no longer runs on this worker. */
export async function endRunningJob(db: Queryable, jobId: string, workerId: string, end: AttemptEnd): Promise<boolean> {
  const error = end.errorMessage ? (end.error ?? { name: 'Error', message: end.errorMessage }) : null;
  const result = await db.query(
    `update job set status = $3,
                    error_message = case when $4::boolean then $5 else error_message end,
                    error = case when $4::boolean then $7::jsonb else error end,
                    result = coalesce($8::jsonb, result),
                    retry_count = coalesce($6, retry_count),
                    worker_id = null
      where id = $1 and worker_id = $2 and status = 'RUNNING'`,
    [
      jobId,
      workerId,
      end.status,
      end.errorMessage !== undefined,
      end.errorMessage ?? null,
      end.retryCount ?? null,
      error ? JSON.stringify(error) : null,
      end.resultData ? JSON.stringify(end.resultData) : null,
    ],
  );
  return result.rowCount === 1;
}
