// The `run_job` graphile-worker task: runs one job row through its handler.
//
// Tasks must be idempotent: graphile-worker runs a task again after its worker
// died. A job already finished is skipped; a job still RUNNING here was running
// on a worker that died, so that attempt is counted as failed and recorded as such.
//
// A queued job is taken by reading it, and RUNNING is written only once the
// handler has run for WORKER_RUNNING_WRITE_DELAY_MS, or reports progress, or
// starts a step, or fails. A job done before that is written once, queued →
// COMPLETED, and the database records the RUNNING it passed through (dated when
// it was taken). Short jobs thus cost one job write instead of two. While a
// worker holds (or has just finished) a job's graphile-worker task, cancelJob
// asks that worker instead of cancelling the job outright (job-state/cancel.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { Job, Task } from 'graphile-worker';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { withTransaction } from '../db/pool.ts';
import { retryOnConnectionError } from '../db/retry.ts';
import { lazyChild, type Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { cancelRunningJob, cancelTakenJob } from '../job-state/cancel.ts';
import { failRunningJob, type AttemptFailure } from '../job-state/fail.ts';
import { lockJob, type JobRow } from '../job-state/job-row.ts';
import { markJobsRunning } from '../job-state/mark-running.ts';
import { isJobTask, RUN_JOB_TASK } from '../job-state/queue-entry.ts';
import { rerouteLegacyEntry } from '../registry/routing.ts';
import { requeueRunningJob } from '../job-state/requeue.ts';
import { isTerminal, JobStatus } from '../job-state/statuses.ts';
import type { TakenJob } from '../job-state/take.ts';
import { takeOverJob } from '../job-state/take-over.ts';
import { jobErrorOf } from '../job-state/job-error.ts';
import { createJobContext, errorMessage } from './context.ts';
import { NonRetriableError, type JobResult } from './handler.ts';
import { JobAbort } from './job-abort.ts';
import type { HandlerRegistry } from './registry.ts';
import { StatusBatcher } from './status-batcher.ts';
import { needsGate, passGates } from '../flow/gates.ts';
import { TIMEOUT_REASON, withTimeout } from '../flow/timeout.ts';

export interface RunJobDeps {
  pool: pg.Pool;
  registry: HandlerRegistry;
  logger: Logger;
  config: Pick<Config, 'JOB_RETRY_BASE_DELAY_MS' | 'JOB_RETRY_MAX_DELAY_MS' | 'JOB_PROGRESS_THROTTLE_MS' | 'WORKER_RUNNING_WRITE_DELAY_MS'>;
  /** Abort switches of the jobs this process runs or holds in its local queue, by job id (for cancel and shutdown). */
  running: Map<string, JobAbort>;
  metrics: Metrics;
  /** Whether this worker serves jobs of this type in this queue (src/registry/routing.ts); default: it hosts the type. */
  serves?: (jobType: string, queueName: string) => boolean;
}

export const CANCELLED_REASON = 'cancelled';
export const SHUTDOWN_REASON = 'shutdown';
/** The worker lost its database session: its jobs may be taken over (liveness.ts), so their handlers stop. */
export const SESSION_LOST_REASON = 'session-lost';
/** The job left its queued status before RUNNING was written (another worker took it over). */
export const LOST_REASON = 'lost';

const runJobPayload = z.object({ jobId: z.uuid() });

/** Exponential backoff with jitter: base·2^retry, capped, then between half and all of it. */
export function retryDelayMs(retryCount: number, baseMs: number, maxMs: number): number {
  const delay = Math.min(maxMs, baseMs * 2 ** retryCount);
  return Math.round(delay / 2 + (Math.random() * delay) / 2);
}

export interface RunJobTask {
  task: Task;
  /**
   * graphile-worker's local queue fetched these queue entries: their jobs are
   * read now, in one statement, and their cancels caught from here on.
   */
  prefetch(jobs: readonly Job[]): void;
  /** graphile-worker gave these queue entries back unrun. */
  forget(jobs: readonly Job[]): void;
  /** Resolves once every outcome written in the background has committed (shutdown). */
  drain(): Promise<void>;
}

export function createRunJobTask(deps: RunJobDeps): RunJobTask {
  const batcher = new StatusBatcher(deps.pool);
  const completions = new BackgroundWrites();
  /** Jobs fetched into the local queue whose tasks have not started: their read, and their abort switch. */
  const prefetched = new Map<string, { read: Promise<TakenJob | null>; abort: JobAbort }>();
  const jobIdOf = (job: Job) => (isJobTask(job.task_identifier) ? runJobPayload.safeParse(job.payload).data?.jobId : undefined);

  const task: Task = async (rawPayload, helpers) => {
    const { jobId } = runJobPayload.parse(rawPayload);
    const workerId = helpers.job.locked_by;
    if (!workerId) throw new Error(`run_job for ${jobId} is not locked by a worker`);
    const logger = lazyChild(deps.logger, { jobId, workerId });

    // Registered before the job is read (by prefetch, or here), so a cancel right after it is not missed.
    const ahead = prefetched.get(jobId);
    prefetched.delete(jobId);
    const abort = ahead?.abort ?? new JobAbort();
    deps.running.set(jobId, abort);
    const read = ahead?.read ?? batcher.read(jobId);
    try {
      const taken = await take(deps, read, jobId, helpers.job.id, workerId, logger);
      if (!taken) return;
      // An entry written before routing (task run_job) of a job this worker does not serve goes to one that does.
      const serves = deps.serves ?? ((jobType: string) => deps.registry.get(jobType) !== undefined);
      if (helpers.job.task_identifier === RUN_JOB_TASK && taken.takenAt && !serves(taken.job.jobType, taken.job.queueName)) {
        await rerouteLegacyEntry(deps.pool, taken.job);
        return;
      }
      if (taken.takenAt && (taken.job.cancelRequestedAt || abort.reason === CANCELLED_REASON)) {
        await cancelTaken(deps.pool, jobId, logger);
        deps.metrics.forJob(taken.job.queueName, taken.job.jobType).cancelled.inc();
        return;
      }
      if (taken.job.cancelRequestedAt) abort.abort(CANCELLED_REASON);
      // Flow control (src/flow/gates.ts): a paused queue, a rate limit or a concurrency limit holds a job not yet started.
      if (taken.takenAt && needsGate(taken.job)) {
        const gate = await passGates(deps.pool, taken.job, helpers.job.id, workerId);
        if (!gate.passed) return;
        if (gate.running) Object.assign(taken, { job: gate.running, takenAt: null });
      }
      const running = new RunningWrite(batcher, jobId, workerId, taken.takenAt, abort);
      const jobLogger = lazyChild(deps.logger, { jobId, workerId, jobType: taken.job.jobType });
      const report = new JobReport(deps.logger, deps.metrics, taken.job, workerId);
      await execute(deps, batcher, completions, taken.job, running, workerId, abort, jobLogger, report);
    } finally {
      if (deps.running.get(jobId) === abort) deps.running.delete(jobId);
    }
  };

  return {
    task,
    prefetch(jobs) {
      for (const job of jobs) {
        const jobId = jobIdOf(job);
        if (!jobId || prefetched.has(jobId)) continue;
        const abort = new JobAbort();
        deps.running.set(jobId, abort);
        // A failed read sends the task down the locking path (take), which reads again.
        const entry = { read: batcher.read(jobId).catch(() => null), abort };
        prefetched.set(jobId, entry);
        abort.onAbort((reason) => {
          // Cancelled while it waits here: cancelled now, not once a slot frees up.
          // Its task then finds it finished and does not run it.
          if (reason !== CANCELLED_REASON || prefetched.get(jobId) !== entry) return;
          const logger = lazyChild(deps.logger, { jobId });
          entry.read = cancelTaken(deps.pool, jobId, logger).then(
            () => null,
            (error) => {
              logger().warn({ err: error }, 'could not cancel a job waiting in the local queue; its task will');
              return null;
            },
          );
        });
      }
    },
    forget(jobs) {
      for (const job of jobs) {
        const jobId = jobIdOf(job);
        const entry = jobId && prefetched.get(jobId);
        if (!jobId || !entry) continue;
        prefetched.delete(jobId);
        if (deps.running.get(jobId) === entry.abort) deps.running.delete(jobId);
      }
    },
    drain: () => completions.drain(),
  };
}

/** Writes that finish after their task returned, retried a few times, and awaited at shutdown. */
class BackgroundWrites {
  static readonly ATTEMPTS = 4;
  readonly #inFlight = new Set<Promise<void>>();

  add(write: () => Promise<void>, logger: () => Logger) {
    const attempt = async (): Promise<void> => {
      for (let n = 1; ; n++) {
        try {
          return await write();
        } catch (error) {
          if (n >= BackgroundWrites.ATTEMPTS) {
            logger().error({ err: error }, 'could not write the job outcome; the hourly orphan sweep will queue the job again');
            return;
          }
          await sleep(100 * 4 ** (n - 1));
        }
      }
    };
    const promise = attempt().finally(() => this.#inFlight.delete(promise));
    this.#inFlight.add(promise);
  }

  async drain() {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }
}

interface JobToRun {
  job: JobRow;
  /** While RUNNING is not written: the database time the job was read; null once it is. */
  takenAt: string | null;
}

/**
 * Reads the queued job to run, or takes over a dead worker's; null when there
 * is nothing to run, or when the job has been queued again under a newer queue
 * entry than this task's (that entry's task runs it).
 */
async function take(
  deps: RunJobDeps,
  read: Promise<TakenJob | null>,
  jobId: string,
  queueEntryId: string,
  workerId: string,
  logger: () => Logger,
): Promise<JobToRun | null> {
  const stale = (job: JobRow) => {
    if (job.queueEntryId === queueEntryId) return false;
    logger().info({ queueEntryId, currentQueueEntryId: job.queueEntryId }, 'the job was queued again under another entry; this one is stale');
    return true;
  };
  const queued = await read;
  if (queued) {
    if (stale(queued)) return null;
    const { takenAt, ...job } = queued;
    return { job, takenAt };
  }
  // Not queued: finished, gone, or still RUNNING under a worker that died.
  // Retried through a lost connection: the transaction re-reads what it decides on.
  const job = await retryOnConnectionError(() => withTransaction(deps.pool, async (client) => {
    // The worker runs every tenant's jobs.
    const job = await lockJob(client, jobId, null);
    if (!job) {
      logger().info('job no longer exists; nothing to run');
      return null;
    }
    if (stale(job)) return null;
    if (isTerminal(job.status)) {
      logger().info({ status: job.status }, 'job already finished; not run again');
      return null;
    }
    if (job.status === JobStatus.RUNNING) {
      // Its previous worker died (graphile-worker handed us its lock).
      const outcome = await takeOverJob(client, job, workerId);
      if (outcome !== 'retrying') return null;
      logger().warn({ previousWorker: job.workerId }, 'taking over a job from a dead worker');
    }
    // RETRYING after a take-over, or queued again since the read.
    return (await markJobsRunning(client, [jobId], workerId))[0] ?? null;
  }));
  return job ? { job, takenAt: null } : null;
}

/** A cancel asked for while the job was handed to this worker but not yet started: it ends here, unrun. */
async function cancelTaken(pool: pg.Pool, jobId: string, logger: () => Logger) {
  await retryOnConnectionError(() => cancelTakenJob(pool, jobId, 'cancelled before it started'));
  logger().info({ status: JobStatus.CANCELLED }, 'cancel requested before the job started; not run');
}

/** The job's RUNNING write: done once, when first needed; aborts the handler if the job was lost meanwhile. */
class RunningWrite {
  #written: Promise<boolean> | null;

  constructor(
    private readonly batcher: StatusBatcher,
    private readonly jobId: string,
    private readonly workerId: string,
    /** Null when RUNNING is already written. */
    private readonly takenAt: string | null,
    private readonly abort: JobAbort,
  ) {
    this.#written = takenAt ? null : Promise.resolve(true);
  }

  /** While RUNNING is neither written nor being written: the database time the job was taken. */
  get takenSince(): string | null {
    return this.#written === null ? this.takenAt : null;
  }

  /** Writes RUNNING unless done already; false when the job is no longer this worker's to run. */
  ensure(): Promise<boolean> {
    this.#written ??= this.batcher.markRunning(this.jobId, this.workerId).then((row) => {
      if (!row) this.abort.abort(LOST_REASON);
      return row !== null;
    });
    return this.#written;
  }
}

