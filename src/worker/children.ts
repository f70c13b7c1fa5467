// Child jobs in the job context (docs/workflows.md#child-jobs).
//
// spawn is a durable step: the child (add_job, the SQL create path: the
// registry's payload schema, routing and flow options) and the step
// COMPLETED with its id are written in one transaction, so a retry of the
// parent finds the step and answers the same child without creating another.
//
// waitForChildren is a durable wait (reason CHILDREN, worker/waits.ts). The
// wake is the database's (migration 000041): the transaction that finishes
// the last child (ALL) or the first (ANY) deletes the parent's job_wait row
// and completes the wait's step with the children's outcomes.
import type pg from 'pg';
import type { JobAbort } from '../core/job-abort.ts';
import type { ChildOutcome, ChildrenWaitResult, JobChildrenContext, SpawnOptions, WaitForChildrenOptions } from '../core/handler.ts';
import { TenantQuotaExceededError, tenantQuotaErrorOf, ValidationError } from '../core/errors.ts';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { findStep, finishStep, startStep } from '../job-state/steps.ts';
import { timeoutOf, type ManagedWaits } from './waits.ts';
import { activeTrace } from '../tracing/trace-context.ts';

/** The most children one wait may name. */
const WAIT_CHILDREN_MAX = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INVALID_PARAMETER_VALUE = '22023';

export interface ChildrenOptions {
  pool: pg.Pool;
  jobId: string;
  abort: JobAbort;
  ensureRunning(): Promise<boolean>;
  waits: ManagedWaits;
}

export function createChildren(options: ChildrenOptions): JobChildrenContext {
  const { pool, jobId, abort, ensureRunning, waits } = options;
  let spawned = 0;

  return {
    async spawn(jobType, payload = {}, spawnOptions: SpawnOptions = {}) {
      const { step, cancelWithParent, ...addJobOptions } = spawnOptions;
      spawned += 1;
      const stepName = step ?? `spawn:${spawned}`;
      if (typeof stepName !== 'string' || stepName.length < 1 || stepName.length > 100) {
        throw new RangeError(`spawn: step must be 1-100 characters, got ${JSON.stringify(stepName)}`);
      }
      if ('tenantId' in addJobOptions || 'parentJobId' in addJobOptions) {
        throw new ValidationError('options', 'spawn: tenantId and parentJobId are the parent job\'s and cannot be given');
      }
      abort.signal.throwIfAborted();
      await ensureRunning();
      abort.signal.throwIfAborted();
      return withTransaction(pool, (client) => spawnChild(client, jobId, stepName, jobType, payload, addJobOptions, cancelWithParent)).catch(
        async (error: unknown) => {
          if (!(error instanceof TenantQuotaExceededError)) throw error;
          // Read after the rollback, on the refusal only: a spawn that fits pays nothing for it.
          const { rows } = await pool.query<{ tenantId: string }>(`select tenant_id as "tenantId" from job where id = $1`, [jobId]);
          throw spawnQuotaError(error, rows[0]?.tenantId ?? null, stepName, jobType);
        },
      );
    },

    waitForChildren: (async (ids: readonly string[], waitOptions: WaitForChildrenOptions = {}) => {
      const mode = waitOptions.mode ?? 'ALL';
      if (mode !== 'ALL' && mode !== 'ANY') throw new RangeError(`waitForChildren: mode must be ALL or ANY, got ${String(mode)}`);
      if (!Array.isArray(ids) || ids.length < 1 || ids.length > WAIT_CHILDREN_MAX || !ids.every((id) => typeof id === 'string' && UUID.test(id))) {
        throw new RangeError(`waitForChildren: ids must be 1-${WAIT_CHILDREN_MAX} job ids (as spawn answers them)`);
      }
      // With a timeout the answer says how the wait ended (ChildrenWaitResult); without, it is the children's outcomes as before.
      const timed = waitOptions.timeoutMs !== undefined;
      const timeout = timeoutOf('waitForChildren', waitOptions.timeoutMs);
      const answer = (result: { outcome?: 'TIMED_OUT'; children: ChildOutcome[] }): ChildOutcome[] | ChildrenWaitResult =>
        timed ? { outcome: result.outcome === 'TIMED_OUT' ? 'TIMED_OUT' : 'FINISHED', children: result.children } : result.children;
      const stepName = waits.stepNameOf(waitOptions.step, 'children');
      abort.signal.throwIfAborted();
      await ensureRunning();
      const step = await findStep(pool, jobId, stepName);
      if (step?.status !== 'COMPLETED') {
        const { rows } = await pool.query<{ id: string }>(`select id from unnest($1::uuid[]) as ids(id) where not exists (select from job where job.id = ids.id and parent_job_id = $2)`, [ids, jobId]);
        if (rows.length > 0) throw new RangeError(`waitForChildren: ${rows[0]!.id} is not a child of this job`);
        // Over already: the step completes now, without waiting.
        const over = await withTransaction(pool, async (client) => {
          const outcome = await client.query<{ outcome: { children: ChildOutcome[] } | null }>(`select job_children_outcome($1::uuid[], $2) as outcome`, [ids, mode]);
          const result = outcome.rows[0]!.outcome;
          if (!result || step?.status === 'RUNNING') return null;
          const stepId = await startStep(client, jobId, stepName, step);
          await finishStep(client, stepId, 'COMPLETED', result, null);
          return result;
        });
        if (over) return answer(over);
      }
      const result = await waits.wait<{ outcome?: 'TIMED_OUT'; children: ChildOutcome[] }>(
        { stepName, reason: 'CHILDREN', childJobIds: ids, childrenMode: mode, ...timeout },
        (client) => childrenAtTimeout(client, ids, mode),
      );
      return answer(result);
    }) as JobChildrenContext['waitForChildren'],
  };
}

