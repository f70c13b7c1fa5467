// The GraphQL surface of the core job model: the Job interface and PlainJob,
// steps, events, queue stats; job/jobs/queues queries; create, cancel and retry
// mutations; jobUpdated and jobEvents subscriptions.
import { NEWEST_FIRST } from './order.ts';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { Repeater } from 'graphql-yoga';
import { visibleTenant } from '../auth/principal.ts';
import { builder } from '../graphql/builder.ts';
import { ErrorInterface } from '../graphql/errors.ts';
import { pushStream } from '../graphql/push-stream.ts';
import { JobKind, JobStatus } from '../generated/prisma/enums.ts';
import type { Job as JobRow } from '../generated/prisma/client.ts';
import { bulkJobAction, countBulkTargets, type BulkJobAction, type BulkJobOutcome } from './bulk.ts';
import { cancelJob } from '../job-state/cancel.ts';
import { retryJob } from '../job-state/retry.ts';
import { createJobsReporting } from './create.ts';
import { UnknownJobTypeError } from '../registry/errors.ts';
import { createdListResultOptions, createdResultOptions, flowInputFields, markCreated } from '../flow/schema-inputs.ts';
import { InvalidTransitionError, JobConflictError, JobNotFoundError, JobStillActiveError, ValidationError } from './errors.ts';
import { decodeCursor, encodeCursor, type JobEventRecord } from './event-log.ts';
import { readQueueStats, type QueueStats } from './queue-stats.ts';
import { readThroughput } from './throughput.ts';
import { JobKindEnum, JobStatusEnum } from './schema-enums.ts';
import { isUuid } from './validation.ts';

/**
 * Pothos' selection for a query, never empty: a client that asks for
 * `__typename` only would otherwise make Prisma reject `select: {}`.
 */
export function withId<Q extends object>(query: Q): Q {
  return 'select' in query ? { ...query, select: { id: true, ...(query.select as object) } } : query;
}

/** GraphQL type name of each kind; a kind's folder adds its own (registerJobKindType). */
const typeNameByKind = new Map<JobKind, string>([[JobKind.PLAIN, 'PlainJob']]);

export function registerJobKindType(kind: JobKind, typeName: string) {
  typeNameByKind.set(kind, typeName);
}

/** Accepts a Job's global ID or its bare UUID. */
export function parseJobId(value: string, field = 'id'): string {
  if (isUuid(value)) return value.toLowerCase();
  try {
    const { typename, id } = decodeGlobalID(value);
    if ([...typeNameByKind.values()].includes(typename) && isUuid(id)) return id.toLowerCase();
  } catch {
    // not a global ID: reported below
  }
  throw new ValidationError(field, `"${value}" is not a job id (a Job's global ID or its UUID)`);
}

