// The remote-worker protocol's requests (docs/remote-workers.md): one zod
// schema per endpoint, each bound named in its error.
import { z } from 'zod';
import { JOB_TYPE_FORMAT } from '../core/registry.ts';
import { QUEUE_NAME_FORMAT } from '../core/validation.ts';
import { schemaProblem } from '../registry/validate.ts';
import { JOB_TAGS_MAX } from '../core/tags.ts';
import { JOB_LOG_LEVELS } from '../jobs/job-logs.ts';
import { STREAM_NAME } from '../jobs/job-streams.ts';

export const PROTOCOL_PREFIX = '/workers/v1';

/** A lease lasts this long unless the worker says otherwise (seconds). */
export const DEFAULT_LEASE_SECONDS = 30;
export const MIN_LEASE_SECONDS = 1;
/** Also the database's bound (worker_lease_seconds_bounded). */
export const MAX_LEASE_SECONDS = 600;
/** Jobs per claim, extension or completion. */
export const MAX_BATCH = 100;
/** Job types per worker or claim. */
export const MAX_JOB_TYPES = 50;

const WORKER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const workerId = z.string().regex(WORKER_ID, 'must be 1-64 letters, digits or ._- and start with a letter or digit');
/** As every job type (job_type_format, HandlerRegistry), at most 59 characters (job_type_name_length: a queue entry's task is job:<type>:<queue>). */
const jobType = z
  .string()
  .max(59, 'must be at most 59 characters')
  .regex(JOB_TYPE_FORMAT, 'must be dotted lower-case words of a-z, 0-9 and _ (e.g. text.word_count)');
const jobId = z.uuid('must be a job id (UUID)');
const leaseSeconds = z
  .number()
  .int('must be a whole number of seconds')
  .min(MIN_LEASE_SECONDS, `must be at least ${MIN_LEASE_SECONDS}`)
  .max(MAX_LEASE_SECONDS, `must be at most ${MAX_LEASE_SECONDS}`);
const jsonObject = z.record(z.string(), z.unknown(), 'must be a JSON object');
/** A JSON Schema the registry can check payloads with (ajv, draft 2020-12): one that does not compile is refused, naming why. */
const jsonSchema = jsonObject.superRefine((schema, ctx) => {
  const problem = schemaProblem(schema);
  if (problem) ctx.addIssue({ code: 'custom', message: `is not a valid JSON Schema (draft 2020-12): ${problem}` });
});
const queueName = z.string().regex(QUEUE_NAME_FORMAT, 'must be 1-64 letters, digits or _.:- and start with a letter or digit');
const jobTypes = z.array(jobType).min(1, 'must name at least one job type').max(MAX_JOB_TYPES, `must name at most ${MAX_JOB_TYPES} job types`);
const batch = <T extends z.ZodType>(item: T) =>
  z.array(item).min(1, 'must not be empty').max(MAX_BATCH, `must hold at most ${MAX_BATCH} jobs`);

/** What a worker says of a job type it serves (recorded in the job-type registry, src/registry/). */
export const jobTypeRegistration = z.strictObject({
  name: jobType,
  description: z.string().max(1000, 'must be at most 1000 characters').default(''),
  /** JSON Schema of the payload; default: any JSON object. */
  payloadSchema: jsonSchema.default({ type: 'object' }),
  resultSchema: jsonSchema.nullable().default(null),
  steps: z.array(z.string().min(1).max(200)).max(100).default([]),
  defaults: z
    .strictObject({
      queueName: z.string().min(1).max(64).default('default'),
      maxRetries: z.number().int().min(0).max(100).default(3),
      priority: z.number().int().min(-1000).max(1000).default(0),
      timeoutMs: z.number().int().positive().nullable().default(null),
      concurrencyLimit: z.number().int().positive().nullable().default(null),
    })
    .prefault({}),
});
/** `nameOnly`: the worker named the type without describing it (its registration, if any, is kept). */
export type JobTypeRegistrationInput = z.infer<typeof jobTypeRegistration> & { nameOnly?: true | undefined };

