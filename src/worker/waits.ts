// Durable waits in the job context: sleepFor / sleepUntil, waitForEvent,
// waitForSignal (and waitForChildren, src/worker/children.ts). A wait is a
// named step: reached and not yet over, it ends the attempt (JobWaits is
// thrown through the handler) and run-job.ts records the wait
// (job-state/waits.ts), freeing the worker's slot; the job runs again when
// woken or when the wait's time comes, replays its completed steps, and the
// wait returns its result.
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import type { JobAbort } from '../core/job-abort.ts';
import type { JobWaitsContext, WaitForEventOptions, WaitForSignalOptions } from '../core/handler.ts';
import { endWaitByTime, readStepWait, suspendRunningJob, type WaitResult, type WaitSpec } from '../job-state/waits.ts';
import { cancelRunningJob } from '../job-state/cancel.ts';
import { retryOnConnectionError } from '../db/retry.ts';
import type { JobRow } from '../job-state/job-row.ts';
import type { WakeClock } from './wake-clock.ts';

/**
 * Thrown by a wait that must wait: the attempt ends here, without failing. A
 * handler that catches errors around a wait must throw this one on.
 */
export class JobWaits extends Error {
  override name = 'JobWaits';
  constructor(readonly wait: WaitSpec) {
    super(`the job waits at step "${wait.stepName}"; this attempt ends here (rethrow JobWaits if you catch errors around a wait)`);
  }
}

/** The longest a step name may be (job_step.name). */
const STEP_NAME_MAX = 100;
const NAME_MAX = 200;
/** Bounds of a wait's length (about 10 years): a Date beyond Postgres' range is refused clearly, not by the database. */
const MAX_WAIT_MS = 10 * 365 * 24 * 3600 * 1000;

export interface WaitsOptions {
  pool: pg.Pool;
  jobId: string;
  abort: JobAbort;
  logger: () => Logger;
  ensureRunning(): Promise<boolean>;
}

export interface ManagedWaits extends JobWaitsContext {
  /** The wait this attempt reached and must record as it ends; null when none. */
  readonly pendingWait: WaitSpec | null;
  /** Runs a wait of another kind (worker/children.ts): its result if it is over, or ends the attempt. `onTime`: the result when it ends by time. */
  wait<T>(spec: WaitSpec, onTime: Parameters<typeof endWaitByTime>[3]): Promise<T>;
  /** The wait's step name: `explicit`, or `base`, `base#2`, … in the order reached. */
  stepNameOf(explicit: string | undefined, base: string): string;
}

