// Bulk cancel and retry over a JobFilter: the count to confirm, and the mutations.
import { builder } from '../builder.ts';
import { bulkJobAction, countBulkTargets, type BulkJobAction, type BulkJobOutcome } from '../../jobs/bulk.ts';
import { ValidationError } from '../../core/errors.ts';
import { JobFilter, jobSearch } from './filters.ts';
import type { JobSelection } from '../../jobs/bulk.ts';
import type { HandlerRegistry } from '../../core/registry.ts';

/** The filter with its search fields checked; statuses and kinds as the enums they are. */
const bulkSelection = (filter: typeof JobFilter.$inferInput, registry: HandlerRegistry) => jobSearch(filter, registry) as JobSelection;

const BulkJobActionEnum = builder.enumType('BulkJobAction', {
  description: 'What a bulk mutation does to each job it selects.',
  values: {
    CANCEL: { value: 'cancel', description: 'cancelJobs: PENDING, SCHEDULED, RUNNING and RETRYING jobs.' },
    RETRY: { value: 'retry', description: 'retryJobs: FAILED, DEAD_LETTER and CANCELLED jobs.' },
  } as const,
});

const BulkJobCountRef = builder.objectRef<{ count: number; moreThanMax: boolean; max: number }>('BulkJobCount').implement({
  description: 'How many jobs a bulk mutation over a filter would change now: show it before asking to confirm.',
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'Jobs it would act on (at most `max`).' }),
    moreThanMax: t.exposeBoolean('moreThanMax', { description: 'More jobs match than one call acts on; it takes the oldest `max`.' }),
    max: t.exposeInt('max', { description: 'Most jobs one call acts on (BULK_JOBS_MAX).' }),
  }),
});

builder.queryField('bulkJobCount', (t) =>
  t.field({
    type: BulkJobCountRef,
    description: "How many jobs cancelJobs or retryJobs would act on for this filter (only the statuses the action applies to count, only the caller's tenant's jobs).",
    errors: { types: [ValidationError], directResult: false },
    args: { action: t.arg({ type: BulkJobActionEnum, required: true }), filter: t.arg({ type: JobFilter, required: true }) },
    resolve: async (_root, args, ctx) => {
      const max = ctx.config.BULK_JOBS_MAX;
      return { ...(await countBulkTargets(ctx.pool, ctx.caller, args.action as BulkJobAction, bulkSelection(args.filter, ctx.registry), max)), max };
    },
  }),
);

const BulkJobSkipRef = builder.objectRef<BulkJobOutcome['skipped'][number]>('BulkJobSkip').implement({
  description: 'A selected job that did not change, and why.',
  fields: (t) => ({
    jobId: t.exposeString('jobId', { description: 'The job\'s UUID (accepted wherever a job id is).' }),
    message: t.exposeString('message'),
  }),
});

const BulkJobResultRef = builder.objectRef<BulkJobOutcome>('BulkJobResult').implement({
  description: 'What a bulk cancel or retry did. Each changed job records it in its events, as a single cancel or retry does.',
  fields: (t) => ({
    affectedCount: t.int({ resolve: (outcome) => outcome.affectedJobIds.length }),
    affectedJobIds: t.stringList({
      description: 'UUIDs of the jobs changed, oldest first (accepted wherever a job id is).',
      resolve: (outcome) => outcome.affectedJobIds,
    }),
    skipped: t.field({ type: [BulkJobSkipRef], resolve: (outcome) => outcome.skipped }),
    moreMatching: t.exposeBoolean('moreMatching', { description: 'More jobs matched than the limit: run it again for the rest.' }),
  }),
});

function bulkMutation(action: BulkJobAction, description: string) {
  return builder.mutationField(action === 'cancel' ? 'cancelJobs' : 'retryJobs', (t) =>
    t.field({
      type: BulkJobResultRef,
      description,
      errors: { types: [ValidationError], directResult: false },
      args: {
        filter: t.arg({ type: JobFilter, required: true }),
        limit: t.arg.int({ required: false, description: 'Most jobs to act on, oldest first. Default and upper bound: BULK_JOBS_MAX (1000).' }),
      },
      resolve: (_root, args, ctx) =>
        bulkJobAction(ctx.pool, ctx.caller, action, bulkSelection(args.filter, ctx.registry), { limit: args.limit, max: ctx.config.BULK_JOBS_MAX }),
    }),
  );
}

bulkMutation('cancel', "Cancels every PENDING, SCHEDULED, RUNNING or RETRYING job of the caller's tenant (admin: any) the filter matches (up to the limit), each as cancelJob does.");
bulkMutation('retry', "Retries every FAILED, DEAD_LETTER or CANCELLED job of the caller's tenant (admin: any) the filter matches (up to the limit), each as retryJob does.");