export const JobRef = builder.prismaInterface('Job', {
  name: 'Job',
  description: 'A background job of any kind. Every status change is recorded in `events`.',
  interfaces: [builder.nodeInterfaceRef()],
  resolveType: (job) => typeNameByKind.get(job.kind) ?? 'PlainJob',
  fields: (t) => ({
    kind: t.expose('kind', { type: JobKindEnum }),
    queueName: t.exposeString('queueName'),
    jobType: t.exposeString('jobType'),
    payload: t.field({
      type: 'JSONObject',
      description: "The job's payload; secrets its job type declares (a webhook's URL path and header values) read as [redacted].",
      select: { jobType: true, payload: true },
      resolve: (job, _args, ctx) => ctx.registry.readablePayload(job.jobType, job.payload as Record<string, unknown>),
    }),
    priority: t.exposeInt('priority', { description: 'Higher runs first.' }),
    maxRetries: t.exposeInt('maxRetries'),
    retryCount: t.exposeInt('retryCount', { description: 'Retries so far; attempts = retryCount + 1.' }),
    scheduledAt: t.expose('scheduledAt', { type: 'DateTime', nullable: true }),
    status: t.expose('status', { type: JobStatusEnum }),
    errorMessage: t.exposeString('errorMessage', { nullable: true, description: 'Why the last attempt failed (the failure reason).' }),
    error: t.field({
      type: 'JSONObject',
      nullable: true,
      description:
        "The last failed attempt's error: { name, message, data? } — its class, its message and the `data` the handler attached to the thrown error (e.g. NonRetriableError's). Null once the job completes or is retried.",
      resolve: (job) => job.error as Record<string, unknown> | null,
    }),
    result: t.field({
      type: 'JSONObject',
      nullable: true,
      description: "The handler's JobResult.resultData, of a failed attempt too.",
      resolve: (job) => job.result as Record<string, unknown> | null,
    }),
    progress: t.exposeFloat('progress', { description: '0–100.' }),
    progressMessage: t.exposeString('progressMessage', { nullable: true }),
    createdBy: t.exposeString('createdBy', { nullable: true }),
    metadata: t.field({ type: 'JSONObject', resolve: (job) => job.metadata as Record<string, unknown> }),
    workerId: t.exposeString('workerId', { nullable: true, description: 'The worker running it, while RUNNING.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    failedAt: t.expose('failedAt', { type: 'DateTime', nullable: true }),
    cancelRequestedAt: t.expose('cancelRequestedAt', { type: 'DateTime', nullable: true }),
    cancelledAt: t.expose('cancelledAt', { type: 'DateTime', nullable: true }),
    parentJob: t.relation('parentJob', { nullable: true }),
    steps: t.relatedConnection('steps', { cursor: 'id', totalCount: true, query: { orderBy: { position: 'asc' } } }),
    events: t.relatedConnection('events', {
      cursor: 'id',
      totalCount: true,
      description: 'Status changes of the job and its steps, oldest first.',
      query: { orderBy: [{ txId: 'asc' }, { id: 'asc' }] },
    }),
  }),
});

builder.prismaNode('Job', {
  // node/nodes answer null for a missing id (or another tenant's), not an error.
  nullable: true,
  variant: 'PlainJob',
  description: 'A job of a registered job type (createJob), e.g. webhook.send.',
  interfaces: [JobRef],
  id: { field: 'id' },
  fields: () => ({}),
});

builder.prismaObject('JobStep', {
  description: 'One ordered step of a job. A retried job resumes at its first step that did not complete.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    position: t.exposeInt('position'),
    status: t.expose('status', { type: JobStatusEnum }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    result: t.field({ type: 'JSONObject', nullable: true, resolve: (step) => step.result as Record<string, unknown> | null }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const JobEventRef = builder.prismaObject('JobEvent', {
  description: 'One status change of a job or of one of its steps (append-only history).',
  fields: (t) => ({
    id: t.string({ resolve: (event) => event.id.toString() }),
    cursor: t.string({
      description: 'Pass as `after` to jobEvents to resume right after this event.',
      resolve: (event) => encodeCursor({ txId: event.txId.toString(), id: event.id.toString() }),
    }),
    status: t.expose('status', { type: JobStatusEnum }),
    previousStatus: t.expose('previousStatus', { type: JobStatusEnum, nullable: true }),
    message: t.exposeString('message', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    job: t.relation('job', {
      // Events from a query come with their job (plugin-prisma's selection);
      // live ones carry the row LiveEvents read for their batch (live.ts).
      resolve: (query, event, _args, ctx) =>
        (event as { job?: JobRow }).job ?? ctx.prisma.job.findUniqueOrThrow({ ...query, where: { id: event.jobId } }),
    }),
    step: t.relation('step', { nullable: true }),
  }),
});

export const QueueStatsRef = builder.objectRef<QueueStats>('QueueStats').implement({
  description: "Seed 003's QueueStats: how many jobs of a queue are in each status.",
  fields: (t) => ({
    queueName: t.exposeString('queueName'),
    pendingCount: t.exposeInt('pendingCount', { description: 'PENDING jobs, and SCHEDULED ones whose time has come (due, waiting for a worker).' }),
    scheduledCount: t.exposeInt('scheduledCount', { description: 'SCHEDULED jobs whose time is still to come.' }),
    runningCount: t.exposeInt('runningCount'),
    retryingCount: t.exposeInt('retryingCount'),
    completedCount: t.exposeInt('completedCount'),
    failedCount: t.exposeInt('failedCount'),
    deadLetterCount: t.exposeInt('deadLetterCount'),
    cancelledCount: t.exposeInt('cancelledCount'),
  }),
});

// JobType and the jobTypes query: src/registry/schema.ts.

// ---------------------------------------------------------------------------
// Queries

const JobFilter = builder.inputType('JobFilter', {
  fields: (t) => ({
    statuses: t.field({ type: [JobStatusEnum], required: false }),
    kinds: t.field({ type: [JobKindEnum], required: false }),
    queueNames: t.stringList({ required: false }),
    jobTypes: t.stringList({ required: false }),
    createdAfter: t.field({ type: 'DateTime', required: false }),
    createdBefore: t.field({ type: 'DateTime', required: false }),
    createdBy: t.stringList({ required: false, description: 'Only jobs created by one of these principals (Job.createdBy): an audit of who queued what.' }),
  }),
});

builder.queryFields((t) => ({
  job: t.prismaField({
    type: JobRef,
    nullable: true,
    description: "A job by its global ID or its UUID; null when there is none.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.job.findUnique({ ...withId(query), where: { id: parseJobId(String(args.id)) } }),
  }),
  jobs: t.prismaConnection({
    type: JobRef,
    cursor: 'id',
    description: 'Jobs, newest first.',
    args: { filter: t.arg({ type: JobFilter, required: false }) },
    totalCount: (_parent, args, ctx) => ctx.prisma.job.count({ where: jobWhere(args.filter) }),
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.job.findMany({ ...query, where: jobWhere(args.filter), orderBy: NEWEST_FIRST }),
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
      return { ...(await countBulkTargets(ctx.pool, ctx.caller, args.action as BulkJobAction, args.filter, max)), max };
    },
  }),
);

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

function jobWhere(filter: typeof JobFilter.$inferInput | null | undefined) {
  if (!filter) return {};
  return {
    ...(filter.statuses?.length ? { status: { in: filter.statuses } } : {}),
    ...(filter.kinds?.length ? { kind: { in: filter.kinds } } : {}),
    ...(filter.queueNames?.length ? { queueName: { in: filter.queueNames } } : {}),
    ...(filter.jobTypes?.length ? { jobType: { in: filter.jobTypes } } : {}),
    ...(filter.createdBy?.length ? { createdBy: { in: filter.createdBy } } : {}),
    ...(filter.createdAfter || filter.createdBefore
      ? { createdAt: { ...(filter.createdAfter ? { gte: filter.createdAfter } : {}), ...(filter.createdBefore ? { lt: filter.createdBefore } : {}) } }
      : {}),
  };
}

// ---------------------------------------------------------------------------
// Mutations

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
    errors: { types: [ValidationError, UnknownJobTypeError], directResult: false, result: createdResultOptions },
    args: { input: t.arg({ type: CreateJobInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const [answer] = await createJobsReporting(ctx, ctx.caller, [toCreateInput(args.input, '')]);
      return markCreated(await ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id: answer!.id } }), answer!);
    },
  }),
  createJobs: t.prismaField({
    type: [JobRef],
    description: 'Creates many jobs all-or-nothing, in input order.',
    errors: { types: [ValidationError, UnknownJobTypeError], directResult: false, result: createdListResultOptions },
    args: { jobs: t.arg({ type: [CreateJobInput], required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const answers = await createJobsReporting(
        ctx,
        ctx.caller,
        args.jobs.map((input, index) => toCreateInput(input, `jobs.${index}.`)),
        'jobs',
      );
      const rows = await ctx.prisma.job.findMany({ ...withId(query), where: { id: { in: answers.map((a) => a.id) } } });
      const byId = new Map(rows.map((row) => [row.id, row]));
      return markCreated(answers.map((a) => byId.get(a.id)!), answers);
    },
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
    errors: { types: [ValidationError, JobNotFoundError, InvalidTransitionError, JobStillActiveError, JobConflictError], directResult: false },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = parseJobId(String(args.id));
      await retryJob(ctx.pool, ctx.caller, id);
      return ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id } });
    },
  }),
}));

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
        bulkJobAction(ctx.pool, ctx.caller, action, args.filter, { limit: args.limit, max: ctx.config.BULK_JOBS_MAX }),
    }),
  );
}

