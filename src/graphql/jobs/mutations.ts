// Mutations of one job: create (one or many), cancel, retry.
import { builder } from '../builder.ts';
import { cancelJob } from '../../job-state/cancel.ts';
import { retryJob } from '../../job-state/retry.ts';
import { UnknownJobTypeError } from '../../registry/errors.ts';
import { createJobsReporting } from '../../jobs/create.ts';
import { createdListResultOptions, createdResultOptions, flowInputFields, markCreated } from '../flow/schema-inputs.ts';
import { InvalidTransitionError, JobConflictError, JobNotFoundError, JobStillActiveError, TenantQuotaExceededError, ValidationError, withQuotaErrors } from '../../core/errors.ts';
import { JobRef, parseJobId, withId } from './types.ts';
import { jobFromInsertedRow, selectsColumnsOnly } from './inserted-row.ts';
import { askedViewerTokenTtl, CreateJobViewerTokenInput, createJobResultOptions, withViewerToken } from './create-viewer-token.ts';
import { describeCreated, inCreateSpan } from '../../tracing/job-spans.ts';
import { requestTrace } from '../request-trace.ts';

const CreateJobInput = builder.inputType('CreateJobInput', {
  fields: (t) => ({
    jobType: t.string({ required: true, description: 'A registered job type (see the jobTypes query).' }),
    payload: t.field({ type: 'JSON', required: false, description: "A JSON object the job type's schema accepts. Default {}." }),
    queueName: t.string({ required: false, description: 'Grouping for stats and routing. Default: the job type\'s, else "default".' }),
    priority: t.int({ required: false, description: '-1000..1000, higher runs first. Default 0.' }),
    maxRetries: t.int({ required: false, description: '0..100 automatic retries before DEAD_LETTER. Default 3.' }),
    scheduledAt: t.field({ type: 'DateTime', required: false, description: 'When the job may run (ISO 8601 date-time with an offset); it waits as SCHEDULED until then.' }),
    parentJobId: t.id({ required: false }),
    metadata: t.field({ type: 'JSON', required: false, description: 'A JSON object of context for people and tools; not read by handlers.' }),
    tags: t.stringList({ required: false, description: 'Labels to find the job by (jobs(filter: { tags })): at most 20, each 1-64 letters, digits or _.:=/- starting with a letter or digit.' }),
    ...flowInputFields(t),
  }),
});

function toCreateInput(input: typeof CreateJobInput.$inferInput, field: string) {
  return {
    ...input,
    parentJobId: input.parentJobId == null ? null : parseJobId(String(input.parentJobId), `${field}parentJobId`),
    dependsOn: input.dependsOn?.map((id, index) => parseJobId(String(id), `${field}dependsOn.${index}`)),
  };
}

builder.mutationFields((t) => ({
  createJob: t.prismaField({
    type: JobRef,
    description: 'Creates one job and queues it (in one transaction).',
    errors: { types: [ValidationError, UnknownJobTypeError, TenantQuotaExceededError], directResult: false, result: createJobResultOptions },
    args: {
      input: t.arg({ type: CreateJobInput, required: true }),
      viewerToken: t.arg({ type: CreateJobViewerTokenInput, required: false, description: 'Also answer a viewer token of the job (payload `viewerToken`), for an end user\'s page.' }),
    },
    // In its span, a child of the request's traceparent; the job stores the span's (src/tracing/).
    resolve: (query, _root, args, ctx) =>
      inCreateSpan('createJob', requestTrace(ctx), async (trace, span) => {
        const viewerTokenTtl = askedViewerTokenTtl(args.viewerToken);
        const [answer] = await createJobsReporting(ctx, ctx.caller, [toCreateInput(args.input, '')], undefined, trace);
        describeCreated(span, args.input.jobType, [answer!.id]);
        // The row as inserted, when the create returned it and nothing more is asked for (inserted-row.ts).
        const job =
          answer!.row && selectsColumnsOnly(query)
            ? jobFromInsertedRow(ctx.prisma, answer!.row)
            : await ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id: answer!.id } });
        const created = markCreated(job, answer!);
        return viewerTokenTtl === null ? created : withViewerToken(ctx, created, answer!.id, viewerTokenTtl);
      }),
  }),
  createJobs: t.prismaField({
    type: [JobRef],
    description: 'Creates many jobs all-or-nothing, in input order.',
    errors: { types: [ValidationError, UnknownJobTypeError, TenantQuotaExceededError], directResult: false, result: createdListResultOptions },
    args: { jobs: t.arg({ type: [CreateJobInput], required: true }) },
    resolve: (query, _root, args, ctx) =>
      inCreateSpan('createJobs', requestTrace(ctx), async (trace, span) => {
        const answers = await createJobsReporting(
          ctx,
          ctx.caller,
          args.jobs.map((input, index) => toCreateInput(input, `jobs.${index}.`)),
          'jobs',
          trace,
        );
        describeCreated(span, null, answers.map((a) => a.id));
        const rows = await ctx.prisma.job.findMany({ ...withId(query), where: { id: { in: answers.map((a) => a.id) } } });
        const byId = new Map(rows.map((row) => [row.id, row]));
        return markCreated(answers.map((a) => byId.get(a.id)!), answers);
      }),
  }),
  cancelJob: t.prismaField({
    type: JobRef,
    description:
      'Cancels a queued job at once, or asks the worker running it to stop (it ends CANCELLED), also when the job does not show RUNNING yet. Idempotent.',
    errors: { types: [ValidationError, JobNotFoundError, InvalidTransitionError], directResult: false },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = parseJobId(String(args.id));
      await cancelJob(ctx.pool, ctx.caller, id);
      return ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id } });
    },
  }),
  retryJob: t.prismaField({
    type: JobRef,
    description:
      'Queues a FAILED, DEAD_LETTER or CANCELLED job again; it resumes at its first unfinished step. A job that has not ended answers JobStillActiveError and is left as it is.',
    errors: { types: [ValidationError, JobNotFoundError, InvalidTransitionError, JobStillActiveError, JobConflictError, TenantQuotaExceededError], directResult: false },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = parseJobId(String(args.id));
      await withQuotaErrors(() => retryJob(ctx.pool, ctx.caller, id));
      return ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id } });
    },
  }),
}));
