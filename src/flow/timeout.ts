// Timeouts: an attempt that runs past the job's timeoutMs fails with a
// TimeoutError (and is retried or dead-lettered like any failure). The
// handler's signal is aborted with reason 'timeout'; a handler that ignores it
// is left behind: its result is never read, and its progress is not written
// (run-job.ts stops the attempt's context writing once it timed out).
import type { JobResult } from '../core/handler.ts';
import type { JobAbort } from '../core/job-abort.ts';

export const TIMEOUT_REASON = 'timeout';

export class TimeoutError extends Error {
  override name = 'TimeoutError';
  constructor(readonly timeoutMs: number) {
    super(`TimeoutError: the attempt ran longer than its timeout of ${timeoutMs} ms`);
  }
}

/** The clock a timeout runs on: the process's timers, or a test's that it moves by hand. */
export interface TimeoutClock {
  setTimeout(fire: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
}

const processClock: TimeoutClock = {
  setTimeout: (fire, ms) => setTimeout(fire, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

/** The attempt's outcome, or a TimeoutError once `timeoutMs` passed (the abort fires first). */
export function withTimeout(attempt: Promise<JobResult>, timeoutMs: number, abort: JobAbort, clock: TimeoutClock = processClock): Promise<JobResult> {
  let timer: unknown;
  const expired = new Promise<JobResult>((resolve) => {
    timer = clock.setTimeout(() => {
      abort.abort(TIMEOUT_REASON);
      resolve({ success: false, error: new TimeoutError(timeoutMs) });
    }, timeoutMs);
  });
  return Promise.race([attempt, expired]).finally(() => clock.clearTimeout(timer));
}
