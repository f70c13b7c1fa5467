// Job types that wait (src/worker/waits.ts), for the waits tests and bench:waits.
import { z } from 'zod';
import type { JobHandler } from '../../src/core/handler.ts';
import { TenantQuotaExceededError } from '../../src/core/errors.ts';

const waitEventPayload = z.object({
  event: z.string(),
  match: z.record(z.string(), z.unknown()).optional(),
  timeoutMs: z.number().int().min(0).optional(),
  /** Fail the attempt after the wait this many times (the retry must not wait again). */
  failAfterWait: z.number().int().min(0).default(0),
});

/** A step before, a wait for an event, a step after: its result says what the wait returned and how often each step ran. */
export const waitForEventHandler: JobHandler<z.infer<typeof waitEventPayload>> = {
  jobType: 'test.wait_for_event',
  description: 'Runs a step, waits for an event, runs a step.',
  payload: waitEventPayload,
  async handle(job, ctx) {
    const before = await ctx.step('before', async () => ({ ranAt: Date.now(), attempt: job.retryCount }));
    const waited = await ctx.waitForEvent(job.payload.event, { match: job.payload.match, timeoutMs: job.payload.timeoutMs });
    if (job.retryCount < job.payload.failAfterWait) throw new Error(`failing after the wait (attempt ${job.retryCount + 1})`);
    const after = await ctx.step('after', async () => ({ ranAt: Date.now() }));
    return { success: true, resultData: { before, waited, after, attempt: job.retryCount } };
  },
};

const waitSignalPayload = z.object({ signal: z.string(), timeoutMs: z.number().int().min(0).optional() });

export const waitForSignalHandler: JobHandler<z.infer<typeof waitSignalPayload>> = {
  jobType: 'test.wait_for_signal',
  description: 'Waits for a signal (an approval).',
  payload: waitSignalPayload,
  async handle(job, ctx) {
    const waited = await ctx.waitForSignal(job.payload.signal, { timeoutMs: job.payload.timeoutMs });
    return { success: true, resultData: { waited } };
  },
};

const sleepPayload = z.object({ ms: z.number().int().min(0).optional(), until: z.string().optional() });

/** Sleeps durably; its result has when it resumed (ms since epoch) and its wake time. */
export const durableSleepHandler: JobHandler<z.infer<typeof sleepPayload>> = {
  jobType: 'test.durable_sleep',
  description: 'Sleeps with ctx.sleepFor / ctx.sleepUntil.',
  payload: sleepPayload,
  async handle(job, ctx) {
    const started = await ctx.step('start', async () => ({ at: Date.now() }));
    if (job.payload.until) await ctx.sleepUntil('nap', new Date(job.payload.until));
    else await ctx.sleepFor('nap', job.payload.ms ?? 0);
    return { success: true, resultData: { started, resumedAt: Date.now() } };
  },
};

export const waitHandlers = [waitForEventHandler, waitForSignalHandler, durableSleepHandler] as const;

// Child jobs (src/worker/children.ts), for test/waits/children.test.ts.
const childPayload = z.object({ n: z.number().int(), failOnce: z.boolean().default(false) });

/** A child: answers { n, double }; with failOnce its first attempt fails (a retry succeeds). */
export const workflowChildHandler: JobHandler<z.infer<typeof childPayload>> = {
  jobType: 'test.workflow_child',
  description: 'A child job of test.workflow_parent.',
  payload: childPayload,
  async handle(job) {
    if (job.payload.failOnce && job.retryCount === 0) throw new Error(`child ${job.payload.n} fails its first attempt`);
    return { success: true, resultData: { n: job.payload.n, double: job.payload.n * 2 } };
  },
};

const parentPayload = z.object({
  spawn: z.array(z.object({ jobType: z.string(), payload: z.record(z.string(), z.unknown()), maxRetries: z.number().int().optional(), cancelWithParent: z.boolean().optional(), queueName: z.string().optional() })),
  mode: z.enum(['ALL', 'ANY']).default('ALL'),
  /** Fail the attempt after spawning this many times (the retry must not spawn again). */
  failAfterSpawn: z.number().int().min(0).default(0),
  /** Catch a spawn the tenant's quota refuses and answer what the error says (instead of failing the attempt). */
  catchQuota: z.boolean().default(false),
  /** Wait for the children with this timeout (the answer is then { outcome, children }). */
  timeoutMs: z.number().int().min(0).optional(),
});

/** Spawns its children, waits for them (ALL or ANY), answers their outcomes. */
export const workflowParentHandler: JobHandler<z.infer<typeof parentPayload>> = {
  jobType: 'test.workflow_parent',
  description: 'Spawns child jobs and waits for them.',
  payload: parentPayload,
  async handle(job, ctx) {
    const ids: string[] = [];
    for (const child of job.payload.spawn) {
      try {
        ids.push(await ctx.spawn(child.jobType, child.payload, { maxRetries: child.maxRetries, cancelWithParent: child.cancelWithParent, queueName: child.queueName }));
      } catch (error) {
        if (!(job.payload.catchQuota && error instanceof TenantQuotaExceededError)) throw error;
        const { name, limit, value, current, requested, tenantId, message } = error;
        return { success: true, resultData: { ids, refused: { isQuotaError: true, name, limit, value, current, requested, tenantId, message } } };
      }
    }
    if (job.retryCount < job.payload.failAfterSpawn) throw new Error(`failing after spawning (attempt ${job.retryCount + 1})`);
    if (job.payload.timeoutMs !== undefined) {
      const waited = await ctx.waitForChildren(ids, { mode: job.payload.mode, timeoutMs: job.payload.timeoutMs });
      return { success: true, resultData: { ids, waited, attempt: job.retryCount } };
    }
    const children = await ctx.waitForChildren(ids, { mode: job.payload.mode });
    return { success: true, resultData: { ids, children, attempt: job.retryCount } };
  },
};
