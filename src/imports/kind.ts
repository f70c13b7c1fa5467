// The import kind: its job type, and seed 001's ImportJobStatus over the core's
// job statuses. An import's status
// is job.status (the core's status machine, shared by every kind); the seed's
// five values are a view of it:
//
//   ImportJobStatus  job statuses
//   PENDING          PENDING, SCHEDULED       waiting for a worker
//   PROCESSING       RUNNING, RETRYING        a worker holds it, or will again after a backoff
//   COMPLETED        COMPLETED
//   FAILED           FAILED, DEAD_LETTER      not retried automatically
//   CANCELLED        CANCELLED
import { JobStatus } from '../generated/prisma/enums.ts';
import { statusWordOf } from '../job-state/statuses.ts';

/** The job_type of every ImportJob (its handler in handler.ts). */
export const IMPORT_JOB_TYPE = 'import.qa_pairs';

/** What a near duplicate does: REJECT (not stored, an error) or FLAG (stored, marked). */
export type DuplicateAction = 'REJECT' | 'FLAG';

export interface DuplicatePolicy {
  /** pg_trgm similarity from which a question is a near duplicate (0.5..1). */
  similarityThreshold: number;
  action: DuplicateAction;
}

export const ImportJobStatus = {
  PENDING: 'PENDING',
  PROCESSING: 'PROCESSING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;
export type ImportJobStatus = (typeof ImportJobStatus)[keyof typeof ImportJobStatus];

/** The job statuses each import status stands for. */
export const JOB_STATUSES_OF: Readonly<Record<ImportJobStatus, readonly JobStatus[]>> = {
  PENDING: [JobStatus.PENDING, JobStatus.SCHEDULED],
  PROCESSING: [JobStatus.RUNNING, JobStatus.RETRYING],
  COMPLETED: [JobStatus.COMPLETED],
  FAILED: [JobStatus.FAILED, JobStatus.DEAD_LETTER],
  CANCELLED: [JobStatus.CANCELLED],
};

export function importStatusOf(status: JobStatus): ImportJobStatus {
  return statusWordOf(JOB_STATUSES_OF, status, 'import status');
}

/** The job status updateStatus writes for an import status (the first of its statuses). */
export function jobStatusFor(status: ImportJobStatus): JobStatus {
  return JOB_STATUSES_OF[status][0]!;
}
