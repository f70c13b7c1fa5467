import { JobStatus } from '../generated/prisma/enums.ts';

export { JobStatus };

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

/** Statuses a manual retry starts again from. */
export const RETRIABLE_STATUSES: readonly JobStatus[] = [
  JobStatus.FAILED,
  JobStatus.DEAD_LETTER,
  JobStatus.CANCELLED,
];

export const isTerminal = (status: JobStatus) => TERMINAL_STATUSES.includes(status);
