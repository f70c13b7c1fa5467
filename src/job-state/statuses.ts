// The job status machine: which statuses exist, which moves between them are
// allowed, and the groups of statuses the rest of the code asks about. The
// database's trigger (job_status_transition_allowed, see db/schema.sql) is the
// final judge; test/job-state/statuses.test.ts checks that both agree on every pair.
import { JobStatus } from '../generated/prisma/enums.ts';

export { JobStatus };

/** Allowed moves of a job's status, from → to. */
export const JOB_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  PENDING: [JobStatus.RUNNING, JobStatus.CANCELLED],
  SCHEDULED: [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.CANCELLED],
  // PENDING: a durable wait (job-state/waits.ts) ends the attempt; the job waits with its reason.
  RUNNING: [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.RETRYING, JobStatus.DEAD_LETTER, JobStatus.CANCELLED, JobStatus.PENDING],
  RETRYING: [JobStatus.RUNNING, JobStatus.CANCELLED],
  // A manual retry only.
  FAILED: [JobStatus.PENDING],
  DEAD_LETTER: [JobStatus.PENDING],
  CANCELLED: [JobStatus.PENDING],
  COMPLETED: [],
};

/** Allowed moves of a step's status (a step is never queued on its own, nor dead-lettered). */
export const STEP_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  PENDING: [JobStatus.RUNNING, JobStatus.CANCELLED],
  RUNNING: [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED],
  // A later attempt runs the step again.
  FAILED: [JobStatus.RUNNING],
  CANCELLED: [JobStatus.RUNNING],
  SCHEDULED: [],
  RETRYING: [],
  DEAD_LETTER: [],
  COMPLETED: [],
};

export const isTransitionAllowed = (from: JobStatus, to: JobStatus) => JOB_TRANSITIONS[from].includes(to);

/** Statuses a job never leaves on its own (only a manual retry moves it on). */
export const TERMINAL_STATUSES: readonly JobStatus[] = [
  JobStatus.COMPLETED,
  JobStatus.FAILED,
  JobStatus.DEAD_LETTER,
  JobStatus.CANCELLED,
];

/** Statuses in which a job is queued or running and can still be cancelled. */
export const ACTIVE_STATUSES: readonly JobStatus[] = [
  JobStatus.PENDING,
  JobStatus.SCHEDULED,
  JobStatus.RUNNING,
  JobStatus.RETRYING,
];

/** Statuses of a queued job: waiting for a worker, which may take it from any of them. */
export const QUEUED_STATUSES: readonly JobStatus[] = [JobStatus.PENDING, JobStatus.SCHEDULED, JobStatus.RETRYING];

/** Statuses a manual retry starts again from. */
export const RETRIABLE_STATUSES: readonly JobStatus[] = [
  JobStatus.FAILED,
  JobStatus.DEAD_LETTER,
  JobStatus.CANCELLED,
];

/** Statuses that need a reason (job.error_message). */
export const FAILURE_STATUSES: readonly JobStatus[] = [JobStatus.FAILED, JobStatus.DEAD_LETTER];

export const isTerminal = (status: JobStatus) => TERMINAL_STATUSES.includes(status);

/** The queued statuses as an SQL list, for statements that take a queued job. */
export const QUEUED_SQL = `(${QUEUED_STATUSES.map((status) => `'${status}'`).join(', ')})`;

/**
 * A seed's status word for a job status (ImportJob.importStatus,
 * BudgetJob.budgetStatus): the word whose statuses include it. `statusesOf`
 * must cover every status; `view` names the word in the error if not.
 */
export function statusWordOf<Word extends string>(statusesOf: Readonly<Record<Word, readonly JobStatus[]>>, status: JobStatus, view: string): Word {
  for (const [word, statuses] of Object.entries(statusesOf) as [Word, readonly JobStatus[]][]) {
    if (statuses.includes(status)) return word;
  }
  throw new Error(`job status ${status} has no ${view}`);
}
