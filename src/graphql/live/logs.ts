// Job logs (issue 28, jobs/job-logs.ts): the JobLogLine type, Job.logs (a
// paged relation: tenant and viewer-token rules are the job's) and the jobLogs
// subscription. Imported by live/schema.ts.
import { JobNotFoundError, ValidationError } from '../../core/errors.ts';
import { JOB_LOG_LEVELS, logWatchers, readLogLines, type JobLogLine } from '../../jobs/job-logs.ts';
import { builder } from '../builder.ts';
import { JobRef, parseJobId } from '../jobs/types.ts';
import { viewerReadable } from '../viewer.ts';
import { tailBySequence } from './tail.ts';

const JobLogLevelRef = builder.enumType('JobLogLevel', {
  description: 'The level of a job log line: ctx.log.info, ctx.log.warn or ctx.log.error.',
  values: JOB_LOG_LEVELS,
});

const JobLogLineRef = builder.prismaObject('JobLogLine', {
  description: "One line of a job's log (ctx.log.info/warn/error in its handler). Bounded per job: see docs/end-user-live-jobs.md#job-logs.",
  fields: (t) => ({
    sequence: t.exposeInt('sequence', { description: 'From 1, per job, without gaps: pass the last one you have as `after` to jobLogs to resume.' }),
    attempt: t.exposeInt('attempt', { description: 'The attempt that logged it: 1 for the first run, retryCount + 1 after.' }),
    level: t.field({ type: JobLogLevelRef, resolve: (line) => line.level as JobLogLine['level'] }),
    message: t.exposeString('message'),
    fields: t.field({ type: 'JSONObject', description: 'The fields logged with it; {} when none.', resolve: (line) => line.fields as Record<string, unknown> }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the handler logged it.' }),
  }),
});

builder.prismaInterfaceField(JobRef, 'logs', (t) =>
  t.relatedConnection('logLines', {
    description: "The job's log lines, oldest first (ctx.log in its handler); kept as long as the job.",
    cursor: 'jobId_sequence',
    totalCount: true,
    query: { orderBy: { sequence: 'asc' } },
  }),
);


builder.subscriptionField('jobLogs', (t) =>
  t.field({
    ...viewerReadable((args) => [args.jobId]),
    type: JobLogLineRef,
    description:
      "A job's log lines in order: those stored after `after` (a sequence; default 0, from the start), then live ones as they are written. None missed, none twice, across reconnects when `after` is the last sequence received.",
    args: {
      jobId: t.arg.id({ required: true }),
      after: t.arg.int({ required: false }),
    },
    subscribe: (_root, args, ctx) => {
      const jobId = parseJobId(String(args.jobId), 'jobId');
      const after = args.after ?? 0;
      if (after < 0) throw new ValidationError('after', `must be 0 or a sequence received, got ${after}`);
      return tailBySequence<JobLogLine>({
        after,
        // Another tenant's job, or (for a viewer) one outside its token, is a missing one.
        check: async () => {
          if ((await ctx.prisma.job.count({ where: { id: jobId } })) === 0) throw new JobNotFoundError(jobId);
        },
        watch: (notify) => logWatchers(ctx.listener).watch(jobId, notify),
        read: (last, limit) => readLogLines(ctx.pool, jobId, last, limit),
      });
    },
    resolve: (line: JobLogLine) => line as never,
  }),
);
