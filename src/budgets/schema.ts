// The GraphQL surface of budget jobs: BudgetJob (a Job) with seed 004's type,
// status words, failureReason and metadata; a create mutation per job type;
// budgetJobs, budgetSuggestions and budgetSnapshots of a budget (paged);
// accept/reject of suggestions; a budget's schedule. Reads need jobs:read,
// everything that writes jobs:write (the root types' scopes, builder.ts).
import { builder } from '../graphql/builder.ts';
import { renamedTo } from '../graphql/renamed.ts';
import { BudgetJobType, CategorySuggestionStatus, JobKind } from '../generated/prisma/enums.ts';
import { TenantQuotaExceededError, ValidationError } from '../core/errors.ts';
import { NEWEST_FIRST } from '../jobs/order.ts';
import { JobRef, registerJobKindType, withId } from '../graphql/jobs/schema.ts';
import { createdResultOptions, idempotencyInputFields, markCreated } from '../graphql/flow/schema-inputs.ts';
import { createSchedule, MissedTickPolicy } from '../jobs/schedules.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { assertBudgetExists, createBudgetJob, type CreateBudgetJobInput } from './create.ts';
import {
  BudgetNotFoundError,
  BudgetProviderFailedError,
  PayeeNotFoundError,
  SnapshotNotFoundError,
  SuggestionAlreadyAppliedError,
  SuggestionNotFoundError,
  SuggestionOfAnotherBudgetError,
} from './errors.ts';
import { BudgetJobTrigger, BudgetStatus, budgetStatusOf, SCHEDULED_SYNC_AND_SUGGEST_JOB_TYPE, type BudgetJobMetadata } from './kind.ts';
import { answerSuggestions, type SuggestionAnswer } from './suggestions.ts';

import { ProviderConnectionMissingError } from '../connections/errors.ts';
import './schema-errors.ts';
import { isUuid } from '../core/validation.ts';

registerJobKindType(JobKind.BUDGET, 'BudgetJob');

// ---------------------------------------------------------------------------
// Types

const BudgetJobTypeEnum = builder.enumType('BudgetJobType', {
  description:
    "Seed 004's job type; the value is the seed's name (job.jobType is `budget.` + that name without `budget_`). SCHEDULED_SYNC_AND_SUGGEST jobs are made by budget schedules only (createBudgetSchedule).",
  values: Object.fromEntries(Object.values(BudgetJobType).map((type) => [type.toUpperCase(), { value: type }])) as Record<
    Uppercase<BudgetJobType>,
    { value: BudgetJobType }
  >,
});

const BudgetJobStatusEnum = builder.enumType('BudgetJobStatus', {
  description:
    "Seed 004's status words, a view of the job's status: queued (PENDING, SCHEDULED, RETRYING), running (RUNNING), succeeded (COMPLETED), failed (FAILED, DEAD_LETTER), canceled (CANCELLED).",
  values: Object.fromEntries(Object.values(BudgetStatus).map((word) => [word.toUpperCase(), { value: word }])) as Record<
    Uppercase<BudgetStatus>,
    { value: BudgetStatus }
  >,
});

const BudgetJobTriggerEnum = builder.enumType('BudgetJobTrigger', {
  description: 'What made a budget job: a user (MANUAL) or a budget schedule (SCHEDULED).',
  values: Object.values(BudgetJobTrigger),
});

const CategorySuggestionStatusEnum = builder.enumType(CategorySuggestionStatus, {
  name: 'CategorySuggestionStatus',
  description:
    'PENDING: made, unanswered (made again by the next suggestions run). ACCEPTED / REJECTED: answered (suggestions_apply writes ACCEPTED ones). APPLIED: written to the provider.',
});

interface MetadataShape {
  fullResync: boolean;
  trigger: BudgetJobTrigger;
  suggestionIds: string[] | null;
}

const BudgetJobMetadataRef = builder.objectRef<MetadataShape>('BudgetJobMetadata').implement({
  description: "Seed 004's metadata of a budget job (also in the Job's `metadata` JSON).",
  fields: (t) => ({
    fullResync: t.exposeBoolean('fullResync', { description: 'budget_sync, sync_and_suggest: fetched everything, not only changes since the stored server knowledge.' }),
    trigger: t.field({ type: BudgetJobTriggerEnum, resolve: (m) => m.trigger }),
    suggestionIds: t.idList({
      nullable: true,
      description: 'suggestions_apply: the suggestions it writes; null: every ACCEPTED one of the budget.',
      resolve: (m) => m.suggestionIds,
    }),
  }),
});

