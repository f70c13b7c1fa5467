// The JobHandler port: what a job type provides to run. Each capability folder
// registers its handlers on the registry (src/core/registry.ts).
import type pg from 'pg';
import type { Queryable } from './queryable.ts';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { JobKind } from '../generated/prisma/enums.ts';

/** Seed 003's JobResult: what a handler returns (frozen: read, never changed). */
export interface JobResult {
  readonly success: boolean;
  /** Saved as job.result (JSON object), on success and on failure alike. */
  readonly resultData?: Readonly<Record<string, unknown>>;
  /**
   * With success=false: why. A NonRetriableError fails the job at once. Saved
   * as job.error: its name, message and `data` field, if it has one.
   */
  readonly error?: Error;
}

/** The job as a handler sees it. */
export interface RunningJob<Payload> {
  readonly id: string;
  readonly kind: JobKind;
  readonly jobType: string;
  readonly queueName: string;
  readonly payload: Payload;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly priority: number;
  readonly maxRetries: number;
  /** Retries so far: 0 on the first attempt. */
  readonly retryCount: number;
  readonly parentJobId: string | null;
  readonly createdBy: string | null;
  readonly createdAt: Date;
}

export interface ProgressUpdate {
  /** 0–100. */
  percent: number;
  message?: string;
}

export interface JobContext {
  /** The service's database pool: for kinds that read their kind row and store what they produce. */
  db: pg.Pool;
  /** Fires on cancel (reason 'cancelled') and on worker shutdown (reason 'shutdown'). */
  signal: AbortSignal;
  /** Carries the job id and type. */
  logger: Logger;
  /**
   * Reports progress. Writes are throttled (JOB_PROGRESS_THROTTLE_MS); the
   * last value is always written before the job ends.
   */
  progress(update: ProgressUpdate): void;
  /**
   * Runs one named step. A step that completed in an earlier attempt is not run
   * again: its saved result is returned. Steps run in order.
   */
  step<T extends Record<string, unknown> | void>(name: string, fn: () => Promise<T>): Promise<T>;

  // --- Output streams (issue 28, src/jobs/job-streams.ts) ---
  /**
   * The job's output stream `name` (1-64 of A-Z a-z 0-9 _ . : -): chunks
   * written to it are stored in order and pushed live to jobStream
   * subscribers. Bounded per job (docs/end-user-live-jobs.md#output-streams).
   */
  stream(name: string): JobStream;
  // Tags (issue 28, src/jobs/tags.ts).
  /**
   * Adds tags to the job (searchable with jobs(filter: { tags })); tags it
   * has already are ignored. Refuses (ValidationError) a malformed tag or
   * more than JOB_TAGS_MAX (20) in all, and then adds none.
   */
  addTags(...tags: string[]): Promise<void>;

  // --- Job logs (issue 28, src/jobs/job-logs.ts) ---
  /**
   * The job's log: lines kept with the job (Job.logs, the jobLogs
   * subscription, the dashboard's job page) and written to the process's log.
   * Never waits on the database; bounded per job
   * (docs/end-user-live-jobs.md#job-logs).
   */
  log: JobLog;
}

/** A job's log. `fields`: an object of JSON values, stored with the line. */
export interface JobLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One output stream of a job. */
export interface JobStream {
  /**
   * Appends a chunk (a string or any JSON value). Resolves once it is stored;
   * rejects with JobStreamLimitError past the bounds (nothing of it stored).
   * Writes are batched and keep their order, awaited or not; the job ends
   * only after every write is stored or refused.
   */
  write(chunk: unknown): Promise<void>;
}

// --- Durable waits (src/worker/waits.ts, docs/workflows.md) ---------------

/** How a wait for an event or a signal ended: what the handler gets. */
export type WaitResult<Data = Record<string, unknown>> = { outcome: 'RECEIVED'; data: Data } | { outcome: 'TIMED_OUT' };

export interface WaitForEventOptions {
  /** The event's data must contain this JSON (Postgres jsonb `@>`); default {} (any). */
  match?: Record<string, unknown>;
  /** The wait ends with { outcome: 'TIMED_OUT' } after this long; default never. */
  timeoutMs?: number;
  /** The wait's step name; default `event:<name>` (`event:<name>#2` for the second in one run). */
  step?: string;
}

export interface WaitForSignalOptions {
  timeoutMs?: number;
  /** The wait's step name; default `signal:<name>`. */
  step?: string;
}

/**
 * Waits that hold no worker slot: reached and not over, the attempt ends (a
 * JobWaits error goes through the handler: rethrow it if you catch errors),
 * the job waits with waitingReason TIMER, EVENT or SIGNAL, and runs again from
 * the start when the wait ends, its completed steps and waits returning their
 * saved results. Each wait is a step, named by `name`/`step` or by its order.
 */
export interface JobWaitsContext {
  sleepFor(ms: number): Promise<void>;
  sleepFor(name: string, ms: number): Promise<void>;
  sleepUntil(until: Date): Promise<void>;
  sleepUntil(name: string, until: Date): Promise<void>;
  /** Until sendEvent(name, data) with data containing `match`, in the job's tenant. */
  waitForEvent<Data = Record<string, unknown>>(name: string, options?: WaitForEventOptions): Promise<WaitResult<Data>>;
  /** Until signalJob(this job, name, data). */
  waitForSignal<Data = Record<string, unknown>>(name: string, options?: WaitForSignalOptions): Promise<WaitResult<Data>>;
}

// --- Child jobs (src/worker/children.ts, docs/workflows.md#child-jobs) ------

