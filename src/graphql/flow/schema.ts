// The GraphQL surface of flow control: why a job waits and what it waits for,
// pausing and resuming queues (QueueStats.paused, live via queueUpdated), queue rate limits.
// Queues are shared by every tenant: pausing them and their rate limits are
// operator actions (the admin scope); reading them is QueueStats' (jobs:read).
import { Repeater } from 'graphql-yoga';
import { visibleTenant } from '../../auth/principal.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { ValidationError } from '../../core/errors.ts';
import { readQueueStats } from '../../jobs/queue-stats.ts';
import { QueueStatsRef } from '../jobs/schema.ts';
import { pauseQueue, QUEUE_CHANNEL, readPausedQueues, resumeQueue } from '../../flow/pause.ts';
import { JobWaitingReasonEnum } from './schema-inputs.ts';
import { clearQueueRateLimit, readQueueRateLimits, setQueueRateLimit, type QueueRateLimit } from '../../flow/rate-limit.ts';

builder.prismaInterfaceFields('Job', (t) => ({
  waitingReason: t.field({
    type: JobWaitingReasonEnum,
    nullable: true,
    description: 'Why it does not run yet while queued (a dependency, a paused queue, a concurrency or rate limit); null otherwise.',
    select: { waitingReason: true },
    resolve: (job) => job.waitingReason,
  }),
  timeoutMs: t.exposeInt('timeoutMs', { nullable: true, description: 'Each attempt fails with a TimeoutError after this long.' }),
  concurrencyKey: t.exposeString('concurrencyKey', { nullable: true }),
  concurrencyLimit: t.exposeInt('concurrencyLimit', { nullable: true }),
  debounceKey: t.exposeString('debounceKey', { nullable: true, description: "The key of the job's debounce (its tenant's)." }),
  rateLimitKey: t.exposeString('rateLimitKey', { nullable: true, description: "The key of the job's rateLimit (its tenant's)." }),
  rateLimitMaxStarts: t.exposeInt('rateLimitMaxStarts', { nullable: true }),
  rateLimitIntervalMs: t.exposeInt('rateLimitIntervalMs', { nullable: true }),
  dependsOn: t.field({
    type: ['ID'],
    description: 'The UUIDs of the jobs it depends on.',
    select: { dependencies: { select: { dependsOnJobId: true } } },
    resolve: (job) => job.dependencies.map((d) => d.dependsOnJobId),
  }),
}));

// ---------------------------------------------------------------------------
// Paused queues

/** All paused queues, read once per request (QueueStats.paused of a list of queues costs one query). */
const pausedPerRequest = new WeakMap<object, Promise<Set<string>>>();
const limitsPerRequest = new WeakMap<object, Promise<Map<string, QueueRateLimit>>>();
const pausedQueues = (ctx: GraphQLContext) => {
  let paused = pausedPerRequest.get(ctx);
  if (!paused) pausedPerRequest.set(ctx, (paused = readPausedQueues(ctx.pool, null)));
  return paused;
};

builder.objectField(QueueStatsRef, 'paused', (t) =>
  t.boolean({
    description: 'A paused queue starts no job (running ones finish) until resumed; its jobs wait with waitingReason QUEUE_PAUSED.',
    resolve: async (stats, _args, ctx) => (await pausedQueues(ctx)).has(stats.queueName),
  }),
);

async function statsOf(ctx: GraphQLContext, queueName: string) {
  return (await readQueueStats(ctx.pool, visibleTenant(ctx.caller), [queueName]))[0]!;
}

builder.mutationFields((t) => ({
  pauseQueue: t.field({
    type: QueueStatsRef,
    // An operator action: queues are shared by every tenant.
    authScopes: { admin: true },
    description: 'Pauses a queue (also one without jobs yet) for every tenant: no job of it starts until resumeQueue; running ones finish. Kept across restarts. Idempotent. Needs the admin scope.',
    errors: { types: [ValidationError], directResult: false },
    args: { queueName: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await pauseQueue(ctx.pool, ctx.caller, args.queueName);
      return statsOf(ctx, args.queueName);
    },
  }),
  resumeQueue: t.field({
    type: QueueStatsRef,
    // An operator action: queues are shared by every tenant.
    authScopes: { admin: true },
    description: 'Resumes a paused queue: the jobs that waited for it start. Idempotent. Needs the admin scope.',
    errors: { types: [ValidationError], directResult: false },
    args: { queueName: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await resumeQueue(ctx.pool, ctx.caller, args.queueName);
      return statsOf(ctx, args.queueName);
    },
  }),
}));

builder.subscriptionFields((t) => ({
  queueUpdated: t.field({
    type: QueueStatsRef,
    description: "The queue's stats at once, then again each time it is paused or resumed.",
    args: { queueName: t.arg.string({ required: true }) },
    subscribe: (_root, args, ctx) =>
      new Repeater<true>(async (push, stop) => {
        const onNotification = (channel: string, payload: string) => {
          if (channel === QUEUE_CHANNEL && payload === args.queueName) void push(true);
        };
        ctx.listener.on('notification', onNotification);
        await ctx.listener.listen(QUEUE_CHANNEL);
        await push(true);
        await stop;
        ctx.listener.off('notification', onNotification);
      }),
    resolve: (_tick, args, ctx) => {
      // One subscription keeps its context: each push reads afresh.
      pausedPerRequest.delete(ctx);
      limitsPerRequest.delete(ctx);
      return statsOf(ctx, args.queueName);
    },
  }),
}));

// ---------------------------------------------------------------------------
// Queue rate limits

const QueueRateLimitRef = builder.objectRef<QueueRateLimit>('QueueRateLimit').implement({
  description: 'At most maxStarts job starts per intervalMs (a sliding window), across all workers.',
  fields: (t) => ({
    maxStarts: t.exposeInt('maxStarts'),
    intervalMs: t.exposeInt('intervalMs'),
  }),
});

builder.objectField(QueueStatsRef, 'rateLimit', (t) =>
  t.field({
    type: QueueRateLimitRef,
    nullable: true,
    description: "The queue's rate limit; its jobs beyond it wait with waitingReason RATE_LIMIT.",
    resolve: async (stats, _args, ctx) => {
      let limits = limitsPerRequest.get(ctx);
      if (!limits) limitsPerRequest.set(ctx, (limits = readQueueRateLimits(ctx.pool)));
      return (await limits).get(stats.queueName) ?? null;
    },
  }),
);

builder.mutationFields((t) => ({
  setQueueRateLimit: t.field({
    type: QueueStatsRef,
    // An operator action: queues are shared by every tenant.
    authScopes: { admin: true },
    description: 'Limits a queue to maxStarts job starts per intervalMs across all workers and tenants (replacing its limit). Needs the admin scope.',
    errors: { types: [ValidationError], directResult: false },
    args: {
      queueName: t.arg.string({ required: true }),
      maxStarts: t.arg.int({ required: true, description: '1..100000' }),
      intervalMs: t.arg.int({ required: true, description: '1..86400000' }),
    },
    resolve: async (_root, args, ctx) => {
      await setQueueRateLimit(ctx.pool, args);
      return statsOf(ctx, args.queueName);
    },
  }),
  clearQueueRateLimit: t.field({
    type: QueueStatsRef,
    // An operator action: queues are shared by every tenant.
    authScopes: { admin: true },
    description: "Removes a queue's rate limit. Idempotent. Needs the admin scope.",
    errors: { types: [ValidationError], directResult: false },
    args: { queueName: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      await clearQueueRateLimit(ctx.pool, args.queueName);
      return statsOf(ctx, args.queueName);
    },
  }),
}));
