// A job row as the status writes read it, and the row lock every
// read-check-write transition takes.
import { tenantCondition } from '../auth/tenant-scope.ts';
import type { Queryable } from '../db/pool.ts';
import type { JobKind, JobStatus } from '../generated/prisma/enums.ts';

export interface JobRow {
  readonly id: string;
  readonly kind: JobKind;
  readonly jobType: string;
  readonly queueName: string;
  readonly payload: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
  readonly priority: number;
  readonly maxRetries: number;
  readonly retryCount: number;
  readonly parentJobId: string | null;
  readonly createdBy: string | null;
  /** The tenant that owns the job (flow control counts a concurrency key within it). */
  readonly tenantId: string;
  readonly createdAt: Date;
  readonly status: JobStatus;
  readonly workerId: string | null;
  readonly cancelRequestedAt: Date | null;
  /** graphile-worker's queue entry that runs the job (bigint as text); a task of another entry is stale. */
  readonly queueEntryId: string | null;
  /** Flow control (src/flow/): the attempt's time limit, and the concurrency key the job counts against. */
  readonly timeoutMs: number | null;
  readonly concurrencyKey: string | null;
  readonly concurrencyLimit: number | null;
  /** A rate limit per key (within the tenant): at most rateLimitMaxStarts starts per rateLimitIntervalMs. */
  readonly rateLimitKey: string | null;
  readonly rateLimitMaxStarts: number | null;
  readonly rateLimitIntervalMs: number | null;
  /** W3C trace context of the span that created the job: each attempt's span is its child (src/tracing/). */
  readonly traceparent: string | null;
  readonly tracestate: string | null;
}

export const JOB_ROW_COLUMNS = `id, kind, job_type as "jobType", queue_name as "queueName", payload, metadata, priority,
  max_retries as "maxRetries", retry_count as "retryCount", parent_job_id as "parentJobId",
  created_by as "createdBy", tenant_id as "tenantId", created_at as "createdAt", status, worker_id as "workerId",
  cancel_requested_at as "cancelRequestedAt", queue_entry_id as "queueEntryId",
  timeout_ms as "timeoutMs", concurrency_key as "concurrencyKey", concurrency_limit as "concurrencyLimit",
  rate_limit_key as "rateLimitKey", rate_limit_max_starts as "rateLimitMaxStarts", rate_limit_interval_ms as "rateLimitIntervalMs",
  traceparent, tracestate`;

/**
 * Locks a job row for a status change; null when there is no such job in the
 * tenant (null: any tenant, for the worker and admins), so another tenant's job
 * answers exactly as a missing one.
 */
export async function lockJob(db: Queryable, jobId: string, tenantId: string | null): Promise<JobRow | null> {
  const result = await db.query<JobRow>(
    `select ${JOB_ROW_COLUMNS} from job j where id = $1 and ${tenantCondition('j', 2)} for update`,
    [jobId, tenantId],
  );
  return result.rows[0] ?? null;
}

/**
 * Sets the message of the event that this transaction's next status change
 * writes (read by the job_after_insert and job_after_update triggers).
 */
export async function setEventMessage(db: Queryable, message: string): Promise<void> {
  await db.query(`select set_config('jobwire.event_message', $1, true)`, [message]);
}
