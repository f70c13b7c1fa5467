// The remote-worker protocol's operations (docs/remote-workers.md): who may
// call (the `worker` scope, its tenant), and each endpoint's answer. Job
// status is written by src/job-state/lease.ts only.
import type pg from 'pg';
import type { z } from 'zod';
import { hasScope, visibleTenant, type Principal } from '../auth/principal.ts';
import type { Config } from '../config.ts';
import { withTransaction } from '../db/pool.ts';
import {
  claimJobs,
  completeHeldJobs,
  extendHeldJobs,
  failHeldJob,
  recordHeldStep,
  releaseHeldJobs,
  type LeasedJob,
} from '../job-state/lease.ts';
import { TenantQuotaExceededError, ValidationError } from '../core/errors.ts';
import { parseInput } from '../core/validation.ts';
import { retryDelayMs } from '../worker/retry-policy.ts';
import type { Logger } from '../logger.ts';
import { ContextRefusal, remoteAddTags, remoteLog, remoteSpawn, remoteStream, remoteWait } from './context.ts';
import { registerServedJobTypes } from './job-types.ts';
import {
  addTagsRequest,
  claimRequest,
  completeRequest,
  extendRequest,
  failRequest,
  logRequest,
  registerRequest,
  spawnRequest,
  stepRequest,
  streamRequest,
  unregisterRequest,
  waitRequest,
} from './protocol.ts';
import { deleteWorker, registerWorker, renewLease, workerRowId, type RemoteWorker } from './workers.ts';
import { remoteAttemptSpans as spans } from './attempt-spans.ts';
import type { TraceCarrier } from '../tracing/trace-context.ts';

/** A refusal, answered with its HTTP status and code (http.ts). */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** More of the answer's `extensions` (a quota refusal's limit, value, …). */
    readonly extensions?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

export interface RemoteWorkerDeps {
  pool: pg.Pool;
  config: Pick<Config, 'JOB_RETRY_BASE_DELAY_MS' | 'JOB_RETRY_MAX_DELAY_MS'>;
  logger: Logger;
}

type Operation = (deps: RemoteWorkerDeps, principal: Principal, body: unknown) => Promise<unknown>;

/** The principal may speak the protocol: the `worker` scope (admin implies it). */
function authorize(principal: Principal): void {
  if (hasScope(principal, 'worker')) return;
  if (principal.scopes.size === 0) {
    throw new ProtocolError(401, 'UNAUTHENTICATED', 'the worker protocol needs a token (Authorization: Bearer <API key with the scope worker>)');
  }
  throw new ProtocolError(403, 'FORBIDDEN', `the worker protocol needs the scope worker; this key has ${[...principal.scopes].join(', ')}`);
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  try {
    return parseInput(schema, body);
  } catch (error) {
    const field = (error as { field?: string }).field ?? 'body';
    throw new ProtocolError(400, 'VALIDATION_FAILED', (error as Error).message, field);
  }
}

/** The caller's worker of this id: its tenant is the caller's (every tenant for admin). */
const rowIdOf = (principal: Principal, workerId: string) => workerRowId(visibleTenant(principal), workerId);

function notRegistered(workerId: string): ProtocolError {
  return new ProtocolError(
    404,
    'WORKER_NOT_REGISTERED',
    `worker ${workerId} is not registered, or its lease passed (the jobs it held were released); register it again`,
    'workerId',
  );
}

async function renew(deps: RemoteWorkerDeps, principal: Principal, workerId: string, leaseSeconds?: number): Promise<RemoteWorker> {
  const worker = await renewLease(deps.pool, rowIdOf(principal, workerId), leaseSeconds);
  if (!worker) throw notRegistered(workerId);
  return worker;
}

const lease = (worker: RemoteWorker) => ({ leaseSeconds: worker.leaseSeconds, leaseExpiresAt: worker.leaseExpiresAt.toISOString() });

function jobAnswer(job: LeasedJob, trace: TraceCarrier) {
  return {
    id: job.id,
    jobType: job.jobType,
    queueName: job.queueName,
    payload: job.payload,
    metadata: job.metadata,
    priority: job.priority,
    /** 1 on the first attempt. */
    attempt: job.retryCount + 1,
    retryCount: job.retryCount,
    maxRetries: job.maxRetries,
    timeoutMs: job.timeoutMs,
    parentJobId: job.parentJobId,
    createdAt: job.createdAt.toISOString(),
    steps: job.steps,
    /** W3C trace context of this attempt's span (the job's creator's when tracing is off): the worker's spans join it (docs/tracing.md). */
    traceparent: trace.traceparent,
    tracestate: trace.tracestate,
  };
}

