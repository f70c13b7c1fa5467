// The budget job types' handlers (one per seed 004 type, see kind.ts). Each
// reads its budget_job row (budget, tenant, payee, snapshot) and runs its
// part; sync_and_suggest runs two steps, `sync` then `suggestions`, through
// the step machinery, so a retry after the suggestions step failed resumes
// there without syncing again. A job's failureReason is always user-safe:
// BudgetProviderError messages are (adapters build them from the code and the
// HTTP status only); anything else becomes a generic text and its details go
// to the log only.
import { z } from 'zod';
import type pg from 'pg';
import { JobKind } from '../generated/prisma/enums.ts';
import type { Caller, CreateJobsDeps } from '../jobs/create.ts';
import { JobwireError } from '../core/errors.ts';
import { EMPTY_PAYLOAD, NonRetriableError, type JobContext, type JobHandler, type RunningJob } from '../core/handler.ts';
import type { HandlerRegistry } from '../core/registry.ts';
import { applySuggestions } from './apply.ts';
import { createBudgetJob } from './create.ts';
import { BudgetJobTrigger, BudgetJobType, JOB_TYPE_OF, SCHEDULED_SYNC_AND_SUGGEST_JOB_TYPE, type BudgetJobMetadata } from './kind.ts';
import { BudgetProviderError, type BudgetProvider } from './provider.ts';
import type { BudgetProviders } from './providers.ts';
import { createSnapshot, redownloadSnapshot } from './snapshots.ts';
import { generateSuggestions } from './suggestions.ts';
import { syncBudget, type BudgetJobRef } from './sync.ts';

export interface BudgetHandlerDeps {
  pool: pg.Pool;
  /** A job uses its tenant's provider only (budget_job.tenant_id). */
  budgetProviders: BudgetProviders;
  config: CreateJobsDeps['config'];
  /** The registry the handlers join: the scheduled job creates its sync_and_suggest through it. */
  registry: HandlerRegistry;
}

/** The failureReason of anything that is not a provider's (user-safe) error. */
export const UNEXPECTED_FAILURE = 'the budget job failed unexpectedly; the worker log has the details';

/** The job's budget_job row. */
interface BudgetJobRow extends BudgetJobRef {
  payeeId: string | null;
  snapshotId: string | null;
}

async function readBudgetJob(pool: pg.Pool, jobId: string): Promise<BudgetJobRow> {
  const { rows } = await pool.query<BudgetJobRow>(
    `select job_id as "jobId", tenant_id as "tenantId", budget_id as "budgetId", payee_id as "payeeId", snapshot_id as "snapshotId"
       from budget_job where job_id = $1`,
    [jobId],
  );
  if (!rows[0]) throw new NonRetriableError(`job ${jobId} has no budget_job row`);
  return rows[0];
}

/**
 * Runs `fn`, turning what it throws into a failure whose message is safe to
 * show: a provider error keeps its message (retried when it says so), our own
 * NonRetriableErrors keep theirs, anything else is logged and replaced.
 */
async function safely<T>(ctx: JobContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (ctx.signal.aborted || error instanceof NonRetriableError) throw error;
    // Our own expected failures (an unknown budget, ...) say what is wrong in user-safe words.
    if (error instanceof JobwireError) throw new NonRetriableError(error.message);
    if (error instanceof BudgetProviderError) {
      ctx.logger.warn({ code: error.code, retriable: error.retriable }, `budget provider error: ${error.message}`);
      throw error.retriable ? new Error(error.message) : new NonRetriableError(error.message);
    }
    ctx.logger.error({ err: error }, 'budget job failed');
    throw new Error(UNEXPECTED_FAILURE);
  }
}

function metadataOf(job: RunningJob<unknown>): BudgetJobMetadata {
  const metadata = job.metadata as Partial<BudgetJobMetadata>;
  return {
    fullResync: metadata.fullResync === true,
    trigger: metadata.trigger === BudgetJobTrigger.SCHEDULED ? BudgetJobTrigger.SCHEDULED : BudgetJobTrigger.MANUAL,
    ...(Array.isArray(metadata.suggestionIds) ? { suggestionIds: metadata.suggestionIds.map(String) } : {}),
  };
}

/** What a handler runs on: its budget_job row, and its tenant's provider (asked for only by types that reach the provider). */
interface BudgetJobRun extends BudgetJobRow {
  provider(): Promise<BudgetProvider>;
}

/** A BudgetJob handler: its request lives in budget_job and job.metadata, not in the payload. */
function budgetHandlerOf(
  deps: BudgetHandlerDeps,
  type: BudgetJobType,
  description: string,
  run: (row: BudgetJobRun, job: RunningJob<Record<string, never>>, ctx: JobContext) => Promise<Record<string, unknown>>,
  steps?: readonly string[],
): JobHandler<Record<string, never>> {
  return {
    jobType: JOB_TYPE_OF[type],
    description,
    kind: JobKind.BUDGET,
    payload: EMPTY_PAYLOAD,
    ...(steps ? { steps } : {}),
    async handle(job, ctx) {
      const row = await readBudgetJob(ctx.db, job.id);
      // The job's own tenant's credentials, never another's; none (a deleted connection) fails the job saying so.
      const provider = () => safely(ctx, () => deps.budgetProviders.forTenant(row.tenantId));
      return { success: true, resultData: await run({ ...row, provider }, job, ctx) };
    },
  };
}

