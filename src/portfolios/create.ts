// Creating a PortfolioImportJob (seed 000's create_job): inserts the job, its
// kind row and its queue entry in one transaction; the database's exclusion
// constraint decides between concurrent creates, whichever process they reach.
// The seed's mark_as_succeeded / mark_as_failed are the core's run outcomes:
// the handler returns success (COMPLETED) or throws NonRetriableError (FAILED
// with the error message); the core writes the job_event rows.
import { z } from 'zod';
import { createKindJob, type Caller, type CreateJobsDeps, type IdempotencyInput } from '../jobs/create.ts';
import type { CreatedJob } from '../flow/create.ts';
import { conflictOf, SQLSTATE } from '../core/errors.ts';
import { ConnectionProvider, JobKind, PortfolioImportSource } from '../generated/prisma/enums.ts';
import { parseInput } from '../core/validation.ts';
import { PortfolioImportOverlapError } from './errors.ts';
import { parseInterval, type DateInterval } from './interval.ts';
import { PORTFOLIO_IMPORT_JOB_TYPE, STATEMENT_MAX_BYTES } from './kind.ts';
import { PortfolioImportRepository } from './repository.ts';
import type { ProviderConnections } from '../connections/connections.ts';


export interface CreatePortfolioImportInput extends IdempotencyInput {
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

export interface PortfolioImportDeps extends CreateJobsDeps {
  /** Without an uploaded statement the job fetches one with its tenant's own Flex credentials. */
  providerConnections: Pick<ProviderConnections, 'flex' | 'missing'>;
}

/**
 * create_job: answers the new job (or the one its idempotency key names, checked
 * before the overlap), or throws PortfolioImportOverlapError / ValidationError /
 * ProviderConnectionMissingError (no statement, and no Flex credentials of the caller's tenant).
 */
export async function createPortfolioImportJob(deps: PortfolioImportDeps, caller: Caller, input: CreatePortfolioImportInput): Promise<CreatedJob> {
  const parsed = parseInput(inputSchema, input);
  const interval = parseInterval(input.interval);
  // Said at once rather than by a failed job; the same answer whatever account was named.
  if (parsed.statement == null && !(await deps.providerConnections.flex(caller.tenantId))) throw deps.providerConnections.missing(ConnectionProvider.IBKR_FLEX);
  const portfolioId = parsed.portfolioId.toLowerCase();
  const { priority, maxRetries, idempotencyKey, idempotencyKeyFreeAfterMs } = input;
  const kindJob = { kind: JobKind.PORTFOLIO_IMPORT, jobType: PORTFOLIO_IMPORT_JOB_TYPE, priority, maxRetries, idempotencyKey, idempotencyKeyFreeAfterMs };
  try {
    return await createKindJob(deps, caller, kindJob, (client, job) =>
      new PortfolioImportRepository(client).save({
        jobId: job.id,
        portfolioId,
        accountId: parsed.accountId,
        interval,
        source: parsed.source,
        statement: parsed.statement ?? null,
      }),
    );
  } catch (error) {
    if (conflictOf(error)?.code !== SQLSTATE.EXCLUSION_VIOLATION) throw error;
    // The winner has committed (the constraint waited for it): name it.
    const existing = await new PortfolioImportRepository(deps.pool).findActiveOverlapping(caller.tenantId, portfolioId, interval);
    throw new PortfolioImportOverlapError(portfolioId, existing?.jobId ?? 'unknown', existing?.interval ?? interval);
  }
}
