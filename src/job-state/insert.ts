// Insert: new jobs enter the status machine as PENDING (or SCHEDULED when due
// later), each with its steps and its queue entry.
import type { Queryable } from '../db/pool.ts';
import type { JobKind, JobWaitingReason } from '../generated/prisma/enums.ts';
import { announceNewTasks, NEW_JOB_ENTRIES, runJobSpecParameters, tasksKnown, tenantTurnParameters } from './queue-entry.ts';
import type { FlowOptions } from '../core/flow-options.ts';
import { WAIT_UNTIL_RELEASED } from './waiting.ts';
import type { TraceCarrier } from '../tracing/trace-context.ts';

export interface NewJob {
  id: string;
  kind: JobKind;
  queueName: string;
  jobType: string;
  payload: Record<string, unknown>;
  priority: number;
  maxRetries: number;
  scheduledAt: Date | null;
  parentJobId: string | null;
  createdBy: string | null;
  /** The tenant that owns the job (its kind row and imported records follow it). */
  tenantId: string;
  metadata: Record<string, unknown>;
  /** Valid tags (src/core/tags.ts); none when absent. */
  tags?: readonly string[];
  /** Steps created with the job, in order. */
  steps: readonly string[];
  /** Flow control (src/flow/): idempotency key, dependencies, timeout, concurrency key. */
  flow: FlowOptions;
  /** Set by src/flow/ when the job must wait: its queue entry waits until released. */
  waitingReason?: JobWaitingReason | null;
  /** Set by src/flow/debounce.ts: the latest run time of a debounced job (its first create plus maxWaitMs). */
  debounceDeadline?: Date | null;
  /** The creating span's W3C trace context (src/tracing/); none when absent. */
  trace?: TraceCarrier;
}

/** A job row as inserted (its columns by their SQL names, as node-postgres reads them). */
export type InsertedJobRow = Record<string, unknown> & { id: string };

/**
 * Whether insertJobs writes these jobs in one statement (no steps, no task new
 * to the database): run on the pool, it then needs no transaction of its own.
 */
export function insertsInOneStatement(jobs: readonly NewJob[]): boolean {
  return jobs.every((job) => job.steps.length === 0) && tasksKnown(jobs);
}

/**
 * Inserts jobs with their steps and their queue entries in the caller's
 * transaction: a job row without its queue entry never commits.
 */
export async function insertJobs(db: Queryable, jobs: readonly NewJob[]): Promise<InsertedJobRow[]> {
  if (jobs.length === 0) return [];
  const now = Date.now();
  const scheduled = (job: NewJob) => job.scheduledAt !== null && job.scheduledAt.getTime() > now;
  const entries = jobs.map((job) => ({ jobId: job.id, jobType: job.jobType, queueName: job.queueName, runAt: job.waitingReason ? WAIT_UNTIL_RELEASED : job.scheduledAt, priority: job.priority, maxRetries: job.maxRetries, tenantId: job.tenantId }));
  await announceNewTasks(db, entries);
  // The queue entries and the job rows in one statement (one round trip; each
  // job row written once, with its entry's id): atomic on its own, so a create
  // that needs nothing else runs without begin/commit (jobs/create.ts). Each
  // entry due now gets its tenant's turn in this statement (docs/fairness.md).
  // Named: Postgres parses and plans it once per connection, not at every create (one text for any number of jobs).
  const inserted = await db.query<InsertedJobRow>({
    name: 'jobwire-insert-jobs',
    text: `with ${NEW_JOB_ENTRIES}
     insert into job (id, kind, queue_name, job_type, payload, priority, max_retries, scheduled_at,
                      status, parent_job_id, created_by, metadata, queue_entry_id, tenant_id,
                      waiting_reason, timeout_ms, concurrency_key, concurrency_limit,
                      rate_limit_key, rate_limit_max_starts, rate_limit_interval_ms, debounce_key, debounce_deadline, tags,
                      traceparent, tracestate)
     select x.id, kind, queue_name, job_type, payload, priority, max_retries, scheduled_at,
            status, parent_job_id, created_by, metadata, entry.id, tenant_id,
            waiting_reason, timeout_ms, concurrency_key, concurrency_limit,
            rate_limit_key, rate_limit_max_starts, rate_limit_interval_ms, debounce_key, debounce_deadline, tags,
            traceparent, tracestate
       from jsonb_to_recordset($6::jsonb) as x(
              id uuid, kind job_kind, queue_name text, job_type text, payload jsonb, priority int,
              max_retries int, scheduled_at timestamptz, status job_status, parent_job_id uuid,
              created_by text, metadata jsonb, tenant_id text,
              waiting_reason job_waiting_reason, timeout_ms int, concurrency_key text, concurrency_limit int,
              rate_limit_key text, rate_limit_max_starts int, rate_limit_interval_ms int,
              debounce_key text, debounce_deadline timestamptz, tags text[], traceparent text, tracestate text)
       join entry on entry.job_id = x.id cross join woken
     returning job.*`,
    values: [
      ...runJobSpecParameters(entries),
      JSON.stringify(
        jobs.map((job) => ({
          id: job.id,
          kind: job.kind,
          queue_name: job.queueName,
          job_type: job.jobType,
          payload: job.payload,
          priority: job.priority,
          max_retries: job.maxRetries,
          scheduled_at: job.scheduledAt?.toISOString() ?? null,
          status: scheduled(job) ? 'SCHEDULED' : 'PENDING',
          parent_job_id: job.parentJobId,
          created_by: job.createdBy,
          metadata: job.metadata,
          tenant_id: job.tenantId,
          waiting_reason: job.waitingReason ?? null,
          timeout_ms: job.flow.timeoutMs,
          concurrency_key: job.flow.concurrencyKey,
          concurrency_limit: job.flow.concurrencyLimit,
          tags: job.tags ?? [],
          rate_limit_key: job.flow.rateLimit?.key ?? null,
          rate_limit_max_starts: job.flow.rateLimit?.maxStarts ?? null,
          rate_limit_interval_ms: job.flow.rateLimit?.intervalMs ?? null,
          debounce_key: job.flow.debounce?.key ?? null,
          debounce_deadline: job.debounceDeadline?.toISOString() ?? null,
          // Absent keys read as null: a job without a trace context adds nothing to the statement.
          ...(job.trace?.traceparent ? { traceparent: job.trace.traceparent, tracestate: job.trace.tracestate } : {}),
        })),
      ),
      ...tenantTurnParameters(entries),
    ],
  });
  const steps = jobs.flatMap((job) => job.steps.map((name, position) => ({ job_id: job.id, name, position })));
  if (steps.length > 0) {
    await db.query(
      `insert into job_step (job_id, name, position)
       select job_id, name, position from jsonb_to_recordset($1::jsonb) as x(job_id uuid, name text, position int)`,
      [JSON.stringify(steps)],
    );
  }
  return inserted.rows;
}