/**
 * A context call the in-process code refused (its transaction rolled back:
 * nothing written): 400 naming the field, or 409 for the tenant's quota (the
 * same call may fit later), naming the limit as GraphQL's TenantQuotaExceededError does.
 */
const refused = <T>(answer: Promise<T>) =>
  answer.catch((error: unknown) => {
    if (error instanceof ContextRefusal) throw new ProtocolError(400, 'VALIDATION_FAILED', error.message, error.field);
    if (error instanceof TenantQuotaExceededError) {
      const { limit, value, current, requested, tenantId } = error;
      throw new ProtocolError(409, error.code, error.message, undefined, { limit, value, current, requested, tenantId });
    }
    throw error;
  });

const completionState = (states: ReadonlyMap<string, string>, jobId: string) => (states.get(jobId) === 'HELD' ? 'COMPLETED' : 'LOST');

/** Ends the attempt spans of jobs a worker reported complete (attempt-spans.ts). */
function endCompleted(rowId: string, states: ReadonlyMap<string, string>): void {
  for (const jobId of states.keys()) spans.ended(rowId, jobId, completionState(states, jobId));
}

export const OPERATIONS: Readonly<Record<string, Operation>> = {
  async register(deps, principal, body) {
    const request = parse(registerRequest, body);
    const tenantId = visibleTenant(principal);
    const worker = await withTransaction(deps.pool, async (client) => {
      const row = await registerWorker(client, {
        rowId: workerRowId(tenantId, request.workerId),
        tenantId,
        leaseSeconds: request.leaseSeconds,
        hostname: request.hostname,
        pid: request.pid,
      });
      await registerServedJobTypes(client, row.rowId, request.jobTypes, request.queueNames);
      return row;
    }).catch((error: unknown) => {
      if (error instanceof ValidationError) throw new ProtocolError(400, 'VALIDATION_FAILED', error.message, error.field);
      throw error;
    });
    return {
      workerId: request.workerId,
      workerRowId: worker.rowId,
      tenantId: worker.tenantId,
      jobTypes: request.jobTypes.map((type) => type.name),
      queueNames: request.queueNames,
      ...lease(worker),
    };
  },

  async claim(deps, principal, body) {
    const request = parse(claimRequest, body);
    // One transaction, one commit: the lease, the jobs finished, the next batch.
    const answer = await withTransaction(deps.pool, async (client) => {
      const worker = await renewLease(client, rowIdOf(principal, request.workerId), request.leaseSeconds);
      if (!worker) throw notRegistered(request.workerId);
      const registered = Object.keys(worker.served);
      const notServed = request.jobTypes?.findIndex((type) => !Object.hasOwn(worker.served, type)) ?? -1;
      if (notServed >= 0) {
        throw new ProtocolError(
          400,
          'VALIDATION_FAILED',
          `jobTypes.${notServed}: worker ${request.workerId} did not register ${request.jobTypes![notServed]}; it registered ${registered.sort().join(', ') || 'none'} (register again to change them)`,
          `jobTypes.${notServed}`,
        );
      }
      const completed = request.complete.length > 0 ? await completeHeldJobs(client, worker.rowId, request.complete) : null;
      const jobs = await claimJobs(client, {
        workerId: worker.rowId,
        tenantId: worker.tenantId,
        jobTypes: request.jobTypes ?? registered,
        limit: request.limit,
        markRunning: request.markRunning,
      });
      return { worker, completed, jobs };
    });
    if (answer.completed) endCompleted(answer.worker.rowId, answer.completed);
    return {
      ...lease(answer.worker),
      ...(answer.completed ? { completed: request.complete.map((job) => ({ jobId: job.jobId, state: completionState(answer.completed!, job.jobId) })) } : {}),
      jobs: answer.jobs.map((job) => jobAnswer(job, spans.claimed(answer.worker.rowId, job))),
    };
  },

  async extend(deps, principal, body) {
    const request = parse(extendRequest, body);
    const worker = await renew(deps, principal, request.workerId, request.leaseSeconds);
    const states =
      request.jobs.length === 0
        ? new Map()
        : await withTransaction(deps.pool, (client) =>
            extendHeldJobs(
              client,
              worker.rowId,
              request.jobs.map((job) => ({
                jobId: job.jobId,
                progress: job.progress ? { percent: job.progress.percent, message: job.progress.message ?? null } : null,
              })),
            ),
          );
    for (const [jobId, state] of states) {
      if (state === 'HELD') spans.heard(worker.rowId, jobId);
      else spans.ended(worker.rowId, jobId, state);
    }
    return { ...lease(worker), jobs: request.jobs.map((job) => ({ jobId: job.jobId, state: states.get(job.jobId) })) };
  },

  async complete(deps, principal, body) {
    const request = parse(completeRequest, body);
    const rowId = rowIdOf(principal, request.workerId);
    const states = await withTransaction(deps.pool, (client) => completeHeldJobs(client, rowId, request.jobs));
    endCompleted(rowId, states);
    return { jobs: request.jobs.map((job) => ({ jobId: job.jobId, state: completionState(states, job.jobId) })) };
  },

  async fail(deps, principal, body) {
    const request = parse(failRequest, body);
    const rowId = rowIdOf(principal, request.workerId);
    const outcome = await withTransaction(deps.pool, (client) =>
      failHeldJob(client, rowId, request.jobId, {
        error: { name: request.error.name, message: request.error.message, ...(request.error.data !== undefined ? { data: request.error.data } : {}) },
        retryable: request.retryable,
        ...(request.result ? { resultData: request.result } : {}),
        retryDelayMs: (retryCount) => retryDelayMs(retryCount, deps.config.JOB_RETRY_BASE_DELAY_MS, deps.config.JOB_RETRY_MAX_DELAY_MS),
      }),
    );
    spans.ended(rowId, request.jobId, outcome.state === 'LOST' ? 'LOST' : outcome.status, outcome.state === 'LOST' ? undefined : request.error);
    if (outcome.state === 'LOST') return { jobId: request.jobId, state: 'LOST' };
    return { jobId: request.jobId, state: outcome.status, ...('retryAt' in outcome ? { retryAt: outcome.retryAt.toISOString() } : {}) };
  },

  async step(deps, principal, body) {
    const request = parse(stepRequest, body);
    const rowId = rowIdOf(principal, request.workerId);
    const outcome = await withTransaction(deps.pool, (client) =>
      recordHeldStep(client, rowId, request.jobId, {
        name: request.name,
        status: request.status,
        result: request.result ?? null,
        errorMessage: request.status === 'FAILED' ? (request.errorMessage ?? 'step failed') : null,
      }),
    );
    if (outcome.state === 'LOST') {
      spans.ended(rowId, request.jobId, 'LOST');
      return { jobId: request.jobId, state: 'LOST' };
    }
    // A step done in an earlier attempt (stored) is not run again: no span.
    if (!outcome.stored) spans.step(rowId, request.jobId, request.name, request.status, request.errorMessage ?? null);
    return { jobId: request.jobId, state: 'HELD', stored: outcome.stored, step: outcome.step };
  },

  // The job context (remote-workers/context.ts): waits, child jobs, streams, logs, tags.
  wait: (deps, principal, body) => {
    const request = parse(waitRequest, body);
    return refused(remoteWait(deps, rowIdOf(principal, request.workerId), request));
  },
  spawn: (deps, principal, body) => {
    const request = parse(spawnRequest, body);
    return refused(remoteSpawn(deps, rowIdOf(principal, request.workerId), request));
  },
  stream: (deps, principal, body) => {
    const request = parse(streamRequest, body);
    return refused(remoteStream(deps, rowIdOf(principal, request.workerId), request));
  },
  log: (deps, principal, body) => {
    const request = parse(logRequest, body);
    return refused(remoteLog(deps, rowIdOf(principal, request.workerId), request));
  },
  addTags: (deps, principal, body) => {
    const request = parse(addTagsRequest, body);
    return refused(remoteAddTags(deps, rowIdOf(principal, request.workerId), request));
  },

  async unregister(deps, principal, body) {
    const request = parse(unregisterRequest, body);
    const rowId = rowIdOf(principal, request.workerId);
    const { requeued, deleted } = await withTransaction(deps.pool, async (client) => ({
      requeued: await releaseHeldJobs(client, rowId),
      deleted: await deleteWorker(client, rowId),
    }));
    for (const jobId of requeued) spans.ended(rowId, jobId, 'RELEASED');
    if (!deleted) throw notRegistered(request.workerId);
    return { workerId: request.workerId, requeuedJobIds: requeued };
  },
};

/** Runs one operation for an authenticated principal; ProtocolError for a refusal. */
export async function runOperation(deps: RemoteWorkerDeps, name: string, principal: Principal, body: unknown): Promise<unknown> {
  const operation = Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
  if (!operation) {
    throw new ProtocolError(404, 'NOT_FOUND', `no endpoint ${name}; the endpoints are ${Object.keys(OPERATIONS).map((op) => `POST /workers/v1/${op}`).join(', ')}`);
  }
  authorize(principal);
  return operation(deps, principal, body);
}