const withBudget = { select: { budgetJob: true } } as const;

export const BudgetJobRef = builder.prismaNode('Job', {
  // node/nodes answer null for a missing id (or another tenant's), not an error.
  nullable: true,
  variant: 'BudgetJob',
  description: 'A job on a budget of the budget provider (seed 004): sync, suggestions, apply, snapshots.',
  interfaces: [JobRef],
  id: { field: 'id' },
  fields: (t) => ({
    budgetId: t.id({ ...withBudget, resolve: (job) => job.budgetJob!.budgetId }),
    budgetJobType: t.field({ ...withBudget, type: BudgetJobTypeEnum, resolve: (job) => job.budgetJob!.budgetJobType }),
    budgetStatus: t.field({ type: BudgetJobStatusEnum, select: { status: true }, resolve: (job) => budgetStatusOf(job.status) }),
    failureReason: t.string({
      nullable: true,
      description: 'Why the job failed, when budgetStatus is failed: user-safe (never a token, URL or stack trace).',
      select: { status: true, errorMessage: true },
      resolve: (job) => (budgetStatusOf(job.status) === 'failed' ? (job.errorMessage ?? 'the job failed') : null),
    }),
    budgetMetadata: t.field({
      type: BudgetJobMetadataRef,
      select: { metadata: true },
      resolve: (job) => {
        const m = job.metadata as Partial<MetadataShape>;
        return {
          fullResync: m.fullResync === true,
          trigger: m.trigger === BudgetJobTrigger.SCHEDULED ? BudgetJobTrigger.SCHEDULED : BudgetJobTrigger.MANUAL,
          suggestionIds: Array.isArray(m.suggestionIds) ? m.suggestionIds : null,
        };
      },
    }),
    payeeId: t.id({ ...withBudget, nullable: true, description: 'suggestions_retry_payee: the payee.', resolve: (job) => job.budgetJob!.payeeId }),
    snapshotId: t.id({
      ...withBudget,
      nullable: true,
      description: 'snapshot_create: the snapshot made (once done); snapshot_redownload: the snapshot verified.',
      resolve: (job) => job.budgetJob!.snapshotId,
    }),
    syncedTransactionCount: t.int({
      ...withBudget,
      description: 'Transactions written by this sync so far (live on jobUpdated).',
      resolve: (job) => job.budgetJob!.syncedTransactionCount,
    }),
    suggestionCount: t.int({ ...withBudget, description: 'Suggestions made or made again (live on jobUpdated).', resolve: (job) => job.budgetJob!.suggestionCount }),
    appliedSuggestionCount: t.int({
      ...withBudget,
      description: 'suggestions_apply: written to the provider by this job.',
      resolve: (job) => job.budgetJob!.appliedSuggestionCount,
    }),
    notAppliedSuggestionCount: t.int({
      ...withBudget,
      description: 'suggestions_apply: not written; each suggestion says why (notAppliedReason).',
      resolve: (job) => job.budgetJob!.notAppliedSuggestionCount,
    }),
    // The names before every count was named <thing>Count.
    transactionsSynced: t.int({ ...withBudget, deprecationReason: renamedTo('syncedTransactionCount'), resolve: (job) => job.budgetJob!.syncedTransactionCount }),
    suggestionsMade: t.int({ ...withBudget, deprecationReason: renamedTo('suggestionCount'), resolve: (job) => job.budgetJob!.suggestionCount }),
    suggestionsApplied: t.int({ ...withBudget, deprecationReason: renamedTo('appliedSuggestionCount'), resolve: (job) => job.budgetJob!.appliedSuggestionCount }),
    suggestionsNotApplied: t.int({
      ...withBudget,
      deprecationReason: renamedTo('notAppliedSuggestionCount'),
      resolve: (job) => job.budgetJob!.notAppliedSuggestionCount,
    }),
  }),
});

/** A budget job's global ID (as BudgetJob.id answers it), from its UUID. */
const budgetJobId = (id: string | null) => (id === null ? null : { type: 'BudgetJob', id });

