import { builder } from '../builder.ts';
import { JobKind, JobStatus } from '../../generated/prisma/enums.ts';

export const JobStatusEnum = builder.enumType(JobStatus, {
  name: 'JobStatus',
  description: 'PENDING → RUNNING → COMPLETED; RETRYING between attempts; FAILED (not retriable), DEAD_LETTER (retries exhausted) and CANCELLED until a manual retry.',
});

export const JobKindEnum = builder.enumType(JobKind, {
  name: 'JobKind',
  description: 'Which kind of job, i.e. which GraphQL type implements Job for it.',
});
