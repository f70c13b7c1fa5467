// withTimeout on a clock the test moves: the timeout fires when the clock says
// so, whatever the wall clock, aborting the attempt first; an attempt that ends
// in time clears its timer.
import { expect, it } from 'vitest';
import { TIMEOUT_REASON, TimeoutError, withTimeout, type TimeoutClock } from '../../src/flow/timeout.ts';
import type { JobResult } from '../../src/core/handler.ts';
import { JobAbort } from '../../src/core/job-abort.ts';

function manualClock() {
  const timers = new Map<number, { at: number; fire: () => void }>();
  let now = 0;
  let next = 0;
  const clock: TimeoutClock = {
    setTimeout: (fire, ms) => (timers.set(++next, { at: now + ms, fire }), next),
    clearTimeout: (timer) => void timers.delete(timer as number),
  };
  const advance = (ms: number) => {
    now += ms;
    for (const [id, timer] of timers) if (timer.at <= now) (timers.delete(id), timer.fire());
  };
  return { clock, advance, pending: () => timers.size };
}

it('fails an attempt that outlives its timeout with a TimeoutError, the abort first', async () => {
  const { clock, advance } = manualClock();
  const abort = new JobAbort();
  const never = new Promise<JobResult>(() => {});
  const outcome = withTimeout(never, 3_600_000, abort, clock);
  advance(3_599_999);
  expect(abort.aborted).toBe(false);
  advance(1);
  expect(abort.reason).toBe(TIMEOUT_REASON);
  const result = await outcome;
  expect(result.success).toBe(false);
  expect(result.error).toBeInstanceOf(TimeoutError);
  expect(result.error!.message).toBe('TimeoutError: the attempt ran longer than its timeout of 3600000 ms');
});

it('answers an attempt that ends in time, and clears its timer', async () => {
  const { clock, advance, pending } = manualClock();
  const abort = new JobAbort();
  expect(await withTimeout(Promise.resolve({ success: true, resultData: { n: 1 } }), 1000, abort, clock)).toEqual({ success: true, resultData: { n: 1 } });
  expect(pending()).toBe(0);
  advance(1000);
  expect(abort.aborted).toBe(false);
});
