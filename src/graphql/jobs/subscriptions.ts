// Subscriptions: queuesUpdated and jobUpdated (pull-based, stream.ts) and
// jobEvents (every event pushed, replayed from a cursor).
import { visibleTenant } from '../../auth/principal.ts';
import { builder } from '../builder.ts';
import { pushStream } from '../push-stream.ts';
import { JobNotFoundError } from '../../core/errors.ts';
import { decodeCursor, type JobEventRecord } from '../../jobs/event-log.ts';
import { readQueueStats } from '../../jobs/queue-stats.ts';
import { JobEventFilter } from './filters.ts';
import { atMostEvery, coalescingTicks, QUEUES_UPDATED_INTERVAL_MS } from './stream.ts';
import { JobEventRef, JobRef, parseJobId, QueueStatsRef, withId, type JobRow } from './types.ts';
import { viewerEventFilter, viewerReadable } from '../viewer.ts';
import { selects } from '../selects.ts';

builder.subscriptionFields((t) => ({
  queuesUpdated: t.field({
    type: [QueueStatsRef],
    description: `Stats of every queue of the caller's tenant's jobs (admin: every tenant's) at once, then again after they change status (at most every ${QUEUES_UPDATED_INTERVAL_MS} ms).`,
    subscribe: (_root, _args, ctx) =>
      coalescingTicks((notify) => {
        const throttled = atMostEvery(QUEUES_UPDATED_INTERVAL_MS, notify);
        // Woken by the caller's tenant's events only (admin: every tenant's).
        const unsubscribe = ctx.live.subscribeEvents({ tenantId: visibleTenant(ctx.caller) }, null, () => throttled.call(), () => undefined);
        return () => {
          unsubscribe();
          throttled.cancel();
        };
      }),
    resolve: (_tick, _args, ctx) => readQueueStats(ctx.pool, visibleTenant(ctx.caller), null),
  }),
  jobUpdated: t.prismaField({
    ...viewerReadable((args) => [args.id]),
    type: JobRef,
    description: "The job's current state at once, then again after every change (status, progress, steps, kind counters).",
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => {
      const id = parseJobId(String(args.id));
      // Another tenant's job answers as a missing one: its first answer (not
      // found) and nothing after, however often it changes. A job is re-checked
      // on each change until the caller has seen it (its tenant never changes).
      let visible = false;
      const seen = async () => (visible ||= (await ctx.prisma.job.count({ where: { id } })) > 0);
      return coalescingTicks((notify) => ctx.live.watchJob(id, notify), seen);
    },
    resolve: async (query, _tick, args, ctx) => {
      const id = parseJobId(String(args.id));
      const job = await ctx.prisma.job.findUnique({ ...withId(query), where: { id } });
      if (!job) throw new JobNotFoundError(id);
      return job;
    },
  }),
  jobEvents: t.field({
    ...viewerReadable((args) => args.filter?.jobIds),
    type: JobEventRef,
    description:
      'Job events matching the filter, live. With `after` (an event cursor), the events after it are replayed first: none missed, none twice.',
    args: {
      filter: t.arg({ type: JobEventFilter, required: false }),
      after: t.arg.string({ required: false }),
    },
    subscribe: (_root, args, ctx, info) => {
      const after = args.after ? decodeCursor(args.after) : null;
      const filter = {
        ...args.filter,
        parentJobIds: args.filter?.parentJobIds?.map((id, index) => parseJobId(String(id), `filter.parentJobIds.${index}`)),
        tenantId: visibleTenant(ctx.caller),
        ...viewerEventFilter(ctx.caller, args.filter?.jobIds?.map((id, index) => parseJobId(String(id), `filter.jobIds.${index}`))),
      };
      // Every event reaches every matching subscriber: a light iterator, not a
      // Repeater. What waits for the client is bounded: past
      // WS_SUBSCRIPTION_QUEUE_MAX the rest is read from the log at its pace.
      // The events come with their job rows only if some subscriber selects `job`.
      return pushStream<JobEventRecord>((push, fail, drained) =>
        ctx.live.subscribeEvents(
          filter,
          after,
          push,
          (error) => fail(error instanceof Error ? error : new Error(String(error))),
          {
            drained,
            maxBacklog: ctx.config.WS_SUBSCRIPTION_QUEUE_MAX,
          },
          { withJobs: selects(info, 'job') },
        ),
      );
    },
    resolve: (event: JobEventRecord) => ({
      job: event.job as JobRow | undefined,
      id: BigInt(event.id),
      txId: BigInt(event.txId),
      jobId: event.jobId,
      stepId: event.stepId,
      status: event.status,
      previousStatus: event.previousStatus,
      message: event.message,
      createdAt: event.createdAt,
    }),
  }),
}));
