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

/** The SQLSTATEs our code tells apart (Postgres' own and our triggers', see db/schema.sql). */
export const SQLSTATE = {
  UNIQUE_VIOLATION: '23505',
  EXCLUSION_VIOLATION: '23P01',
  /** job_before_write / job_step_before_write: a status move the machine does not allow. */
  INVALID_TRANSITION: 'JW001',
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