export function createBudgetHandlers(deps: BudgetHandlerDeps): JobHandler<any>[] {
  const { pool } = deps;
  const budgetHandler = (...args: Parameters<typeof budgetHandlerOf> extends [unknown, ...infer Rest] ? Rest : never) => budgetHandlerOf(deps, ...args);

  const syncAndSuggest = async (row: BudgetJobRun, job: RunningJob<Record<string, never>>, ctx: JobContext) => {
    const sync = await ctx.step('sync', async () => {
      const provider = await row.provider();
      return safely(ctx, () => syncBudget(pool, provider, row, metadataOf(job).fullResync, ctx, [0, 50]));
    });
    const suggestions = await ctx.step('suggestions', () => safely(ctx, () => generateSuggestions(pool, row)));
    ctx.progress({ percent: 100, message: `${suggestions.suggestionCount} suggestions made` });
    return { sync, suggestions };
  };

  const handlers: JobHandler<any>[] = [
    budgetHandler(BudgetJobType.budget_sync, "Syncs a budget's accounts, categories, payees and transactions from the budget provider (a delta since the stored server knowledge).", async (row, job, ctx) => {
      const provider = await row.provider();
      return safely(ctx, () => syncBudget(pool, provider, row, metadataOf(job).fullResync, ctx));
    }),
    budgetHandler(BudgetJobType.suggestions_generate, "Suggests a category for each uncategorised transaction from its payee's history.", async (row, _job, ctx) => {
      const result = await safely(ctx, () => generateSuggestions(pool, row));
      ctx.progress({ percent: 100, message: `${result.suggestionCount} suggestions made` });
      return result;
    }),
    budgetHandler(BudgetJobType.sync_and_suggest, 'Syncs a budget, then makes its category suggestions (steps sync, suggestions).', syncAndSuggest, ['sync', 'suggestions']),
    budgetHandler(BudgetJobType.suggestions_retry_payee, "Makes the PENDING suggestions of one payee's transactions again.", async (row, _job, ctx) => {
      const result = await safely(ctx, () => generateSuggestions(pool, row, row.payeeId));
      ctx.progress({ percent: 100, message: `${result.suggestionCount} suggestions made` });
      return result;
    }),
    budgetHandler(BudgetJobType.suggestions_apply, 'Writes ACCEPTED category suggestions to the budget provider; applying twice changes nothing.', async (row, job, ctx) => {
      const provider = await row.provider();
      return safely(ctx, () => applySuggestions(pool, provider, row, metadataOf(job).suggestionIds, ctx.signal));
    }),
    budgetHandler(BudgetJobType.snapshot_create, "Stores a gzip-compressed snapshot of the budget's export with its sha256.", async (row, _job, ctx) => {
      const provider = await row.provider();
      return safely(ctx, () => createSnapshot(pool, provider, row, ctx.signal));
    }),
    budgetHandler(BudgetJobType.snapshot_redownload, 'Fetches the export of a snapshot again and verifies the stored snapshot against its sha256.', async (row, _job, ctx) => {
      const provider = await row.provider();
      return safely(ctx, () => redownloadSnapshot(pool, provider, row, row.snapshotId!, ctx.signal));
    }),
    scheduledSyncAndSuggestHandler(deps),
  ];
  return handlers;
}

const scheduledPayload = z.object({ budgetId: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters') }).strict();

/**
 * Seed 004's scheduled_sync_and_suggest: the plain job a budget's schedule
 * makes at each tick (schedules make plain jobs). It creates a
 * sync_and_suggest BudgetJob marked `trigger: SCHEDULED`, as the schedule's
 * owner, with itself as the parent; the new job runs under the budget's
 * concurrency key like any other.
 */
function scheduledSyncAndSuggestHandler(deps: BudgetHandlerDeps): JobHandler<z.infer<typeof scheduledPayload>> {
  return {
    jobType: SCHEDULED_SYNC_AND_SUGGEST_JOB_TYPE,
    description: "A budget schedule's tick: creates a sync_and_suggest job of the budget marked SCHEDULED.",
    kind: JobKind.BUDGET,
    payload: scheduledPayload,
    // The tick is a BudgetJob like the others: its budget_job row names the budget.
    async insertScheduledKindRow(db, job) {
      await db.query(`insert into budget_job (job_id, budget_id, budget_job_type, tenant_id) values ($1, $2, 'scheduled_sync_and_suggest', $3)`, [
        job.id,
        job.payload.budgetId,
        job.tenantId,
      ]);
    },
    async handle(job, ctx) {
      const { rows } = await ctx.db.query<{ tenantId: string }>(`select tenant_id as "tenantId" from job where id = $1`, [job.id]);
      const owner: Caller = { principalId: job.createdBy ?? 'schedule', tenantId: rows[0]!.tenantId, scopes: new Set(), expiresAt: null };
      // One sync_and_suggest per tick, also when this job runs again after a crash.
      const created = await safely(ctx, () =>
        createBudgetJob(
          { pool: deps.pool, registry: deps.registry, config: deps.config, budgetProviders: deps.budgetProviders },
          owner,
          BudgetJobType.sync_and_suggest,
          { budgetId: job.payload.budgetId, idempotencyKey: `budget-schedule-tick:${job.id}` },
          { trigger: BudgetJobTrigger.SCHEDULED, parentJobId: job.id },
        ),
      );
      return { success: true, resultData: { syncAndSuggestJobId: created.id } };
    },
  };
}