export const registerRequest = z.strictObject({
  workerId,
  /**
   * Full registrations (description, payload JSON Schema, defaults), or
   * names: a name keeps the type's registration as it stands (any JSON object
   * as payload if it has none).
   */
  jobTypes: z
    .array(
      // A name is a registration that says nothing more (nameOnly), so an error names the field it is in.
      z.preprocess(
        (value) => (typeof value === 'string' ? { name: value, nameOnly: true } : value),
        jobTypeRegistration.extend({ nameOnly: z.literal(true).optional() }),
      ),
    )
    .min(1, 'must name at least one job type')
    .max(MAX_JOB_TYPES, `must name at most ${MAX_JOB_TYPES} job types`)
    .superRefine((types, ctx) => {
      const seen = new Set<string>();
      types.forEach((type, index) => {
        if (seen.has(type.name)) ctx.addIssue({ code: 'custom', path: [index], message: `names ${type.name} twice` });
        seen.add(type.name);
      });
    }),
  /** The queues it takes jobs from (every type); null: every queue. */
  queueNames: z.array(queueName).min(1, 'must name at least one queue (null: every queue)').max(100, 'must name at most 100 queues').nullable().default(null),
  leaseSeconds: leaseSeconds.default(DEFAULT_LEASE_SECONDS),
  hostname: z.string().min(1).max(255).default('remote'),
  pid: z.number().int().min(0).max(2 ** 31 - 1).default(0),
});

const completion = z.strictObject({ jobId, result: jsonObject.default({}) });

export const claimRequest = z.strictObject({
  workerId,
  /** Some of the types it registered; default: all of them. */
  jobTypes: jobTypes.optional(),
  limit: z.number().int().min(1, 'must be at least 1').max(MAX_BATCH, `must be at most ${MAX_BATCH}`).default(1),
  leaseSeconds: leaseSeconds.optional(),
  /** False: RUNNING is written when the worker first reports on a job; one completed first is written once (job-state/lease.ts). */
  markRunning: z.boolean({ message: 'must be true or false' }).default(true),
  /** Jobs finished since the last claim, completed in the same transaction (one round trip, one commit per batch). */
  complete: z.array(completion).max(MAX_BATCH, `must hold at most ${MAX_BATCH} jobs`).default([]),
});

const progress = z.strictObject({
  percent: z.number().min(0, 'must be between 0 and 100').max(100, 'must be between 0 and 100'),
  message: z.string().max(1000, 'must be at most 1000 characters').nullish(),
});

export const extendRequest = z.strictObject({
  workerId,
  leaseSeconds: leaseSeconds.optional(),
  /** May be empty: the worker only renews its lease. */
  jobs: z
    .array(z.strictObject({ jobId, progress: progress.nullish() }))
    .max(MAX_BATCH, `must hold at most ${MAX_BATCH} jobs`)
    .default([]),
});

export const completeRequest = z.strictObject({
  workerId,
  jobs: batch(completion),
});

export const failRequest = z.strictObject({
  workerId,
  jobId,
  error: z.strictObject({
    message: z.string().min(1, 'must not be empty').max(10_000, 'must be at most 10000 characters'),
    name: z.string().min(1).max(200).default('Error'),
    data: z.unknown().optional(),
  }),
  retryable: z.boolean({ message: 'must be true or false' }),
  result: jsonObject.optional(),
});

export const stepRequest = z.strictObject({
  workerId,
  jobId,
  name: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  status: z.enum(['RUNNING', 'COMPLETED', 'FAILED']).default('COMPLETED'),
  result: jsonObject.nullish(),
  errorMessage: z.string().max(10_000).nullish(),
});

export const unregisterRequest = z.strictObject({ workerId });

// --- The job context's calls (issue 27): what ctx gives an in-process handler,
// for a job the worker holds (remote-workers/context.ts). A call that names a
// job the worker does not hold answers LOST and changes nothing.

/** A wait's or spawn's step name (job_step.name). A stateless protocol cannot number `sleep#2` itself: the worker names each one. */
const contextStep = z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters');
/** An event's or signal's name (worker/waits.ts). */
const waitName = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
/** About ten years, as worker/waits.ts bounds a wait. */
const MAX_WAIT_MS = 10 * 365 * 24 * 3600 * 1000;
const waitMs = z.number().min(0, 'must be at least 0').max(MAX_WAIT_MS, `must be at most ${MAX_WAIT_MS} (about ten years)`);
const held = { workerId, jobId };