async function execute(
  deps: RunJobDeps,
  batcher: StatusBatcher,
  completions: BackgroundWrites,
  job: JobRow,
  running: RunningWrite,
  workerId: string,
  abort: JobAbort,
  logger: () => Logger,
  report: JobReport,
) {
  const handler = deps.registry.get(job.jobType);
  /**
   * Every outcome but success goes through RUNNING, written first if it is not yet.
   * Retried through a lost connection: each write is guarded (worker_id, RUNNING), so it applies once.
   */
  const finish = async (status: JobStatus, write: () => Promise<boolean>, error?: string) => {
    const applied = (await running.ensure()) && (await retryOnConnectionError(write));
    report.outcome(status, applied, error);
  };
  const fail = (failure: AttemptFailure) => finish(failure.status, () => failRunningJob(deps.pool, job, workerId, failure), failure.errorMessage);

  if (!handler) {
    const message = `no handler is registered for job type "${job.jobType}"`;
    await fail({ status: JobStatus.FAILED, errorMessage: message, error: { name: 'UnknownJobTypeError', message } });
    return;
  }
  const payload = handler.payload.safeParse(job.payload);
  if (!payload.success) {
    const issue = payload.error.issues[0]!;
    const field = ['payload', ...issue.path].join('.');
    const message = `invalid payload: ${field}: ${issue.message}`;
    await fail({ status: JobStatus.FAILED, errorMessage: message, error: { name: 'InvalidPayloadError', message, data: { field, issue: issue.message } } });
    return;
  }

  const ctx = createJobContext({
    pool: deps.pool,
    jobId: job.id,
    workerId,
    abort,
    logger,
    progressThrottleMs: deps.config.JOB_PROGRESS_THROTTLE_MS,
    // A timed-out attempt writes nothing more (flow/timeout.ts): the next attempt may run under this worker id.
    ensureRunning: () => (abort.reason === TIMEOUT_REASON ? Promise.resolve(false) : running.ensure()),
  });
  const runningDelay = deps.config.WORKER_RUNNING_WRITE_DELAY_MS;
  // A job with a timeout shows RUNNING before its clock starts (flow/timeout.ts), so started_at is when it was timed from.
  if (runningDelay === 0 || job.timeoutMs) await running.ensure();
  const runningTimer = running.takenSince ? setTimeout(() => void running.ensure(), runningDelay) : null;
  let outcome: JobResult;
  report.started();
  try {
    const attempt = handler.handle({ ...job, payload: payload.data }, ctx);
    outcome = await (job.timeoutMs ? withTimeout(attempt, job.timeoutMs, abort) : attempt);
  } catch (error) {
    outcome = { success: false, error: error instanceof Error ? error : new Error(String(error)) };
  } finally {
    report.ended();
    if (runningTimer) clearTimeout(runningTimer);
  }
  await ctx.flush();

  if (outcome.success) {
    const takenSince = running.takenSince;
    const result = outcome.resultData ?? {};
    // Written off the task's path, as graphile-worker completes its own queue
    // entries: the worker takes its next job while this commits. Should the
    // process die first, the job is left without a queue entry and the orphan
    // sweep (orphans.ts) queues it again.
    completions.add(async () => {
      const applied = takenSince
        ? await batcher.completeTaken(job.id, takenSince, result)
        : (await running.ensure()) && (await batcher.complete(job.id, workerId, result));
      report.outcome(JobStatus.COMPLETED, applied);
    }, logger);
    return;
  }
  const error = outcome.error ?? new Error('handler reported failure without an error');
  if (abort.reason === CANCELLED_REASON) {
    await finish(JobStatus.CANCELLED, () => cancelRunningJob(deps.pool, job.id, workerId));
    return;
  }
  if (abort.reason === SHUTDOWN_REASON || abort.reason === SESSION_LOST_REASON) {
    // Not the job's fault: back to the queue at once, without spending a retry.
    const why = abort.reason === SHUTDOWN_REASON ? 'worker shut down' : 'worker lost its database session';
    report.requeuedBecause = why;
    await finish(JobStatus.RETRYING, () => requeueRunningJob(deps.pool, job, workerId, why));
    return;
  }
  const message = errorMessage(error);
  // Seed 003: a failed JobResult's resultData is kept (job.result), with the error as data (job.error).
  const failure = { error: jobErrorOf(error), ...(outcome.resultData ? { resultData: outcome.resultData } : {}) };
  if (error instanceof NonRetriableError) {
    await fail({ status: JobStatus.FAILED, errorMessage: message, ...failure });
    return;
  }
  if (job.retryCount >= job.maxRetries) {
    await fail({ status: JobStatus.DEAD_LETTER, errorMessage: `${message} (after ${job.retryCount + 1} attempts)`, ...failure });
    return;
  }
  const delay = retryDelayMs(job.retryCount, deps.config.JOB_RETRY_BASE_DELAY_MS, deps.config.JOB_RETRY_MAX_DELAY_MS);
  report.retryInMs = delay;
  const runAt = new Date(Date.now() + delay);
  await fail({ status: JobStatus.RETRYING, errorMessage: message, retryCount: job.retryCount + 1, runAt, ...failure });
}

