// The object types of the core job model: the Job interface and PlainJob,
// steps, events, queue stats and job types; and job ids (global or bare UUID).
import { decodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.ts';
import { JobKind } from '../../generated/prisma/enums.ts';
import type { Job as JobRow } from '../../generated/prisma/client.ts';
import { ValidationError } from '../../core/errors.ts';
import { encodeCursor } from '../../jobs/event-log.ts';
import type { QueueStats } from '../../jobs/queue-stats.ts';
import { JobKindEnum, JobStatusEnum } from './schema-enums.ts';
import { isUuid } from '../../core/validation.ts';

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
    tags: t.exposeStringList('tags', { description: 'Labels the job is about, set at create, by its schedule or by its handler (ctx.addTags); search with jobs(filter: { tags }).' }),
    workerId: t.exposeString('workerId', { nullable: true, description: 'The worker running it, while RUNNING.' }),
    traceparent: t.exposeString('traceparent', {
      nullable: true,
      description: "W3C traceparent of the span that created the job (the createJob request's); each attempt's span is its child. Null when the request carried none and tracing is off (docs/tracing.md).",
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    failedAt: t.expose('failedAt', { type: 'DateTime', nullable: true }),
    cancelRequestedAt: t.expose('cancelRequestedAt', { type: 'DateTime', nullable: true }),
    cancelledAt: t.expose('cancelledAt', { type: 'DateTime', nullable: true }),
    steps: t.relatedConnection('steps', { cursor: 'id', totalCount: true, query: { orderBy: { position: 'asc' } } }),
    events: t.relatedConnection('events', {
      cursor: 'id',
      totalCount: true,
      description: 'Status changes of the job and its steps, oldest first.',
      query: { orderBy: [{ txId: 'asc' }, { id: 'asc' }] },
    }),
  }),
});

// Loaded through the caller's client, not as a relation: a viewer token's
// bearer must find a parent outside its token missing (auth/viewer-scope.ts).
// Prisma batches these findUnique calls into one query per page.
builder.prismaInterfaceField(JobRef, 'parentJob', (t) =>
  t.field({
    type: JobRef,
    nullable: true,
    select: { parentJobId: true },
    resolve: (job, _args, ctx) => (job.parentJobId ? ctx.prisma.job.findUnique({ where: { id: job.parentJobId } }) : null),
  }),
);

// Through the caller's client too: another tenant's (or, for a viewer token,
// another job's) children are never listed or counted.
builder.prismaInterfaceField(JobRef, 'childJobs', (t) =>
  t.prismaConnection({
    type: JobRef,
    cursor: 'id',
    description: 'The jobs it spawned (ctx.spawn, or createJob with its parentJobId), oldest first.',
    totalCount: (job, _args, ctx) => ctx.prisma.job.count({ where: { parentJobId: job.id } }),
    resolve: (query, job, _args, ctx) =>
      ctx.prisma.job.findMany({ ...query, where: { parentJobId: job.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
  }),
);

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

// JobType and the jobTypes query: src/graphql/registry/schema.ts.

export type { JobRow };