const CategorySuggestionRef = builder.prismaObject('CategorySuggestion', {
  description: "A category suggested for an uncategorised transaction from its payee's history.",
  fields: (t) => ({
    id: t.exposeID('id'),
    budgetId: t.exposeID('budgetId'),
    transactionId: t.exposeID('transactionId', { description: "The provider's transaction id." }),
    payeeId: t.exposeID('payeeId', { nullable: true }),
    suggestedCategoryId: t.exposeID('suggestedCategoryId', { description: "The provider's category id." }),
    confidence: t.exposeFloat('confidence', { description: "Share (0..1] of the payee's categorised transactions (near-identical names included) with this category." }),
    evidenceCount: t.exposeInt('evidenceCount', { description: 'How many earlier categorised transactions of the payee the suggestion rests on.' }),
    status: t.expose('status', { type: CategorySuggestionStatusEnum }),
    notAppliedReason: t.exposeString('notAppliedReason', { nullable: true, description: 'Why the last suggestions_apply did not write it.' }),
    appliedAt: t.expose('appliedAt', { type: 'DateTime', nullable: true }),
    appliedByJobId: t.globalID({ nullable: true, description: 'The suggestions_apply job that wrote it.', resolve: (s) => budgetJobId(s.appliedByJobId) }),
    createdByJobId: t.globalID({ nullable: true, description: 'The job that made (or last made again) the suggestion.', resolve: (s) => budgetJobId(s.createdByJobId) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const BudgetSnapshotRef = builder.prismaObject('BudgetSnapshot', {
  description: "A gzip-compressed export of a budget. sha256 and sizeBytes are of the export itself (uncompressed).",
  fields: (t) => ({
    id: t.exposeID('id'),
    budgetId: t.exposeID('budgetId'),
    sha256: t.exposeString('sha256'),
    sizeBytes: t.float({ resolve: (s) => Number(s.sizeBytes) }),
    compressedSizeBytes: t.float({ resolve: (s) => Number(s.compressedSizeBytes) }),
    createdByJobId: t.globalID({ nullable: true, description: 'The snapshot_create job (null once it is purged).', resolve: (s) => budgetJobId(s.createdByJobId) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    verifiedAt: t.expose('verifiedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When snapshot_redownload last found the stored bytes decompressing to sha256.',
    }),
    redownloadedSha256: t.exposeString('redownloadedSha256', { nullable: true, description: "sha256 of the provider's export at that redownload." }),
    contentChanged: t.exposeBoolean('contentChanged', {
      nullable: true,
      description: "Whether the provider's export at that redownload differed from the snapshot (null: never redownloaded).",
    }),
  }),
});

// ---------------------------------------------------------------------------
// Queries

builder.queryFields((t) => ({
  budgetJobs: t.prismaConnection({
    type: BudgetJobRef,
    cursor: 'id',
    description: 'The jobs of one budget, newest first.',
    args: { budgetId: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.job.findMany({ ...query, where: { kind: JobKind.BUDGET, budgetJob: { budgetId: String(args.budgetId) } }, orderBy: NEWEST_FIRST }),
  }),
  budgetSuggestions: t.prismaConnection({
    type: CategorySuggestionRef,
    cursor: 'id',
    description: 'Category suggestions of one budget, newest first; optionally of one status.',
    args: { budgetId: t.arg.id({ required: true }), status: t.arg({ type: CategorySuggestionStatusEnum, required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.categorySuggestion.findMany({
        ...query,
        where: { budgetId: String(args.budgetId), ...(args.status ? { status: args.status } : {}) },
        orderBy: NEWEST_FIRST,
      }),
  }),
  budgetSnapshots: t.prismaConnection({
    type: BudgetSnapshotRef,
    cursor: 'id',
    description: 'Snapshots of one budget, newest first.',
    args: { budgetId: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.budgetSnapshot.findMany({ ...query, where: { budgetId: String(args.budgetId) }, orderBy: NEWEST_FIRST }),
  }),
}));

// ---------------------------------------------------------------------------
// Mutations

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
const commonFields = (t: PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>) => ({
  budgetId: t.id({ required: true, description: "The provider's budget id." }),
  priority: t.int({ required: false, description: '-1000..1000, higher runs first. Default 0.' }),
  maxRetries: t.int({ required: false, description: '0..100 automatic retries of the job. Default 3.' }),
  ...idempotencyInputFields(t),
});
const fullResyncField = (t: PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>) => ({
  fullResync: t.boolean({ required: false, description: 'Fetch everything, not only what changed since the stored server knowledge. Default false.' }),
});

const BudgetJobInput = builder.inputType('BudgetJobInput', {
  description: 'A job on a budget (suggestions_generate, snapshot_create).',
  fields: (t) => ({ ...commonFields(t) }),
});
const BudgetSyncJobInput = builder.inputType('BudgetSyncJobInput', {
  description: 'A sync of a budget (budget_sync, sync_and_suggest).',
  fields: (t) => ({ ...commonFields(t), ...fullResyncField(t) }),
});
const SuggestionsRetryPayeeJobInput = builder.inputType('SuggestionsRetryPayeeJobInput', {
  fields: (t) => ({ ...commonFields(t), payeeId: t.id({ required: true, description: "A payee of the stored budget (the provider's id)." }) }),
});
const SuggestionsApplyJobInput = builder.inputType('SuggestionsApplyJobInput', {
  fields: (t) => ({
    ...commonFields(t),
    suggestionIds: t.idList({ required: false, description: 'Suggestions of the budget to write (1..1000); default every ACCEPTED one.' }),
  }),
});
const SnapshotRedownloadJobInput = builder.inputType('SnapshotRedownloadJobInput', {
  fields: (t) => ({ ...commonFields(t), snapshotId: t.id({ required: true, description: 'A snapshot of the budget.' }) }),
});

const createErrors = {
  types: [
    ValidationError,
    TenantQuotaExceededError,
    BudgetNotFoundError,
    BudgetProviderFailedError,
    ProviderConnectionMissingError,
    PayeeNotFoundError,
    SnapshotNotFoundError,
    SuggestionNotFoundError,
    SuggestionOfAnotherBudgetError,
  ],
  directResult: false as const,
  result: createdResultOptions,
};

function toInput(input: { budgetId: string | number } & Record<string, unknown>): CreateBudgetJobInput {
  const ids = input.suggestionIds as Array<string | number> | null | undefined;
  return {
    ...(input as Omit<CreateBudgetJobInput, 'budgetId'>),
    budgetId: String(input.budgetId),
    payeeId: input.payeeId == null ? null : String(input.payeeId),
    snapshotId: input.snapshotId == null ? null : String(input.snapshotId),
    suggestionIds: ids == null ? null : ids.map(String),
  };
}

async function createAndLoad(query: object, ctx: GraphQLContext, type: BudgetJobType, input: CreateBudgetJobInput) {
  const answer = await createBudgetJob(ctx, ctx.caller, type, input);
  return markCreated(await ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id: answer.id } }), answer);
}

builder.mutationFields((t) => {
  const create = (type: BudgetJobType, input: typeof BudgetJobInput | typeof BudgetSyncJobInput | typeof SuggestionsRetryPayeeJobInput | typeof SuggestionsApplyJobInput | typeof SnapshotRedownloadJobInput, description: string) =>
    t.prismaField({
      type: BudgetJobRef,
      description: `${description} Checks the budget at the provider; bad input changes nothing.`,
      errors: createErrors,
      args: { input: t.arg({ type: input as typeof BudgetSyncJobInput, required: true }) },
      resolve: (query, _root, args, ctx) => createAndLoad(query, ctx, type, toInput(args.input as never)),
    });
  return {
    createBudgetSyncJob: create(BudgetJobType.budget_sync, BudgetSyncJobInput, "budget_sync: stores the budget's accounts, categories, payees and transactions."),
    createSuggestionsGenerateJob: create(BudgetJobType.suggestions_generate, BudgetJobInput, 'suggestions_generate: suggests categories for uncategorised transactions.'),
    createSyncAndSuggestJob: create(BudgetJobType.sync_and_suggest, BudgetSyncJobInput, 'sync_and_suggest: steps sync, then suggestions.'),
    createSuggestionsRetryPayeeJob: create(BudgetJobType.suggestions_retry_payee, SuggestionsRetryPayeeJobInput, "suggestions_retry_payee: makes one payee's PENDING suggestions again."),
    createSuggestionsApplyJob: create(BudgetJobType.suggestions_apply, SuggestionsApplyJobInput, 'suggestions_apply: writes ACCEPTED suggestions to the provider (idempotent).'),
    createSnapshotCreateJob: create(BudgetJobType.snapshot_create, BudgetJobInput, 'snapshot_create: stores a compressed snapshot of the budget with its sha256.'),
    createSnapshotRedownloadJob: create(BudgetJobType.snapshot_redownload, SnapshotRedownloadJobInput, 'snapshot_redownload: fetches the export again and verifies the snapshot.'),
  };
});

const AnswerSuggestionsInput = builder.inputType('AnswerSuggestionsInput', {
  fields: (t) => ({
    budgetId: t.id({ required: true }),
    suggestionIds: t.idList({ required: true, description: 'Suggestions of that budget (1..1000).' }),
  }),
});

const ANSWER_MAX = 1000;

async function answer(query: object, ctx: GraphQLContext, input: { budgetId: string | number; suggestionIds: Array<string | number> }, to: SuggestionAnswer) {
  const ids = input.suggestionIds.map(String);
  if (ids.length === 0) throw new ValidationError('suggestionIds', 'must name at least one suggestion');
  if (ids.length > ANSWER_MAX) throw new ValidationError('suggestionIds', `must name at most ${ANSWER_MAX} suggestions (got ${ids.length})`);
  ids.forEach((id, index) => {
    if (!isUuid(id)) throw new ValidationError(`suggestionIds.${index}`, `"${id}" is not a suggestion id (a UUID)`);
  });
  const answered = await answerSuggestions(ctx.pool, ctx.caller, String(input.budgetId), ids.map((id) => id.toLowerCase()), to);
  return ctx.prisma.categorySuggestion.findMany({ ...query, where: { id: { in: answered } }, orderBy: { id: 'asc' } });
}

const answerErrors = {
  types: [ValidationError, SuggestionNotFoundError, SuggestionOfAnotherBudgetError, SuggestionAlreadyAppliedError],
  directResult: false as const,
};

const CreateBudgetScheduleInput = builder.inputType('CreateBudgetScheduleInput', {
  fields: (t) => ({
    budgetId: t.id({ required: true }),
    cron: t.string({ required: true, description: 'When to sync and suggest, e.g. "0 6 * * *" (croner syntax).' }),
    timezone: t.string({ required: false, description: 'IANA time zone of the cron expression. Default UTC.' }),
  }),
});

builder.mutationFields((t) => ({
  acceptSuggestions: t.prismaField({
    type: [CategorySuggestionRef],
    description: 'Marks suggestions of a budget ACCEPTED (suggestions_apply writes them). All or nothing; idempotent.',
    errors: answerErrors,
    args: { input: t.arg({ type: AnswerSuggestionsInput, required: true }) },
    resolve: (query, _root, args, ctx) => answer(query, ctx, args.input, 'ACCEPTED'),
  }),
  rejectSuggestions: t.prismaField({
    type: [CategorySuggestionRef],
    description: 'Marks suggestions of a budget REJECTED (never applied, not made again). All or nothing; idempotent.',
    errors: answerErrors,
    args: { input: t.arg({ type: AnswerSuggestionsInput, required: true }) },
    resolve: (query, _root, args, ctx) => answer(query, ctx, args.input, 'REJECTED'),
  }),
  createBudgetSchedule: t.prismaField({
    type: 'Schedule',
    description:
      "A budget's schedule: each tick makes a scheduled_sync_and_suggest BudgetJob (seed 004's), which creates a sync_and_suggest BudgetJob with trigger SCHEDULED. Pause, resume, update and delete it as any schedule.",
    errors: { types: [ValidationError, BudgetNotFoundError, BudgetProviderFailedError, ProviderConnectionMissingError, TenantQuotaExceededError], directResult: false },
    args: { input: t.arg({ type: CreateBudgetScheduleInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const budgetId = String(args.input.budgetId);
      if (budgetId.trim() === '') throw new ValidationError('budgetId', 'is required');
      // The schedule's ticks run as the caller's tenant: its own provider says whether the budget exists.
      await assertBudgetExists(await ctx.budgetProviders.forTenant(ctx.caller.tenantId), budgetId);
      const id = await createSchedule(ctx, ctx.caller, {
        cron: args.input.cron,
        timezone: args.input.timezone ?? 'UTC',
        missedTickPolicy: MissedTickPolicy.SKIP,
        jobTemplate: {
          jobType: SCHEDULED_SYNC_AND_SUGGEST_JOB_TYPE,
          payload: { budgetId },
          metadata: { fullResync: false, trigger: BudgetJobTrigger.SCHEDULED } satisfies BudgetJobMetadata,
        },
      });
      return ctx.prisma.schedule.findUniqueOrThrow({ ...withId(query), where: { id } });
    },
  }),
}));
