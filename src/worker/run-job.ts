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
//
// This file is the task and an attempt's outcome; its parts: take-job.ts (read,
// take over, cancel before start), running-write.ts (the delayed RUNNING
// write), background-writes.ts (completions off the task's path),
// retry-policy.ts (the backoff), job-report.ts (log lines and metrics),
// abort-reasons.ts (why an attempt was stopped).
import type pg from 'pg';
import type { Job, Task } from 'graphile-worker';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { retryOnConnectionError, retryOnDeadlock } from '../db/retry.ts';
import { lazyChild, type Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { cancelRunningJob } from '../job-state/cancel.ts';
import { failRunningJob, type AttemptFailure } from '../job-state/fail.ts';
import type { JobRow } from '../job-state/job-row.ts';
import { isJobTask, RUN_JOB_TASK } from '../job-state/queue-entry.ts';
import { rerouteLegacyEntry } from '../registry/routing.ts';
import { requeueRunningJob } from '../job-state/requeue.ts';
import { JobStatus } from '../job-state/statuses.ts';
import type { TakenJob } from '../job-state/take.ts';
import { jobErrorOf } from '../job-state/job-error.ts';
import { createJobContext, errorMessage } from './context.ts';
import { NonRetriableError, type JobResult } from '../core/handler.ts';
import { JobAbort } from '../core/job-abort.ts';
import type { HandlerRegistry } from '../core/registry.ts';
import { StatusBatcher } from './status-batcher.ts';
import { needsGate, passGates } from '../flow/gates.ts';
import { TIMEOUT_REASON, withTimeout } from '../flow/timeout.ts';
import { CANCELLED_REASON, SESSION_LOST_REASON, SHUTDOWN_REASON } from './abort-reasons.ts';
import { BackgroundWrites } from './background-writes.ts';
import { JobReport } from './job-report.ts';
import { retryDelayMs } from './retry-policy.ts';
import { RunningWrite } from './running-write.ts';
import { cancelTaken, takeJob } from './take-job.ts';
import { endAttemptWaiting } from './waits.ts';
import type { WakeClock } from './wake-clock.ts';
import type { ReadAhead } from './read-ahead.ts';

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
  /** Told when a durable wait of this process ends by time (worker/wake-clock.ts). */
  wakeClock?: WakeClock;
  /** The job read ahead while get_job locked its entry, when it may stand for the read (worker/read-ahead.ts). */
  readAhead?: ReadAhead;
}

const runJobPayload = z.object({ jobId: z.uuid() });

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
    const read = ahead?.read ?? readAfterLock(deps.readAhead, batcher, helpers.job, jobId);
    try {
      const taken = await takeJob(deps.pool, read, jobId, helpers.job.id, workerId, logger);
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
      // The row read ahead for a lone job into an idle worker, if any, stands for its entry's read; this batch ends it (worker/read-ahead.ts).
      const ahead = deps.readAhead?.takeForBatch();
      for (const job of jobs) {
        const jobId = jobIdOf(job);
        if (!jobId || prefetched.has(jobId)) continue;
        const abort = new JobAbort();
        deps.running.set(jobId, abort);
        // A failed read sends the task down the locking path (take), which reads again.
        const read = ahead ? ahead(job).then((row) => (row?.id === jobId ? row : batcher.read(jobId))) : batcher.read(jobId);
        const entry = { read: read.catch(() => null), abort };
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

/** The job's read: the row read ahead when it may stand for it, else a read now, after the lock. */
async function readAfterLock(readAhead: ReadAhead | undefined, batcher: StatusBatcher, entry: Job, jobId: string): Promise<TakenJob | null> {
  const row = readAhead ? await readAhead.take(entry) : null;
  return row?.id === jobId ? row : batcher.read(jobId);
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
    // A child's end locks its parent's row (job_wake_parent) as a cancel of the parent locks the child's: Postgres aborts one.
    const applied = (await running.ensure()) && (await retryOnConnectionError(() => retryOnDeadlock(write)));
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
    attempt: job.retryCount + 1,
    span: report.span,
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
    const attempt = report.span.run(() => handler.handle({ ...job, payload: payload.data }, ctx));
    outcome = await (job.timeoutMs ? withTimeout(attempt, job.timeoutMs, abort) : attempt);
  } catch (error) {
    outcome = { success: false, error: error instanceof Error ? error : new Error(String(error)) };
  } finally {
    report.ended();
    if (runningTimer) clearTimeout(runningTimer);
  }
  await ctx.flush();

  // A durable wait reached (worker/waits.ts): the attempt ends, the job waits; not a failure.
  if (ctx.pendingWait && abort.reason === undefined) {
    const waited = await endAttemptWaiting(deps.pool, job, workerId, ctx.pendingWait, deps.logger, deps.wakeClock);
    report.waiting();
    if (waited === 'cancelled') report.outcome(JobStatus.CANCELLED, true);
    return;
  }

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
  report.failure = error;
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

