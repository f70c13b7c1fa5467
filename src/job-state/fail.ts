// Fail: a handler's failure ends its attempt. A retriable failure with
// retries left → RETRYING, queued again after a backoff; none left →
// DEAD_LETTER; a non-retriable error (or a job its worker cannot run) → FAILED.
import type pg from 'pg';
import { endRunningJob } from './end-running.ts';
import type { JobError } from './job-error.ts';
import type { JobRow } from './job-row.ts';
import { endAttemptAndQueueAgain } from './requeue.ts';
import { JobStatus } from './statuses.ts';

interface FailureDetails {
  readonly errorMessage: string;
  /** Stored as job.error; without it, a plain Error of errorMessage. */
  readonly error?: JobError;
  /** The failed attempt's JobResult.resultData, kept as job.result. */
  readonly resultData?: Readonly<Record<string, unknown>>;
}

export type AttemptFailure =
  | (FailureDetails & { readonly status: typeof JobStatus.FAILED | typeof JobStatus.DEAD_LETTER })
  | (FailureDetails & { readonly status: typeof JobStatus.RETRYING; readonly retryCount: number; readonly runAt: Date });

/** Ends a RUNNING job's failed attempt; false when the job no longer runs on this worker. */
export async function failRunningJob(
  pool: pg.Pool,
  job: Pick<JobRow, 'id' | 'jobType' | 'queueName' | 'priority' | 'maxRetries'>,
  workerId: string,
  failure: AttemptFailure,
): Promise<boolean> {
  if (failure.status !== JobStatus.RETRYING) return endRunningJob(pool, job.id, workerId, failure);
  const { runAt, ...end } = failure;
  return endAttemptAndQueueAgain(pool, job, workerId, end, runAt);
}