export function createWaits(options: WaitsOptions): ManagedWaits {
  const { pool, jobId, abort, logger, ensureRunning } = options;
  let pendingWait: WaitSpec | null = null;
  /** How often each default step name was used in this attempt: the nth sleep is `sleep#n` in every attempt. Made on first use (most jobs never wait). */
  let used: Map<string, number> | null = null;
  const stepNameOf = (explicit: string | undefined, base: string) => {
    if (explicit !== undefined) return checkStepName(explicit);
    used ??= new Map();
    const n = (used.get(base) ?? 0) + 1;
    used.set(base, n);
    return checkStepName(n === 1 ? base : `${base}#${n}`);
  };

  /** Runs one wait: its result if it is over, or ends the attempt. */
  async function wait<T>(spec: WaitSpec, onTime: Parameters<typeof endWaitByTime>[3]): Promise<T> {
    if (pendingWait) throw new Error(`a wait was started while step "${pendingWait.stepName}" waits; await each wait before the next`);
    abort.signal.throwIfAborted();
    await ensureRunning();
    abort.signal.throwIfAborted();
    const { step, wait: current } = await readStepWait(pool, jobId, spec.stepName);
    if (step?.status === 'COMPLETED') {
      logger().debug({ step: spec.stepName }, 'wait ended in an earlier attempt; its result returned');
      return (step.result ?? {}) as T;
    }
    if (current?.due) {
      const result = await endWaitByTime(pool, jobId, current.stepId, onTime);
      if (result) return result as T;
    }
    pendingWait = spec;
    throw new JobWaits(spec);
  }

  const sleep = (a: string | number | Date, b: number | Date | undefined, kind: 'sleepFor' | 'sleepUntil') => {
    const [name, when] = typeof a === 'string' ? [a, b] : [undefined, a];
    const stepName = stepNameOf(name, 'sleep');
    let spec: WaitSpec;
    if (kind === 'sleepFor') {
      if (typeof when !== 'number' || !Number.isFinite(when) || when < 0 || when > MAX_WAIT_MS) {
        throw new RangeError(`sleepFor: ms must be a number from 0 to ${MAX_WAIT_MS}, got ${String(when)}`);
      }
      spec = { stepName, reason: 'TIMER', wakeInMs: when };
    } else {
      if (!(when instanceof Date) || Number.isNaN(when.getTime()) || Math.abs(when.getTime() - Date.now()) > MAX_WAIT_MS) {
        throw new RangeError(`sleepUntil: until must be a valid Date within ${MAX_WAIT_MS} ms of now, got ${String(when)}`);
      }
      spec = { stepName, reason: 'TIMER', wakeAt: when };
    }
    return wait<Record<string, unknown>>(spec, {}).then(() => undefined);
  };

  return {
    get pendingWait() {
      return pendingWait;
    },
    wait,
    stepNameOf,
    sleepFor: ((a: string | number, b?: number) => sleep(a, b, 'sleepFor')) as JobWaitsContext['sleepFor'],
    sleepUntil: ((a: string | Date, b?: Date) => sleep(a, b, 'sleepUntil')) as JobWaitsContext['sleepUntil'],
    waitForEvent<T>(name: string, options: WaitForEventOptions = {}) {
      checkName('waitForEvent', name);
      if (options.match !== undefined && (typeof options.match !== 'object' || options.match === null || Array.isArray(options.match))) {
        throw new TypeError('waitForEvent: match must be a JSON object');
      }
      const stepName = stepNameOf(options.step, `event:${name}`);
      return wait<WaitResult<T>>({ stepName, reason: 'EVENT', name, match: options.match ?? {}, ...timeoutOf('waitForEvent', options.timeoutMs) }, { outcome: 'TIMED_OUT' });
    },
    waitForSignal<T>(name: string, options: WaitForSignalOptions = {}) {
      checkName('waitForSignal', name);
      const stepName = stepNameOf(options.step, `signal:${name}`);
      return wait<WaitResult<T>>({ stepName, reason: 'SIGNAL', name, ...timeoutOf('waitForSignal', options.timeoutMs) }, { outcome: 'TIMED_OUT' });
    },
  };
}

function checkStepName(name: string): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > STEP_NAME_MAX) {
    throw new RangeError(`a wait's step name must be 1-${STEP_NAME_MAX} characters (pass options.step for a long event or signal name), got ${JSON.stringify(name)}`);
  }
  return name;
}

function checkName(method: string, name: string) {
  if (typeof name !== 'string' || name.length < 1 || name.length > NAME_MAX) {
    throw new RangeError(`${method}: name must be 1-${NAME_MAX} characters, got ${JSON.stringify(name)}`);
  }
}

export function timeoutOf(method: string, timeoutMs: number | undefined): Pick<WaitSpec, 'wakeInMs'> {
  if (timeoutMs === undefined) return {};
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_WAIT_MS) {
    throw new RangeError(`${method}: timeoutMs must be a number from 0 to ${MAX_WAIT_MS}, got ${String(timeoutMs)}`);
  }
  return { wakeInMs: timeoutMs };
}

/**
 * Ends an attempt that reached a wait (run-job.ts): the job waits, or, if a
 * cancel was asked for meanwhile, ends CANCELLED. Answers false when the job
 * is no longer this worker's.
 */
export async function endAttemptWaiting(
  pool: pg.Pool,
  job: JobRow,
  workerId: string,
  wait: WaitSpec,
  logger: Logger,
  wakeClock: WakeClock | undefined,
): Promise<'waiting' | 'cancelled' | 'lost'> {
  const outcome = await retryOnConnectionError(() => suspendRunningJob(pool, job, workerId, wait));
  if (outcome.status === 'cancel_requested') {
    return (await retryOnConnectionError(() => cancelRunningJob(pool, job.id, workerId))) ? 'cancelled' : 'lost';
  }
  if (outcome.status === 'lost') return 'lost';
  logger.info({ jobId: job.id, jobType: job.jobType, step: wait.stepName, reason: wait.reason, wakeAt: outcome.wakeAt }, 'job waits');
  if (outcome.wakeAt) wakeClock?.at(outcome.wakeAt);
  return 'waiting';
}
