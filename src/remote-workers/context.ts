// The job context for remote workers (issue 27): durable waits, child jobs,
// output streams, job logs and tags, for a job the calling worker holds. Each
// call runs the in-process context's own code (worker/waits.ts,
// worker/children.ts, jobs/job-streams.ts, jobs/job-logs.ts, jobs/tags.ts);
// what differs is the lease check: the writes of spawn, stream, log and tags
// run in one transaction with the held job locked (job-state/lease.ts), and a
// wait that must wait ends the held attempt there too (job-state/lease-waits.ts).
//
// Stateless: the protocol cannot count `sleep#2` or `spawn:3` through an
// attempt as ctx does, so every wait and spawn names its step.
import type pg from 'pg';
import { TenantQuotaExceededError, ValidationError } from '../core/errors.ts';
import { JobAbort } from '../core/job-abort.ts';
import type { ChildOutcome, ChildrenWaitResult, WaitResult } from '../core/handler.ts';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { ensureRunning, lockHeldJobs, type HeldJob } from '../job-state/lease.ts';
import { suspendHeldJob } from '../job-state/lease-waits.ts';
import { addJobTags } from '../jobs/tags.ts';
import { JobLogs } from '../jobs/job-logs.ts';
import { JobStreamLimitError, JobStreams } from '../jobs/job-streams.ts';
import type { Logger } from '../logger.ts';
import { createChildren, spawnChild, spawnQuotaError } from '../worker/children.ts';
import { createWaits, JobWaits } from '../worker/waits.ts';
import type { WaitRequest } from './protocol.ts';

type Lost = { jobId: string; state: 'LOST' };

export interface ContextDeps {
  pool: pg.Pool;
  logger: Logger;
}

/** A call the job context refused (a bound passed, a bad option): answered 400 VALIDATION_FAILED naming the field; nothing written. */
export class ContextRefusal extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The held job, locked, RUNNING (written now if it was claimed without): `fn`'s writes commit only if the worker still holds it. */
async function withHeldJob<T>(pool: pg.Pool, workerId: string, jobId: string, fn: (client: Queryable, job: HeldJob) => Promise<T>): Promise<T | Lost> {
  return withTransaction(pool, async (client) => {
    const held = await lockHeldJobs(client, workerId, [jobId]);
    await ensureRunning(client, workerId, held);
    const job = held.get(jobId);
    return job ? fn(client, job) : { jobId, state: 'LOST' as const };
  });
}

/** A refusal thrown by the in-process code (ValidationError, RangeError, TypeError), named by the request's field. */
function refusal(error: unknown, field: string): never {
  if (error instanceof ValidationError) throw new ContextRefusal(error.field, error.message);
  if (error instanceof RangeError || error instanceof TypeError) throw new ContextRefusal(field, error.message);
  throw error;
}

export type WaitAnswer =
  | Lost
  | { jobId: string; state: 'CANCELLED' }
  /** The wait is over (now or in an earlier attempt): go on with `result`. */
  | { jobId: string; state: 'DONE'; result: unknown }
  /** The attempt ended here; the job is re-delivered by a claim when the wait ends (its step COMPLETED with the result). */
  | { jobId: string; state: 'WAITING'; wakeAt: string | null };

/**
 * A wait: its result if it is over (DONE), or the held attempt ends as a wait
 * (WAITING), through worker/waits.ts as ctx's waits do.
 */
export async function remoteWait(deps: ContextDeps, workerId: string, request: WaitRequest): Promise<WaitAnswer> {
  const { jobId } = request;
  const checked = await withHeldJob(deps.pool, workerId, jobId, async () => null);
  if (checked) return checked;
  const logger = deps.logger.child({ jobId, workerId });
  const abort = new JobAbort();
  // Held a moment ago (checked above); the wait's own writes are the in-process ones, and its end is lease-checked below.
  const holds = async () => true;
  const waits = createWaits({
    pool: deps.pool,
    jobId,
    abort,
    logger: () => logger,
    ensureRunning: holds,
  });
  let result: unknown;
  try {
    switch (request.kind) {
      case 'sleepFor':
        result = (await waits.sleepFor(request.step, request.ms)) ?? null;
        break;
      case 'sleepUntil':
        result = (await waits.sleepUntil(request.step, new Date(request.until))) ?? null;
        break;
      case 'waitForEvent':
        result = await waits.waitForEvent<Record<string, unknown>>(request.name, {
          step: request.step,
          match: request.match,
          ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
        });
        break;
      case 'waitForSignal':
        result = await waits.waitForSignal<Record<string, unknown>>(request.name, {
          step: request.step,
          ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
        });
        break;
      case 'waitForChildren':
        result = await createChildren({
          pool: deps.pool,
          jobId,
          abort,
          ensureRunning: holds,
          waits,
        }).waitForChildren(request.childJobIds, {
          step: request.step,
          mode: request.mode,
          ...(request.timeoutMs !== undefined ? { timeoutMs: request.timeoutMs } : {}),
        });
        break;
    }
  } catch (error) {
    if (!(error instanceof JobWaits)) refusal(error, request.kind === 'waitForChildren' ? 'childJobIds' : request.kind === 'sleepUntil' ? 'until' : 'step');
    const outcome = await withTransaction(deps.pool, (client) => suspendHeldJob(client, workerId, jobId, error.wait));
    if (outcome.state === 'WAITING') {
      logger.info(
        {
          step: error.wait.stepName,
          reason: error.wait.reason,
          wakeAt: outcome.wakeAt,
        },
        'job waits',
      );
      return {
        jobId,
        state: 'WAITING',
        wakeAt: outcome.wakeAt?.toISOString() ?? null,
      };
    }
    return { jobId, state: outcome.state };
  }
  return {
    jobId,
    state: 'DONE',
    result: result as WaitResult | ChildOutcome[] | ChildrenWaitResult | null,
  };
}