bulkMutation('cancel', "Cancels every PENDING, SCHEDULED, RUNNING or RETRYING job of the caller's tenant (admin: any) the filter matches (up to the limit), each as cancelJob does.");
bulkMutation('retry', "Retries every FAILED, DEAD_LETTER or CANCELLED job of the caller's tenant (admin: any) the filter matches (up to the limit), each as retryJob does.");

// ---------------------------------------------------------------------------
// Subscriptions

const JobEventFilter = builder.inputType('JobEventFilter', {
  fields: (t) => ({
    jobIds: t.idList({ required: false }),
    kinds: t.field({ type: [JobKindEnum], required: false }),
    queueNames: t.stringList({ required: false }),
    jobTypes: t.stringList({ required: false }),
    statuses: t.field({ type: [JobStatusEnum], required: false }),
  }),
});

/**
 * Pull-based: wake-ups while a load is under way fold into one reload. The
 * first tick always goes out; later ones only when `wanted` says so.
 */
function coalescingTicks(watch: (notify: () => void) => () => void, wanted: () => Promise<boolean> = async () => true) {
  return new Repeater<true>(async (push, stop) => {
    let dirty = true; // the current state first
    let first = true;
    let wake: (() => void) | null = null;
    const unwatch = watch(() => {
      dirty = true;
      wake?.();
    });
    stop.then(() => wake?.());
    let stopped = false;
    void stop.then(() => (stopped = true));
    while (!stopped) {
      if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      if (stopped) break;
      dirty = false;
      if (first || (await wanted())) await push(true);
      first = false;
    }
    unwatch();
  });
}

