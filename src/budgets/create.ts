// Creating a BudgetJob: check the request at the edge (the budget at the
// provider, stored payees, suggestions and snapshots of the caller's tenant),
// then insert the job, its budget_job row and its queue entry in one
// transaction. Bad input changes nothing.
import type pg from 'pg';
import { createKindJob, type Caller, type CreateJobsDeps, type IdempotencyInput } from '../jobs/create.ts';
import type { CreatedJob } from '../flow/create.ts';
import { ValidationError } from '../core/errors.ts';
import { JobKind } from '../generated/prisma/enums.ts';
import { BudgetProviderError, type BudgetProvider } from './provider.ts';
import type { BudgetProviders } from './providers.ts';
import { BudgetNotFoundError, BudgetProviderFailedError, PayeeNotFoundError, SnapshotNotFoundError, SuggestionNotFoundError, SuggestionOfAnotherBudgetError } from './errors.ts';
import { budgetConcurrencyKey, BudgetJobTrigger, BudgetJobType, JOB_TYPE_OF, type BudgetJobMetadata } from './kind.ts';
import { isUuid } from '../core/validation.ts';

export interface CreateBudgetJobInput extends IdempotencyInput {
  budgetId: string;
  /** budget_sync, sync_and_suggest: fetch everything, not only what changed since the stored server knowledge. */
  fullResync?: boolean | null;
  /** suggestions_retry_payee. */
  payeeId?: string | null;
  /** suggestions_apply: absent = every ACCEPTED suggestion of the budget. */
  suggestionIds?: readonly string[] | null;
  /** snapshot_redownload. */
  snapshotId?: string | null;
  priority?: number | null;
  maxRetries?: number | null;
}

export interface BudgetJobDeps extends CreateJobsDeps {
  /** Each tenant's budget provider: a job reaches only budgets its tenant's own credentials reach. */
  budgetProviders: BudgetProviders;
}

/** How a job came to be: a user's request (MANUAL), or a schedule's tick (its job is the parent). */
export interface BudgetJobOrigin {
  trigger: BudgetJobTrigger;
  parentJobId?: string | null;
}

const ID_MAX_CHARS = 200;
export const APPLY_SUGGESTIONS_MAX = 1000;

function checkId(field: string, value: string | null | undefined): string {
  if (value == null || value.trim() === '') throw new ValidationError(field, 'is required');
  if (value.length > ID_MAX_CHARS) throw new ValidationError(field, `must be at most ${ID_MAX_CHARS} characters (got ${value.length})`);
  return value;
}

function checkUuid(field: string, value: string | null | undefined): string {
  checkId(field, value);
  if (!isUuid(value!)) throw new ValidationError(field, `"${value}" is not an id (a UUID)`);
  return value!.toLowerCase();
}

/** The fields a type takes; any other given is a mistake worth naming. */
const FIELDS_OF: Readonly<Record<BudgetJobType, ReadonlyArray<'fullResync' | 'payeeId' | 'suggestionIds' | 'snapshotId'>>> = {
  budget_sync: ['fullResync'],
  sync_and_suggest: ['fullResync'],
  suggestions_generate: [],
  suggestions_retry_payee: ['payeeId'],
  suggestions_apply: ['suggestionIds'],
  snapshot_create: [],
  snapshot_redownload: ['snapshotId'],
  scheduled_sync_and_suggest: [],
};

/** Asks the provider whether the budget exists; its NOT_FOUND is a BudgetNotFoundError. */
export async function assertBudgetExists(provider: BudgetProvider, budgetId: string): Promise<void> {
  try {
    await provider.getBudget(budgetId, AbortSignal.timeout(30_000));
  } catch (error) {
    if (error instanceof BudgetProviderError) {
      if (error.code === 'NOT_FOUND') throw new BudgetNotFoundError(budgetId);
      throw new BudgetProviderFailedError(budgetId, error.code, error.message);
    }
    // Anything else may carry a URL: the caller gets a safe text.
    throw new BudgetProviderFailedError(budgetId, 'UNAVAILABLE', 'the budget provider did not answer');
  }
}