/**
 * The wait's result when its timeout passed (in the transaction that ended the
 * wait): the children's outcome if the wait is over after all (the last child
 * finished while the parent was being taken to run, when no wake is sent),
 * otherwise TIMED_OUT with each child's status of this moment.
 */
async function childrenAtTimeout(client: Queryable, ids: readonly string[], mode: 'ALL' | 'ANY'): Promise<Record<string, unknown>> {
  const { rows } = await client.query<{ over: { children: ChildOutcome[] } | null; children: ChildOutcome[] }>(
    `select job_children_outcome($1::uuid[], $2) as over,
            (select jsonb_agg(jsonb_build_object('id', ids.id, 'status', job.status, 'result', job.result, 'error', job.error) order by ids.position)
               from unnest($1::uuid[]) with ordinality as ids(id, position) left join job on job.id = ids.id) as children`,
    [ids, mode],
  );
  return rows[0]!.over ?? { outcome: 'TIMED_OUT', children: rows[0]!.children };
}

/**
 * A spawn the tenant's quota refused (docs/quotas.md), as the handler sees it:
 * the limit, its value, the tenant, and a message naming them and the spawn.
 * Not a ValidationError: the same spawn may fit later (the attempt fails and
 * is retried as any failure is).
 */
export function spawnQuotaError(error: TenantQuotaExceededError, tenantId: string | null, stepName: string, jobType: string): TenantQuotaExceededError {
  const tenant = tenantId === null ? '' : ` for tenant ${JSON.stringify(tenantId)}`;
  return new TenantQuotaExceededError(
    error.limit,
    error.value,
    error.current,
    error.requested,
    `spawn of ${jobType} (step ${stepName}) refused${tenant}: ${error.message}`,
    tenantId,
  );
}

/**
 * The spawn step in the caller's transaction (ctx.spawn above; a remote
 * worker's spawn, remote-workers/context.ts, with its lease check): the
 * step's child if it completed already, otherwise a new child and the step.
 */
export async function spawnChild(
  client: Queryable,
  jobId: string,
  stepName: string,
  jobType: string,
  payload: Record<string, unknown>,
  addJobOptions: Omit<SpawnOptions, 'step' | 'cancelWithParent'>,
  cancelWithParent: boolean | undefined,
): Promise<string> {
  const existing = await findStep(client, jobId, stepName);
  if (existing?.status === 'COMPLETED') return String(existing.result?.childJobId);
  const { rows } = await client.query<{ id: string }>(
    `select add_job($1, $2::jsonb, $3::jsonb || jsonb_build_object('tenantId', (select tenant_id from job where id = $4), 'parentJobId', $4::text)) as id`,
    [jobType, JSON.stringify(payload), JSON.stringify(addJobOptions), jobId],
  ).catch((error: unknown) => {
    const e = error as { code?: string; column?: string; message?: string };
    if (e.code === INVALID_PARAMETER_VALUE) throw new ValidationError(e.column ?? 'spawn', (e.message ?? '').replace(/^[^:]*: /, ''));
    // The tenant's limit (JW010): typed, so the caller can name the tenant (spawnQuotaError) and the handler can catch it.
    throw tenantQuotaErrorOf(error) ?? error;
  });
  const childJobId = rows[0]!.id;
  // Who made it: this job (add_job writes its SQL caller); its trace: the active span's, this attempt's or step's (docs/tracing.md).
  const traced = activeTrace();
  await client.query(`update job set created_by = $2, cancel_with_parent = $3, traceparent = $4, tracestate = $5 where id = $1`, [
    childJobId,
    `job:${jobId}`,
    cancelWithParent ?? true,
    traced.traceparent,
    traced.tracestate,
  ]);
  const stepId = await startStep(client, jobId, stepName, existing);
  await finishStep(client, stepId, 'COMPLETED', { childJobId }, null);
  return childJobId;
}