const OUTCOME_MESSAGES: Partial<Record<JobStatus, string>> = {
  [JobStatus.COMPLETED]: 'job completed',
  [JobStatus.FAILED]: 'job failed',
  [JobStatus.DEAD_LETTER]: 'job failed; no retries left',
  [JobStatus.RETRYING]: 'job failed; will retry',
  [JobStatus.CANCELLED]: 'job cancelled',
};

/**
 * One attempt's log lines (info: started, then its outcome, with the job's id,
 * type, queue, attempt and run time) and its metrics. Lines go through the
 * process's logger with the fields inline: a child logger per job costs more
 * than a short job (see lazyChild).
 */
class JobReport {
  readonly #info: boolean;
  readonly #counters: ReturnType<Metrics['forJob']>;
  #startedAt = 0;
  #durationMs = 0;
  /** Set when the attempt fails and will be retried. */
  retryInMs: number | undefined;
  /** Set when the attempt is given back to the queue, not the job's fault (shutdown, lost session). */
  requeuedBecause: string | undefined;

  constructor(
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly job: JobRow,
    private readonly workerId: string,
  ) {
    this.#info = logger.isLevelEnabled('info');
    this.#counters = metrics.forJob(job.queueName, job.jobType);
  }

  #fields() {
    const { job } = this;
    return { jobId: job.id, jobType: job.jobType, queue: job.queueName, attempt: job.retryCount + 1, workerId: this.workerId };
  }

  /** The handler starts. */
  started() {
    this.#startedAt = performance.now();
    this.#counters.started.inc();
    if (this.#info) this.logger.info(this.#fields(), 'job started');
  }

  /** The handler returned or threw. */
  ended() {
    this.#durationMs = performance.now() - this.#startedAt;
  }

  outcome(status: JobStatus, applied: boolean, error?: string | null) {
    if (!applied) {
      this.logger.warn({ ...this.#fields(), status }, 'job was taken over by another worker; outcome dropped');
      return;
    }
    const requeued = status === JobStatus.RETRYING && this.requeuedBecause !== undefined;
    const counters = this.#counters;
    if (this.#startedAt) counters.runSeconds(status).observe(this.#durationMs / 1000);
    if (status === JobStatus.COMPLETED) counters.completed.inc();
    else if (status === JobStatus.CANCELLED) counters.cancelled.inc();
    else if (status === JobStatus.FAILED || status === JobStatus.DEAD_LETTER) counters.failed(status).inc();
    else if (status === JobStatus.RETRYING && !requeued) counters.retried.inc();
    if (!this.#info) return;
    const durationMs = Math.round(this.#durationMs * 10) / 10;
    const message = requeued ? `job re-queued: ${this.requeuedBecause}` : (OUTCOME_MESSAGES[status] ?? 'job finished');
    this.logger.info(
      { ...this.#fields(), status, durationMs, ...(error ? { error } : {}), ...(this.retryInMs !== undefined ? { retryInMs: this.retryInMs } : {}) },
      message,
    );
  }
}
