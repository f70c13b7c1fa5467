// PortfolioImportJobService (seed 000). create_job inserts the job, its kind
// row and its queue entry in one transaction; the database's exclusion
// constraint decides between concurrent creates, whichever process they reach.
// mark_as_succeeded / mark_as_failed are the core's run-job outcomes: the
// handler returns success (COMPLETED) or throws NonRetriableError (FAILED with
// the error message); the core writes the job_event rows.
import type { DatabaseError } from 'pg';
import { z } from 'zod';
import { prepareJob, type Caller, type CreateJobsDeps } from '../jobs/create.ts';
import { insertJobs } from '../jobs/sql/insert-jobs.ts';
import { withTransaction } from '../db/pool.ts';
import { JobKind, PortfolioImportSource } from '../generated/prisma/enums.ts';
import { parseInput } from '../jobs/validation.ts';
import { PortfolioImportOverlapError, SQLSTATE_EXCLUSION_VIOLATION } from './errors.ts';
import { parseInterval, type DateInterval } from './interval.ts';
import { findActiveOverlapping, saveImportJob } from './repository.ts';

export const PORTFOLIO_IMPORT_JOB_TYPE = 'portfolio.import';
/** Largest uploaded statement. */
export const STATEMENT_MAX_BYTES = 20 * 1024 * 1024;

export interface CreatePortfolioImportInput {
  portfolioId: string;
  accountId: string;
  interval: DateInterval;
  source: PortfolioImportSource;
  /** The uploaded statement; null: fetched from the source. */
  statement?: string | null;
  priority?: number | null;
  maxRetries?: number | null;
}

const inputSchema = z.object({
  portfolioId: z.uuid('must be a portfolio id (UUID)'),
  accountId: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be a broker account id (1-32 letters, digits, _ or -)'),
  source: z.enum(PortfolioImportSource),
  statement: z
    .string()
    .refine((value) => Buffer.byteLength(value) <= STATEMENT_MAX_BYTES, `must be at most ${STATEMENT_MAX_BYTES} bytes`)
    .nullish(),
});

function isExclusionViolation(error: unknown): error is DatabaseError {
  return typeof error === 'object' && error !== null && (error as DatabaseError).code === SQLSTATE_EXCLUSION_VIOLATION;
}

/** create_job: answers the new job's id, or throws PortfolioImportOverlapError / ValidationError. */
export async function createPortfolioImportJob(deps: CreateJobsDeps, caller: Caller, input: CreatePortfolioImportInput): Promise<string> {
  const parsed = parseInput(inputSchema, input);
  const interval = parseInterval(input.interval);
  const job = prepareJob(
    deps,
    caller,
    { jobType: PORTFOLIO_IMPORT_JOB_TYPE, payload: {}, priority: input.priority, maxRetries: input.maxRetries },
    { kind: JobKind.PORTFOLIO_IMPORT },
  );
  try {
    await withTransaction(deps.pool, async (client) => {
      await insertJobs(client, [job]);
      await saveImportJob(client, {
        jobId: job.id,
        portfolioId: parsed.portfolioId.toLowerCase(),
        accountId: parsed.accountId,
        interval,
        source: parsed.source,
        statement: parsed.statement ?? null,
      });
    });
  } catch (error) {
    if (!isExclusionViolation(error)) throw error;
    // The winner has committed (the constraint waited for it): name it.
    const existing = await findActiveOverlapping(deps.pool, caller.tenantId, parsed.portfolioId.toLowerCase(), interval);
    throw new PortfolioImportOverlapError(parsed.portfolioId.toLowerCase(), existing?.jobId ?? 'unknown', existing?.interval ?? interval);
  }
  return job.id;
}
