// The JobContext a handler gets: abort signal, throttled progress, durable
// steps and a logger carrying the job id.
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import type { JobContext, ProgressUpdate } from '../core/handler.ts';
import type { JobAbort } from '../core/job-abort.ts';
import { writeProgress } from '../job-state/progress.ts';
import { addJobTags } from '../jobs/tags.ts';
import { findStep, finishStep, startStep } from '../job-state/steps.ts';
import { createWaits, type ManagedWaits } from './waits.ts';
import { createChildren } from './children.ts';
import { JobStreams } from '../jobs/job-streams.ts';
import { JobLogs } from '../jobs/job-logs.ts';
import type { AttemptSpan } from '../tracing/job-spans.ts';

export interface ContextOptions {
  pool: pg.Pool;
  jobId: string;
  workerId: string;
  abort: JobAbort;
  /** The job's logger, made on first use (see lazyChild). */
  logger: () => Logger;
  progressThrottleMs: number;
  /** This attempt's number: the job's retryCount + 1 (job logs). */
  attempt: number;
  /** The attempt's span: each step runs in a child span (src/tracing/job-spans.ts). */
  span?: AttemptSpan;
  /** Writes the job's RUNNING if not yet (run-job.ts); false when the job is no longer this worker's. */
  ensureRunning(): Promise<boolean>;
}

export interface ManagedContext extends JobContext {
  /** Writes the last progress update that the throttle held back. */
  flush(): Promise<void>;
  /** The durable wait this attempt reached (worker/waits.ts); null when none. */
  readonly pendingWait: ManagedWaits['pendingWait'];
}

export function createJobContext(options: ContextOptions): ManagedContext {
  const { pool, jobId, workerId, abort, logger, progressThrottleMs, ensureRunning } = options;
  // Job logs (issue 28): lines queued, inserted in batches; flushed with the progress.
  const log = new JobLogs(pool, jobId, options.attempt, logger, ensureRunning);
  let pending: ProgressUpdate | null = null;
  let lastWrite = 0;
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  // Output streams (issue 28): created on first use; flushed with the progress.
  let streams: JobStreams | null = null;

  const write = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    const update = pending;
    pending = null;
    if (!update) return writing;
    lastWrite = Date.now();
    // Writes are chained so they land in the order they were reported.
    writing = writing
      .then(async () => {
        if (await ensureRunning()) await writeProgress(pool, jobId, workerId, update.percent, update.message ?? null);
      })
      .catch((error) => logger().warn({ err: error }, 'progress write failed'));
    return writing;
  };

  const waits = createWaits({ pool, jobId, abort, logger, ensureRunning });
  return {
    get pendingWait() {
      return waits.pendingWait;
    },
    sleepFor: waits.sleepFor,
    sleepUntil: waits.sleepUntil,
    waitForEvent: waits.waitForEvent,
    waitForSignal: waits.waitForSignal,
    // Child jobs (issue 27, worker/children.ts).
    ...createChildren({ pool, jobId, abort, ensureRunning, waits }),
    db: pool,
    get signal() {
      return abort.signal;
    },
    get logger() {
      return logger();
    },
    progress(update) {
      if (!(update.percent >= 0 && update.percent <= 100)) {
        throw new RangeError(`progress percent must be between 0 and 100, got ${update.percent}`);
      }
      pending = update;
      const wait = lastWrite + progressThrottleMs - Date.now();
      if (wait <= 0) void write();
      else timer ??= setTimeout(write, wait);
    },
    async step(name, fn) {
      abort.signal.throwIfAborted();
      await ensureRunning();
      abort.signal.throwIfAborted();
      const existing = await findStep(pool, jobId, name);
      if (existing?.status === 'COMPLETED') {
        logger().debug({ step: name }, 'step completed in an earlier attempt; skipped');
        return (existing.result ?? undefined) as Awaited<ReturnType<typeof fn>>;
      }
      const stepId = await startStep(pool, jobId, name, existing);
      try {
        const result = await (options.span ? options.span.step(name, fn) : fn());
        await finishStep(pool, stepId, 'COMPLETED', (result ?? null) as Record<string, unknown> | null, null);
        return result;
      } catch (error) {
        const cancelled = abort.aborted;
        await finishStep(pool, stepId, cancelled ? 'CANCELLED' : 'FAILED', null, cancelled ? null : errorMessage(error));
        throw error;
      }
    },
    stream(name) {
      return (streams ??= new JobStreams(pool, jobId, ensureRunning)).stream(name);
    },
    flush: async () => {
      await Promise.all([write(), streams?.flush(), log.flush()]);
    },
    addTags: (...tags) => addJobTags(pool, jobId, tags),
    log,
  };
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
