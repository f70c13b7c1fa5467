// Expected failures of job operations. Each is a GraphQL error type that
// clients can switch on (see src/graphql/errors.ts).
import type { JobStatus } from '../generated/prisma/enums.ts';

export class JobwireError extends Error {
  override name = 'JobwireError';
}

/** The caller's token lacks the scope a field needs (or there is no token). */
export class NotAuthorizedError extends JobwireError {
  override name = 'NotAuthorizedError';
}

/** Bad input: names the field (a dotted path into the input) and what is wrong. */
export class ValidationError extends JobwireError {
  override name = 'ValidationError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export class JobNotFoundError extends JobwireError {
  override name = 'JobNotFoundError';
  constructor(readonly jobId: string) {
    super(`no job with id ${jobId}`);
  }
}

/** The job's status does not allow the operation (e.g. cancelling a COMPLETED job). */
export class InvalidTransitionError extends JobwireError {
  override name = 'InvalidTransitionError';
  constructor(
    readonly jobId: string,
    readonly action: string,
    readonly status: JobStatus,
    readonly allowedStatuses: readonly JobStatus[],
  ) {
    super(`cannot ${action} job ${jobId}: it is ${status}; only ${allowedStatuses.join(', ')} jobs can be ${pastTense(action)}`);
  }
}

/**
 * Retry of a job that has not ended yet (queued, scheduled, running or waiting
 * to retry): there is nothing to retry until it ends. Apart from
 * InvalidTransitionError so a client can tell "wait" from "never".
 */
export class JobStillActiveError extends JobwireError {
  override name = 'JobStillActiveError';
  constructor(
    readonly jobId: string,
    readonly action: string,
    readonly status: JobStatus,
    allowedStatuses: readonly JobStatus[],
  ) {
    super(`cannot ${action} job ${jobId}: it is still ${status} (not ended yet); only ${allowedStatuses.join(', ')} jobs can be ${pastTense(action)}`);
  }
}

/**
 * Another job holds what this one needs (a constraint of its kind, e.g. one
 * active portfolio import per interval): names the constraint and why.
 */
export class JobConflictError extends JobwireError {
  override name = 'JobConflictError';
  constructor(
    readonly jobId: string,
    readonly action: string,
    readonly constraint: string,
    detail: string,
  ) {
    super(`cannot ${action} job ${jobId}: it conflicts with another job (${constraint}${detail ? `: ${detail}` : ''})`);
  }
}

/** The per-tenant limits an operator sets (docs/quotas.md), by their GraphQL names (TenantQuota's fields). */
export type TenantQuotaLimit = 'maxQueuedJobs' | 'maxSchedules' | 'minCronIntervalSeconds' | 'minPriority' | 'maxPriority';

/**
 * A create refused by one of the tenant's limits; it changed nothing. `value`
 * is the limit, `current` the tenant's usage before the create (queued jobs,
 * schedules) or what the create asked for (a priority, a cron interval in
 * seconds), `requested` how many jobs or schedules it would have added.
 */
export class TenantQuotaExceededError extends JobwireError {
  override name = 'TenantQuotaExceededError';
  readonly code = 'TENANT_QUOTA_EXCEEDED';
  constructor(
    readonly limit: TenantQuotaLimit,
    readonly value: number,
    readonly current: number,
    readonly requested: number,
    message: string,
    /** The tenant whose limit refused it, where the refusal's catcher knows it (a spawn: the parent's tenant); null otherwise. */
    readonly tenantId: string | null = null,
  ) {
    super(message);
  }

  /** What a GraphQL error made of it carries (graphql-js copies an original error's `extensions`). */
  get extensions() {
    return { code: this.code, limit: this.limit, value: this.value, current: this.current, requested: this.requested };
  }

  /** What a failed attempt stores as its error's data (job.error.data, src/job-state/job-error.ts) when a handler does not catch it. */
  get data() {
    return { code: this.code, limit: this.limit, value: this.value, current: this.current, requested: this.requested, tenantId: this.tenantId };
  }
}

/** The quota refusal a database error is (SQLSTATE JW010, raised by the tenant_quota_check_* functions), or null. */
export function tenantQuotaErrorOf(error: unknown): TenantQuotaExceededError | null {
  const pgError = error as { code?: unknown; detail?: unknown; message?: unknown } | null;
  if (pgError?.code !== SQLSTATE.TENANT_QUOTA_EXCEEDED || typeof pgError.detail !== 'string') return null;
  const detail = JSON.parse(pgError.detail) as { limit: TenantQuotaLimit; value: number; current: number; requested: number };
  return new TenantQuotaExceededError(detail.limit, detail.value, detail.current, detail.requested, String(pgError.message));
}

/** Runs `fn`, turning the database's quota refusal into a TenantQuotaExceededError (any other error passes through). */
export async function withQuotaErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw tenantQuotaErrorOf(error) ?? error;
  }
}

/** The SQLSTATEs our code tells apart (Postgres' own and our triggers', see db/schema.sql). */
export const SQLSTATE = {
  UNIQUE_VIOLATION: '23505',
  EXCLUSION_VIOLATION: '23P01',
  /** job_before_write / job_step_before_write: a status move the machine does not allow. */
  INVALID_TRANSITION: 'JW001',
  /** tenant_quota_check_queued / _priority, schedule_quota_after_insert: a tenant's limit (detail: JSON naming it). */
  TENANT_QUOTA_EXCEEDED: 'JW010',
} as const;

/** A Postgres error raised by a constraint (unique or exclusion): a conflict with another row. */
export interface ConflictError {
  code: typeof SQLSTATE.UNIQUE_VIOLATION | typeof SQLSTATE.EXCLUSION_VIOLATION;
  constraint?: string;
  detail?: string;
}

/** The conflict this error is, or null: the one place that reads constraint violations. */
export function conflictOf(error: unknown): ConflictError | null {
  const code = (error as { code?: unknown } | null)?.code;
  return code === SQLSTATE.UNIQUE_VIOLATION || code === SQLSTATE.EXCLUSION_VIOLATION ? (error as ConflictError) : null;
}

function pastTense(action: string) {
  return action === 'cancel' ? 'cancelled' : action === 'retry' ? 'retried' : action === 'rerun' ? 'rerun' : action.endsWith('e') ? `${action}d` : `${action}ed`;
}