/** Checks that every suggestion id is one of the tenant's suggestions of the budget. */
export async function assertSuggestionsOfBudget(
  db: Pick<pg.Pool, 'query'>,
  tenantId: string | null,
  budgetId: string,
  ids: readonly string[],
  field: string,
): Promise<void> {
  const { rows } = await db.query<{ id: string; budgetId: string }>(
    `select id, budget_id as "budgetId" from category_suggestion
      where id = any($1::uuid[]) and ($2::text is null or tenant_id = $2::text)`,
    [ids, tenantId],
  );
  const found = new Map(rows.map((row) => [row.id, row.budgetId]));
  ids.forEach((id, index) => {
    const of = found.get(id);
    if (of === undefined) throw new SuggestionNotFoundError(id, `${field}.${index}`);
    if (of !== budgetId) throw new SuggestionOfAnotherBudgetError(id, budgetId, `${field}.${index}`);
  });
}

/** Creates and queues one BudgetJob of `type` (or finds the one its idempotency key names). */
export async function createBudgetJob(
  deps: BudgetJobDeps,
  caller: Caller,
  type: BudgetJobType,
  input: CreateBudgetJobInput,
  origin: BudgetJobOrigin = { trigger: BudgetJobTrigger.MANUAL },
): Promise<CreatedJob> {
  if (type === BudgetJobType.scheduled_sync_and_suggest) {
    throw new ValidationError('type', 'scheduled_sync_and_suggest jobs are made by budget schedules (createBudgetSchedule)');
  }
  const budgetId = checkId('budgetId', input.budgetId);
  for (const name of ['fullResync', 'payeeId', 'suggestionIds', 'snapshotId'] as const) {
    if (input[name] != null && !FIELDS_OF[type].includes(name)) throw new ValidationError(name, `is not an option of ${type} jobs`);
  }
  const payeeId = type === BudgetJobType.suggestions_retry_payee ? checkId('payeeId', input.payeeId) : null;
  const snapshotId = type === BudgetJobType.snapshot_redownload ? checkUuid('snapshotId', input.snapshotId) : null;
  let suggestionIds: string[] | undefined;
  if (input.suggestionIds != null) {
    if (input.suggestionIds.length === 0) throw new ValidationError('suggestionIds', 'must name at least one suggestion (leave it out to apply every ACCEPTED one)');
    if (input.suggestionIds.length > APPLY_SUGGESTIONS_MAX) {
      throw new ValidationError('suggestionIds', `must name at most ${APPLY_SUGGESTIONS_MAX} suggestions (got ${input.suggestionIds.length})`);
    }
    suggestionIds = [...new Set(input.suggestionIds.map((id, index) => checkUuid(`suggestionIds.${index}`, id)))];
  }
  // The job's tenant is the caller's (createKindJob): its own provider says whether the budget exists.
  await assertBudgetExists(await deps.budgetProviders.forTenant(caller.tenantId), budgetId);

  const metadata: BudgetJobMetadata = {
    fullResync: input.fullResync ?? false,
    trigger: origin.trigger,
    ...(suggestionIds ? { suggestionIds } : {}),
  };
  const kindJob = {
    kind: JobKind.BUDGET,
    jobType: JOB_TYPE_OF[type],
    priority: input.priority,
    maxRetries: input.maxRetries,
    idempotencyKey: input.idempotencyKey,
    idempotencyKeyFreeAfterMs: input.idempotencyKeyFreeAfterMs,
    metadata: metadata as unknown as Record<string, unknown>,
    parentJobId: origin.parentJobId ?? null,
    concurrencyKey: budgetConcurrencyKey(budgetId),
  };
  return createKindJob(deps, caller, kindJob, async (client, job) => {
    // Checked in the creating transaction, against the tenant the job will belong to.
    if (suggestionIds) await assertSuggestionsOfBudget(client, job.tenantId, budgetId, suggestionIds, 'suggestionIds');
    if (payeeId !== null) {
      const { rowCount } = await client.query(`select 1 from budget_payee where tenant_id = $1 and budget_id = $2 and payee_id = $3`, [
        job.tenantId,
        budgetId,
        payeeId,
      ]);
      if (!rowCount) throw new PayeeNotFoundError(payeeId, budgetId);
    }
    if (snapshotId !== null) {
      const { rowCount } = await client.query(`select 1 from budget_snapshot where id = $1 and tenant_id = $2 and budget_id = $3`, [
        snapshotId,
        job.tenantId,
        budgetId,
      ]);
      if (!rowCount) throw new SnapshotNotFoundError(snapshotId, budgetId);
    }
    await client.query(
      `insert into budget_job (job_id, budget_id, budget_job_type, payee_id, snapshot_id) values ($1, $2, $3, $4, $5)`,
      [job.id, budgetId, type, payeeId, snapshotId],
    );
  });
}