/** What ctx.spawn accepts besides the type and payload: add_job's options (not tenantId or parentJobId, which are the parent's). */
export interface SpawnOptions {
  queueName?: string;
  priority?: number;
  maxRetries?: number;
  /** An ISO date-time: the child waits as SCHEDULED until then. */
  scheduledAt?: string;
  metadata?: Record<string, unknown>;
  idempotencyKey?: string;
  idempotencyKeyFreeAfterMs?: number;
  dependsOn?: string[];
  dependencyFailure?: 'CANCEL' | 'RUN';
  timeoutMs?: number;
  concurrencyKey?: string;
  concurrencyLimit?: number;
  /** Whether cancelling this job (the parent) cancels the child; default true. */
  cancelWithParent?: boolean;
  /** The spawn's step name; default `spawn:<n>` for the nth spawn a run reaches. */
  step?: string;
}

/** A child job as waitForChildren returns it. */
export interface ChildOutcome {
  id: string;
  /** COMPLETED, FAILED, DEAD_LETTER or CANCELLED once finished; with mode ANY the others may still be PENDING, RUNNING, ... (null: the job was deleted). */
  status: string | null;
  result: Record<string, unknown> | null;
  error: Record<string, unknown> | null;
}

export interface WaitForChildrenOptions {
  /** ALL (default): until every child finished; ANY: until one did. */
  mode?: 'ALL' | 'ANY';
  /** The wait's step name; default `children` (`children#2` for the second in one run). */
  step?: string;
  /** The wait ends with { outcome: 'TIMED_OUT' } after this long (as waitForEvent's); default never. Given, the call answers a ChildrenWaitResult. */
  timeoutMs?: number;
}

/**
 * How a wait for children with a timeout ended: FINISHED (ALL: every child
 * finished; ANY: one did) or TIMED_OUT; `children` are their outcomes then,
 * in the order given (at a timeout, the unfinished ones with their status of that moment).
 */
export type ChildrenWaitResult = { outcome: 'FINISHED'; children: ChildOutcome[] } | { outcome: 'TIMED_OUT'; children: ChildOutcome[] };

/**
 * Child jobs: spawn is a durable step (a retry returns the same child's id
 * without creating another); waitForChildren is a durable wait (reason
 * CHILDREN) that ends when ALL (or ANY) of the children finished.
 */
export interface JobChildrenContext {
  /** Creates a child job (parentJobId: this job, same tenant) through add_job; answers its id. */
  spawn(jobType: string, payload?: Record<string, unknown>, options?: SpawnOptions): Promise<string>;
  /** Waits until the children (ids from spawn) finished, or the timeout: answers how it ended and each child's outcome, in the order given. */
  waitForChildren(ids: readonly string[], options: WaitForChildrenOptions & { timeoutMs: number }): Promise<ChildrenWaitResult>;
  /** Waits until the children (ids from spawn) finished; answers each one's outcome, in the order given. */
  waitForChildren(ids: readonly string[], options?: WaitForChildrenOptions & { timeoutMs?: undefined }): Promise<ChildOutcome[]>;
  /** A timeout that may be undefined: the answer is the list without one, a ChildrenWaitResult with one. */
  waitForChildren(ids: readonly string[], options?: WaitForChildrenOptions): Promise<ChildOutcome[] | ChildrenWaitResult>;
}

export interface JobContext extends JobWaitsContext, JobChildrenContext {}

export interface JobHandler<Payload = Record<string, unknown>> {
  /** Dotted lower-case name, e.g. `webhook.send`. */
  jobType: string;
  description: string;
  /** Validates a payload when the job is created and again when it runs. */
  payload: z.ZodType<Payload>;
  /**
   * The shape of JobResult.resultData on success, if the handler declares one:
   * registered (as JSON Schema) for clients and typed results; not enforced.
   */
  result?: z.ZodType;
  /** Steps created with every job of this type, so clients see the plan. */
  steps?: readonly string[];
  /** Kinds other than PLAIN are created through their own API only. */
  kind?: JobKind;
  defaults?: {
    queueName?: string;
    maxRetries?: number;
    priority?: number;
    /** Flow control (src/flow/): an attempt that runs longer fails with a TimeoutError. Default none. */
    timeoutMs?: number;
    /** Flow control: the limit of a job's concurrencyKey when the job names none. Default 1. */
    concurrencyLimit?: number;
  };
  /**
   * What readers of a job see of its stored payload (Job.payload, a schedule's
   * jobTemplate): secrets such as a webhook's URL and headers replaced. Takes
   * the payload as stored (it may predate the schema). Default: all of it.
   */
  redactPayload?(payload: Record<string, unknown>): Record<string, unknown>;
  handle(job: RunningJob<Payload>, ctx: JobContext): Promise<JobResult>;
  /**
   * A kind's job type that schedules may make (src/jobs/schedules.ts): writes
   * its kind row in the tick's transaction, from the job the template made.
   */
  insertScheduledKindRow?(db: Queryable, job: { readonly id: string; readonly tenantId: string; readonly payload: Payload }): Promise<void>;
}

/**
 * The payload of a job type whose request lives in its kind's own table (an
 * import, a collection): nothing, and nothing else is accepted.
 */
export const EMPTY_PAYLOAD = z.object({}).strict() as unknown as z.ZodType<Record<string, never>>;

/** Throw (or return as JobResult.error) to fail a job without retrying it. */
export class NonRetriableError extends Error {
  override name = 'NonRetriableError';
  /** Saved in job.error.data: what the handler knows of the failure. */
  readonly data?: unknown;
  constructor(message: string, options?: { data?: unknown; cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    if (options?.data !== undefined) this.data = options.data;
  }
}
