// Job types for tests only, registered in the in-process API and in the worker
// processes that test/support/worker-process.ts starts.
import { z } from 'zod';
import { setTimeout as delay } from 'node:timers/promises';
import { noopHandler, sleepHandler } from '../../src/system/handlers.ts';
import { NonRetriableError, type JobHandler } from '../../src/core/handler.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import { durableSleepHandler, waitForEventHandler, waitForSignalHandler, workflowChildHandler, workflowParentHandler } from './wait-handlers.ts';

const blockPayload = z.object({ ms: z.number().int().min(0).max(600_000) });

/** Runs a moment (RUNNING is written), then blocks its process's event loop for `ms`: a busy worker, not a dead one. */
export const blockEventLoopHandler: JobHandler<z.infer<typeof blockPayload>> = {
  jobType: 'test.block_event_loop',
  description: 'Blocks the event loop of its worker process for `ms` milliseconds.',
  payload: blockPayload,
  async handle(job, ctx) {
    ctx.progress({ percent: 1, message: 'about to block' });
    await delay(300);
    const until = Date.now() + job.payload.ms;
    while (Date.now() < until) {
      // busy: no timer, no I/O of this process runs meanwhile
    }
    return { success: true, resultData: { blockedMs: job.payload.ms } };
  },
};

const slowFirstPayload = z.object({ firstAttemptMs: z.number().int().min(0), laterAttemptsMs: z.number().int().min(0) });

/** Long on its first attempt (so its worker can be killed mid-run whatever the machine's speed), short after. */
export const slowFirstAttemptHandler: JobHandler<z.infer<typeof slowFirstPayload>> = {
  jobType: 'test.slow_first_attempt',
  description: 'Sleeps firstAttemptMs on its first attempt, laterAttemptsMs on later ones; reports progress at once.',
  payload: slowFirstPayload,
  async handle(job, ctx) {
    ctx.progress({ percent: 1, message: `attempt ${job.retryCount + 1}` });
    const ms = job.retryCount === 0 ? job.payload.firstAttemptMs : job.payload.laterAttemptsMs;
    await delay(ms, undefined, { signal: ctx.signal });
    return { success: true, resultData: { attempt: job.retryCount + 1 } };
  },
};

/** An error class that does not set `name`, with data of its own. */
class QuotaExceededError extends Error {
  readonly data = { retryAfterSeconds: 60 };
}

const failWithDataPayload = z.object({ retriable: z.boolean() });

/** Fails with data on the error and partial resultData: non-retriable (returned) or retriable (thrown). */
export const failWithDataHandler: JobHandler<z.infer<typeof failWithDataPayload>> = {
  jobType: 'test.fail_with_data',
  description: 'Fails with a structured error and partial resultData.',
  payload: failWithDataPayload,
  async handle(job) {
    if (job.payload.retriable) throw new QuotaExceededError('quota exceeded');
    return { success: false, resultData: { rowsImported: 2 }, error: new NonRetriableError('row 3 is malformed', { data: { row: 3, column: 'amount' } }) };
  },
};

export function createTestRegistry(): HandlerRegistry {
  return new HandlerRegistry()
    .register(noopHandler)
    .register(sleepHandler)
    .register(blockEventLoopHandler)
    .register(slowFirstAttemptHandler)
    .register(failWithDataHandler)
    .register(waitForEventHandler)
    .register(waitForSignalHandler)
    .register(durableSleepHandler)
    .register(workflowParentHandler)
    .register(workflowChildHandler);
}
