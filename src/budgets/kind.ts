// The budget kind (seed 004): its job types, seed 004's status words over the
// core's job statuses, the metadata every BudgetJob carries, and the
// concurrency key that runs the jobs of one budget one at a time.
//
// Job types. budget_job.budget_job_type (SQL enum), the Prisma enum
// BudgetJobType and GraphQL's BudgetJobType values are seed 004's `type`
// names exactly; job.job_type (the handler registry's dotted name) is
// `budget.` + the seed's name without its `budget_` prefix:
//
//   seed 004 type               job.job_type                         GraphQL BudgetJobType
//   budget_sync                 budget.sync                          BUDGET_SYNC
//   suggestions_generate        budget.suggestions_generate          SUGGESTIONS_GENERATE
//   sync_and_suggest            budget.sync_and_suggest              SYNC_AND_SUGGEST
//   suggestions_retry_payee     budget.suggestions_retry_payee       SUGGESTIONS_RETRY_PAYEE
//   suggestions_apply           budget.suggestions_apply             SUGGESTIONS_APPLY
//   snapshot_create             budget.snapshot_create               SNAPSHOT_CREATE
//   snapshot_redownload         budget.snapshot_redownload           SNAPSHOT_REDOWNLOAD
//   scheduled_sync_and_suggest  budget.scheduled_sync_and_suggest    SCHEDULED_SYNC_AND_SUGGEST
//
// scheduled_sync_and_suggest is what a budget's schedule (src/jobs/schedules.ts,
// cron and time zone) makes at each tick: a BudgetJob whose budget_job row the
// schedule writes (its handler's insertScheduledKindRow), with payload
// {budgetId}; its handler creates a sync_and_suggest BudgetJob marked
// `trigger: SCHEDULED` whose parentJobId is the tick's job. Only schedules make it.
//
// Status words (seed 004's Job.status), a view of job.status:
//
//   budgetStatus  job statuses
//   queued        PENDING, SCHEDULED, RETRYING   waiting for a worker (again, after a retry's backoff)
//   running       RUNNING
//   succeeded     COMPLETED
//   failed        FAILED, DEAD_LETTER            not retried automatically; failureReason says why
//   canceled      CANCELLED
import { BudgetJobType, JobStatus } from '../generated/prisma/enums.ts';
import { statusWordOf } from '../job-state/statuses.ts';

export { BudgetJobType };

/** The BudgetJob a budget's schedule makes per tick (seed 004's scheduled_sync_and_suggest). */
export const SCHEDULED_SYNC_AND_SUGGEST_JOB_TYPE = 'budget.scheduled_sync_and_suggest';

export const BUDGET_JOB_TYPES = Object.values(BudgetJobType);

/** job.job_type of each seed 004 type. */
export const JOB_TYPE_OF: Readonly<Record<BudgetJobType, string>> = Object.fromEntries(
  BUDGET_JOB_TYPES.map((type) => [type, `budget.${type.replace(/^budget_/, '')}`]),
) as Record<BudgetJobType, string>;

export const BudgetStatus = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  canceled: 'canceled',
} as const;
export type BudgetStatus = (typeof BudgetStatus)[keyof typeof BudgetStatus];

/** The job statuses each status word stands for. */
export const JOB_STATUSES_OF: Readonly<Record<BudgetStatus, readonly JobStatus[]>> = {
  queued: [JobStatus.PENDING, JobStatus.SCHEDULED, JobStatus.RETRYING],
  running: [JobStatus.RUNNING],
  succeeded: [JobStatus.COMPLETED],
  failed: [JobStatus.FAILED, JobStatus.DEAD_LETTER],
  canceled: [JobStatus.CANCELLED],
};

export function budgetStatusOf(status: JobStatus): BudgetStatus {
  return statusWordOf(JOB_STATUSES_OF, status, 'budget status');
}

/** Who made a job run: a user's mutation, or a budget's schedule. */
export const BudgetJobTrigger = { MANUAL: 'MANUAL', SCHEDULED: 'SCHEDULED' } as const;
export type BudgetJobTrigger = (typeof BudgetJobTrigger)[keyof typeof BudgetJobTrigger];

/** job.metadata of every BudgetJob (seed 004's non-sensitive context). */
export interface BudgetJobMetadata {
  /** budget_sync, sync_and_suggest: start from no server knowledge (fetch everything). */
  fullResync: boolean;
  trigger: BudgetJobTrigger;
  /** suggestions_apply: the suggestions to write; absent: every ACCEPTED one of the budget. */
  suggestionIds?: string[];
}

/**
 * The concurrency key of every job that writes a budget: with limit 1, the
 * jobs of one budget run one at a time (src/flow/gates.ts counts a key within
 * its tenant, so two tenants' budgets of the same id do not wait on each other).
 */
export function budgetConcurrencyKey(budgetId: string): string {
  return `budget:${budgetId}`;
}

/** Suggestions made from payee history: names this similar (pg_trgm, 0..1) count as one payee. */
export const PAYEE_NAME_SIMILARITY = 0.6;