/** Queue stats are re-read at most this often per subscriber, however busy the queues are. */
const QUEUES_UPDATED_INTERVAL_MS = 500;

/** Calls fn at most once per interval, and once more after the last call (none lost). */
function atMostEvery(intervalMs: number, fn: () => void) {
  let last = 0;
  let timer: NodeJS.Timeout | null = null;
  return {
    call() {
      const wait = last + intervalMs - Date.now();
      if (wait <= 0) {
        last = Date.now();
        fn();
      } else {
        timer ??= setTimeout(() => {
          timer = null;
          last = Date.now();
          fn();
        }, wait);
      }
    },
    cancel: () => timer && clearTimeout(timer),
  };
}

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
    type: JobEventRef,
    description:
      'Job events matching the filter, live. With `after` (an event cursor), the events after it are replayed first: none missed, none twice.',
    args: {
      filter: t.arg({ type: JobEventFilter, required: false }),
      after: t.arg.string({ required: false }),
    },
    subscribe: (_root, args, ctx) => {
      const after = args.after ? decodeCursor(args.after) : null;
      const filter = {
        ...args.filter,
        tenantId: visibleTenant(ctx.caller),
        jobIds: args.filter?.jobIds?.map((id, index) => parseJobId(String(id), `filter.jobIds.${index}`)),
      };
      // Every event reaches every matching subscriber: a light iterator, not a
      // Repeater. What waits for the client is bounded: past
      // WS_SUBSCRIPTION_QUEUE_MAX the rest is read from the log at its pace.
      return pushStream<JobEventRecord>((push, fail, drained) =>
        ctx.live.subscribeEvents(filter, after, push, (error) => fail(error instanceof Error ? error : new Error(String(error))), {
          drained,
          maxBacklog: ctx.config.WS_SUBSCRIPTION_QUEUE_MAX,
        }),
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

export type { JobRow };
void ErrorInterface;
void JobStatus;