/** sleepFor, sleepUntil, waitForEvent, waitForSignal and waitForChildren, by `kind`: the names of ctx's methods. */
export const waitRequest = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({
      ...held,
      step: contextStep,
      kind: z.literal('sleepFor'),
      ms: waitMs,
    }),
    z.strictObject({
      ...held,
      step: contextStep,
      kind: z.literal('sleepUntil'),
      until: z.iso.datetime({
        offset: true,
        message: 'must be an ISO 8601 date-time',
      }),
    }),
    z.strictObject({
      ...held,
      step: contextStep,
      kind: z.literal('waitForEvent'),
      name: waitName,
      match: jsonObject.default({}),
      timeoutMs: waitMs.optional(),
    }),
    z.strictObject({
      ...held,
      step: contextStep,
      kind: z.literal('waitForSignal'),
      name: waitName,
      timeoutMs: waitMs.optional(),
    }),
    z.strictObject({
      ...held,
      step: contextStep,
      kind: z.literal('waitForChildren'),
      childJobIds: z.array(jobId).min(1, 'must name at least one child').max(1000, 'must name at most 1000 children'),
      mode: z.enum(['ALL', 'ANY']).default('ALL'),
      /** Given: the result is { outcome: FINISHED | TIMED_OUT, children } (ctx.waitForChildren's ChildrenWaitResult). */
      timeoutMs: waitMs.optional(),
    }),
  ],
  {
    message: 'must be one of sleepFor, sleepUntil, waitForEvent, waitForSignal, waitForChildren',
  },
);
export type WaitRequest = z.infer<typeof waitRequest>;

/** add_job's options (as ctx.spawn's; tenantId and parentJobId are the parent's): add_job checks their values and names a bad one. */
const spawnOptions = z.strictObject({
  queueName: z.string().optional(),
  priority: z.number().int().optional(),
  maxRetries: z.number().int().optional(),
  scheduledAt: z.string().optional(),
  metadata: jsonObject.optional(),
  idempotencyKey: z.string().optional(),
  idempotencyKeyFreeAfterMs: z.number().int().optional(),
  dependsOn: z.array(jobId).optional(),
  dependencyFailure: z.enum(['CANCEL', 'RUN']).optional(),
  timeoutMs: z.number().int().optional(),
  concurrencyKey: z.string().optional(),
  concurrencyLimit: z.number().int().optional(),
  /** Whether cancelling this job (the parent) cancels the child; default true. */
  cancelWithParent: z.boolean().optional(),
});

export const spawnRequest = z.strictObject({
  ...held,
  /** The spawn's step: a retried spawn of the same step answers the child it made, without making another. */
  step: contextStep,
  jobType,
  payload: jsonObject.default({}),
  options: spawnOptions.prefault({}),
});

/** Chunks per stream call (job-streams.ts inserts at most 500 in one statement). */
export const MAX_STREAM_CHUNKS = 500;
export const streamRequest = z.strictObject({
  ...held,
  chunks: z
    .array(
      z.strictObject({
        stream: z.string().regex(STREAM_NAME, 'must be 1-64 letters, digits, _ . : -'),
        chunk: z.json(),
      }),
    )
    .min(1, 'must not be empty')
    .max(MAX_STREAM_CHUNKS, `must hold at most ${MAX_STREAM_CHUNKS} chunks`),
});

/** Lines per log call. */
export const MAX_LOG_LINES = 1000;
export const logRequest = z.strictObject({
  ...held,
  lines: z
    .array(
      z.strictObject({
        level: z.enum(JOB_LOG_LEVELS).default('INFO'),
        message: z.string().max(100_000, 'must be at most 100000 characters'),
        fields: jsonObject.default({}),
      }),
    )
    .min(1, 'must not be empty')
    .max(MAX_LOG_LINES, `must hold at most ${MAX_LOG_LINES} lines`),
});

export const addTagsRequest = z.strictObject({
  ...held,
  tags: z.array(z.string(), 'must be a list of tags').min(1, 'must name at least one tag').max(JOB_TAGS_MAX, `must name at most ${JOB_TAGS_MAX} tags`),
});
