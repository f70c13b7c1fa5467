// Expected failures of job operations. Each is a GraphQL error type that
// clients can switch on (see src/graphql/errors.ts).
import type { JobStatus } from './status.ts';

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

/** Postgres' unique and exclusion violations, which a kind's constraints raise. */
export function isConflict(error: unknown): error is { code: string; constraint?: string; detail?: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '23505' || code === '23P01';
}

function pastTense(action: string) {
  return action === 'cancel' ? 'cancelled' : action === 'retry' ? 'retried' : action.endsWith('e') ? `${action}d` : `${action}ed`;
}

/** Postgres raises these SQLSTATEs from our triggers (migrations/). */
export const SQLSTATE_INVALID_TRANSITION = 'JW001';
export const SQLSTATE_STEP_OUT_OF_ORDER = 'JW002';
