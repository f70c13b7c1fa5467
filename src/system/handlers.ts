// Built-in job types for trying the system out, benchmarking it and checking a
// deployment end to end: a no-op and a sleep that reports progress and honours
// cancel.
import { setTimeout as delay } from 'node:timers/promises';
import { z } from 'zod';
import type { JobHandler } from '../core/handler.ts';

export const noopHandler: JobHandler<Record<string, unknown>> = {
  jobType: 'system.noop',
  description: 'Does nothing and completes: for measuring the cost of a job itself.',
  payload: z.record(z.string(), z.unknown()),
  async handle() {
    return { success: true };
  },
};

const sleepPayload = z.object({
  /** Total time to sleep. */
  ms: z.number().int().min(0).max(3_600_000),
  /** Progress reports spread over the sleep. */
  ticks: z.number().int().min(1).max(1000).default(10),
  /** Keeps sleeping after its signal fired (for trying out timeouts): a handler that ignores its signal. */
  ignoreSignal: z.boolean().default(false),
});

export const sleepHandler: JobHandler<z.infer<typeof sleepPayload>> = {
  jobType: 'system.sleep',
  description: 'Sleeps `ms` milliseconds in `ticks` slices, reporting progress after each; stops at once when cancelled (unless `ignoreSignal`).',
  payload: sleepPayload,
  async handle(job, ctx) {
    const { ms, ticks, ignoreSignal } = job.payload;
    for (let tick = 1; tick <= ticks; tick++) {
      await delay(ms / ticks, undefined, ignoreSignal ? {} : { signal: ctx.signal });
      ctx.progress({ percent: (100 * tick) / ticks, message: `slept ${Math.round((ms * tick) / ticks)} of ${ms} ms` });
    }
    return { success: true, resultData: { sleptMs: ms } };
  },
};

const failPayload = z.object({
  message: z.string().min(1).max(1000).default('failed on purpose'),
  /** Time to wait before failing. */
  afterMs: z.number().int().min(0).max(3_600_000).default(0),
});

export const failHandler: JobHandler<z.infer<typeof failPayload>> = {
  jobType: 'system.fail',
  description: 'Fails with `message` after `afterMs` (retried per maxRetries): for checking retries, dead letters and what depends on a job.',
  payload: failPayload,
  async handle(job, ctx) {
    await delay(job.payload.afterMs, undefined, { signal: ctx.signal });
    return { success: false, error: new Error(job.payload.message) };
  },
};
