// Queries of the core job model: job, jobs, queue stats, job types, throughput.
import { NEWEST_FIRST } from '../../jobs/order.ts';
import { visibleTenant } from '../../auth/principal.ts';
import { builder } from '../builder.ts';
import { JobKind } from '../../generated/prisma/enums.ts';
import { ValidationError } from '../../core/errors.ts';
import { readQueueStats } from '../../jobs/queue-stats.ts';
import { readThroughput } from '../../jobs/throughput.ts';
import { JobFilter, jobSearch, jobWhere } from './filters.ts';
import { countJobs, needsSqlSearch, searchJobIds, type PageArgs } from '../../jobs/search.ts';
import { JobRef, parseJobId, QueueStatsRef, withId, type JobRow } from './types.ts';
import { viewerListable, viewerReadable, viewerSearch } from '../viewer.ts';
import { withPagedRelations } from './page-relations.ts';
import { listJobsInSql } from './sql-listing.ts';

builder.queryFields((t) => ({
  job: t.prismaField({
    ...viewerReadable((args) => [args.id]),
    type: JobRef,
    nullable: true,
    description: "A job by its global ID or its UUID; null when there is none.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.job.findUnique({ ...withId(query), where: { id: parseJobId(String(args.id)) } }),
  }),
  jobs: t.prismaConnection({
    ...viewerListable,
    type: JobRef,
    cursor: 'id',
    description: 'Jobs, newest first.',
    args: { filter: t.arg({ type: JobFilter, required: false }) },
    totalCount: (_parent, args, ctx) => {
      const search = viewerSearch(ctx.caller, jobSearch(args.filter, ctx.registry));
      return needsSqlSearch(search) ? countJobs(ctx.pool, visibleTenant(ctx.caller), search) : ctx.prisma.job.count({ where: jobWhere(search) });
    },
    // The common page (jobs with their first steps and events) in one SQL
    // statement (sql-listing.ts); other shapes and viewer tokens through Prisma,
    // each job's steps and events pages cut by the database (page-relations.ts).
    resolve: async (query, _root, args, ctx, info) => {
      const search = viewerSearch(ctx.caller, jobSearch(args.filter, ctx.registry));
      if (!ctx.caller.viewer) {
        const rows = await listJobsInSql(ctx.prisma, ctx.pool, visibleTenant(ctx.caller), search, query as Record<string, unknown>, info);
        if (rows) return rows as unknown as JobRow[];
      }
      return withPagedRelations(ctx.prisma, ctx.pool, query, async (query) => {
        if (!needsSqlSearch(search)) return ctx.prisma.job.findMany({ ...query, where: jobWhere(search), orderBy: NEWEST_FIRST });
        // Containment and error text: the page's ids from SQL (src/jobs/search.ts), the rows (and what the query selects) from Prisma.
        const { take, skip, cursor, ...selection } = query as typeof query & PageArgs;
        const ids = await searchJobIds(ctx.pool, visibleTenant(ctx.caller), search, { take, skip, cursor });
        return ctx.prisma.job.findMany({ ...selection, where: { id: { in: ids } }, orderBy: NEWEST_FIRST });
      });
    },
  }),
  queueStats: t.field({
    type: QueueStatsRef,
    args: { queueName: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => (await readQueueStats(ctx.pool, visibleTenant(ctx.caller), [args.queueName]))[0]!,
  }),
  queues: t.field({
    type: [QueueStatsRef],
    description: 'Stats of every queue that has jobs, by name.',
    resolve: (_root, _args, ctx) => readQueueStats(ctx.pool, visibleTenant(ctx.caller), null),
  }),
}));

const ThroughputMinuteRef = builder.objectRef<{ minute: Date; completedCount: number; failedCount: number }>('JobThroughputMinute').implement({
  description: 'Jobs that finished in one minute.',
  fields: (t) => ({
    minute: t.expose('minute', { type: 'DateTime', description: 'Start of the minute.' }),
    completedCount: t.exposeInt('completedCount'),
    failedCount: t.exposeInt('failedCount', { description: 'Jobs that ended FAILED or DEAD_LETTER.' }),
  }),
});

const THROUGHPUT_MINUTES_MAX = 1440;

builder.queryField('jobThroughput', (t) =>
  t.field({
    type: [ThroughputMinuteRef],
    description: `The caller's tenant's jobs (admin: every tenant's) completed and failed per minute over the last \`minutes\` (the current minute included), oldest first; at most ${THROUGHPUT_MINUTES_MAX}.`,
    args: { minutes: t.arg.int({ required: false, defaultValue: 60 }) },
    resolve: (_root, args, ctx) => {
      const minutes = args.minutes ?? 60;
      if (minutes < 1 || minutes > THROUGHPUT_MINUTES_MAX) {
        throw new ValidationError('minutes', `must be between 1 and ${THROUGHPUT_MINUTES_MAX}, got ${minutes}`);
      }
      return readThroughput(ctx.pool, visibleTenant(ctx.caller), minutes);
    },
  }),
);