/** ctx.spawn: one transaction writes the child and the step, so a retried spawn of the step answers the same child. */
export async function remoteSpawn(
  deps: ContextDeps,
  workerId: string,
  request: {
    jobId: string;
    step: string;
    jobType: string;
    payload: Record<string, unknown>;
    options: Record<string, unknown> & {
      cancelWithParent?: boolean | undefined;
    };
  },
): Promise<Lost | { jobId: string; state: 'HELD'; childJobId: string }> {
  const { cancelWithParent, ...addJobOptions } = request.options;
  return withHeldJob(deps.pool, workerId, request.jobId, async (client, job) => {
    const childJobId = await spawnChild(client, request.jobId, request.step, request.jobType, request.payload, addJobOptions, cancelWithParent).catch(
      (error: unknown) => {
        // The tenant's limit: answered 409 TENANT_QUOTA_EXCEEDED (service.ts), the transaction rolled back.
        if (error instanceof TenantQuotaExceededError) throw spawnQuotaError(error, job.tenantId, request.step, request.jobType);
        return refusal(error, 'options');
      },
    );
    return { jobId: request.jobId, state: 'HELD' as const, childJobId };
  });
}

/** ctx.stream(name).write(chunk) for each chunk, in order: all stored, or (a bound passed) none. */
export async function remoteStream(
  deps: ContextDeps,
  workerId: string,
  request: {
    jobId: string;
    chunks: ReadonlyArray<{ stream: string; chunk: unknown }>;
  },
): Promise<Lost | { jobId: string; state: 'HELD'; written: number }> {
  return withHeldJob(deps.pool, workerId, request.jobId, async (client) => {
    const streams = new JobStreams(client, request.jobId, async () => true);
    const writes = await Promise.allSettled(request.chunks.map((item) => streams.stream(item.stream).write(item.chunk)));
    await streams.flush();
    const refused = writes.findIndex((write) => write.status === 'rejected');
    if (refused >= 0) {
      const reason = (writes[refused] as PromiseRejectedResult).reason as unknown;
      // Thrown out of the transaction: what this call wrote is rolled back.
      if (reason instanceof JobStreamLimitError)
        throw new ContextRefusal(`chunks.${refused}.chunk`, `${reason.message} (${reason.limit}); nothing of this call was stored`);
      throw reason;
    }
    return {
      jobId: request.jobId,
      state: 'HELD' as const,
      written: request.chunks.length,
    };
  });
}

/** ctx.log.info/warn/error for each line, stored as one batch of the job's log (bounded per job as in-process lines are). */
export async function remoteLog(
  deps: ContextDeps,
  workerId: string,
  request: {
    jobId: string;
    lines: ReadonlyArray<{
      level: 'INFO' | 'WARN' | 'ERROR';
      message: string;
      fields: Record<string, unknown>;
    }>;
  },
): Promise<Lost | { jobId: string; state: 'HELD' }> {
  return withHeldJob(deps.pool, workerId, request.jobId, async (client, job) => {
    const logger = deps.logger.child({ jobId: request.jobId, workerId });
    const log = new JobLogs(
      client,
      request.jobId,
      job.retryCount + 1,
      () => logger,
      async () => true,
    );
    for (const line of request.lines) log[line.level === 'INFO' ? 'info' : line.level === 'WARN' ? 'warn' : 'error'](line.message, line.fields);
    await log.flush();
    // JobLogs keeps a failed insert out of the handler's way (logged, not thrown); here it would leave the transaction aborted and the answer a lie.
    await client.query('select 1');
    return { jobId: request.jobId, state: 'HELD' as const };
  });
}

/** ctx.addTags: appended to the job's tags, duplicates dropped, within the bound (a refusal adds none). */
export async function remoteAddTags(
  deps: ContextDeps,
  workerId: string,
  request: { jobId: string; tags: readonly string[] },
): Promise<Lost | { jobId: string; state: 'HELD'; tags: string[] }> {
  return withHeldJob(deps.pool, workerId, request.jobId, async (client) => {
    await addJobTags(client, request.jobId, request.tags).catch((error: unknown) => refusal(error, 'tags'));
    const { rows } = await client.query<{ tags: string[] }>(`select tags from job where id = $1`, [request.jobId]);
    return {
      jobId: request.jobId,
      state: 'HELD' as const,
      tags: rows[0]!.tags,
    };
  });
}
