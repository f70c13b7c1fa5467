// Bulk cancel and retry: every job of the caller's tenant a filter selects, up to a bound, goes
// through the same single-job transition (job-state/cancel.ts, retry.ts), so each job's
// history records it exactly as a single cancel or retry would. Jobs change
// in batches of one transaction each (one commit per batch, not per job), and
// each job in its own savepoint, so one job that cannot change does not hold
// back the others.
import type pg from 'pg';
import { visibleTenant } from '../auth/principal.ts';
import { tenantCondition } from '../auth/tenant-scope.ts';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { cancelJobInTransaction } from '../job-state/cancel.ts';
import { retryJobInTransaction } from '../job-state/retry.ts';
import { ACTIVE_STATUSES, JobStatus, RETRIABLE_STATUSES } from '../job-state/statuses.ts';
import type { Caller } from './create.ts';
import { JobwireError, tenantQuotaErrorOf, ValidationError } from '../core/errors.ts';
import type { JobKind } from '../generated/prisma/enums.ts';
import { likeContains } from './search.ts';

export type BulkJobAction = 'cancel' | 'retry';

/** Which jobs a bulk action (or a count) selects; every field narrows, none means all. */
export interface JobSelection {
  statuses?: readonly JobStatus[] | null;
  kinds?: readonly JobKind[] | null;
  queueNames?: readonly string[] | null;
  jobTypes?: readonly string[] | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  /** Only jobs created by these principals (job.created_by). */
  createdBy?: readonly string[] | null;
  /** Only these tenants' jobs; narrows what the caller may see (an admin's), never widens it. */
  tenantIds?: readonly string[] | null;
  /** Search (src/jobs/search.ts): every one of these tags, metadata / payload containment, text in the error. */
  tags?: readonly string[] | null;
  metadataContains?: Record<string, unknown> | null;
  payloadContains?: Record<string, unknown> | null;
  errorContains?: string | null;
  /** Not jobs of these types. */
  excludeJobTypes?: readonly string[] | null;
}

/** The statuses each action applies to: cancel stops queued or running jobs, retry restarts finished ones that did not complete. */
export const BULK_ACTION_STATUSES: Record<BulkJobAction, readonly JobStatus[]> = {
  cancel: ACTIVE_STATUSES,
  retry: RETRIABLE_STATUSES,
};

export interface BulkJobSkip {
  readonly jobId: string;
  /** Why this job did not change (e.g. it finished meanwhile, or a kind's constraint refused it). */
  readonly message: string;
}

export interface BulkJobOutcome {
  /** Jobs the action changed (for cancel: cancelled, or asked to stop while running). */
  readonly affectedJobIds: string[];
  /** Jobs selected that did not change, each with the reason. */
  readonly skipped: BulkJobSkip[];
  /** More jobs matched than `limit`: the oldest `limit` were taken; run again for the rest. */
  readonly moreMatching: boolean;
}

export interface BulkJobOptions {
  /** Most jobs to act on (oldest first). Default and upper bound: `max`. */
  limit?: number | null;
  /** The configured bound (BULK_JOBS_MAX). */
  max: number;
}

/**
 * The statuses an action will select: those of the filter it applies to, or
 * all it applies to. Refuses a filter that names only statuses it cannot apply to.
 */
function targetStatuses(action: BulkJobAction, selection: JobSelection): JobStatus[] {
  const applicable = BULK_ACTION_STATUSES[action];
  if (!selection.statuses?.length) return [...applicable];
  const wrong = selection.statuses.filter((status) => !applicable.includes(status));
  if (wrong.length) {
    throw new ValidationError(
      'filter.statuses',
      `${action} applies to ${applicable.join(', ')} jobs only; ${wrong.join(', ')} jobs cannot be ${action === 'cancel' ? 'cancelled' : 'retried'}`,
    );
  }
  return [...new Set(selection.statuses)];
}

/**
 * One statement for the selection, within the caller's tenant (admin: every
 * tenant); parameters are typed so the status and list indexes apply.
 */
function selectionSql(caller: Caller, action: BulkJobAction, selection: JobSelection) {
  const params = [
    targetStatuses(action, selection),
    selection.kinds?.length ? selection.kinds : null,
    selection.queueNames?.length ? selection.queueNames : null,
    selection.jobTypes?.length ? selection.jobTypes : null,
    selection.createdAfter ?? null,
    selection.createdBefore ?? null,
    visibleTenant(caller),
    selection.tenantIds?.length ? selection.tenantIds : null,
    selection.createdBy?.length ? selection.createdBy : null,
    selection.tags?.length ? selection.tags : null,
    selection.metadataContains ? JSON.stringify(selection.metadataContains) : null,
    selection.payloadContains ? JSON.stringify(selection.payloadContains) : null,
    selection.errorContains ? likeContains(selection.errorContains) : null,
    selection.excludeJobTypes?.length ? selection.excludeJobTypes : null,
  ];
  const where = `status = any($1::job_status[])
     and ($2::job_kind[] is null or kind = any($2))
     and ($3::text[] is null or queue_name = any($3))
     and ($4::text[] is null or job_type = any($4))
     and ($5::timestamptz is null or created_at >= $5)
     and ($6::timestamptz is null or created_at < $6)
     and ${tenantCondition('job', 7)}
     and ($8::text[] is null or tenant_id = any($8))
     and ($9::text[] is null or created_by = any($9))
     and ($10::text[] is null or tags @> $10)
     and ($11::jsonb is null or metadata @> $11)
     and ($12::jsonb is null or payload @> $12)
     and ($13::text is null or error_message ilike $13)
     and ($14::text[] is null or job_type <> all($14))`;
  return { where, params };
}

/**
 * How many jobs a bulk action over this selection would take now, among the
 * caller's tenant's jobs (at most `max` + 1, to keep the count cheap).
 */
export async function countBulkTargets(
  db: Queryable,
  caller: Caller,
  action: BulkJobAction,
  selection: JobSelection,
  max: number,
): Promise<{ count: number; moreThanMax: boolean }> {
  const { where, params } = selectionSql(caller, action, selection);
  const result = await db.query<{ count: string }>(
    `select count(*) as count from (select 1 from job where ${where} limit $${params.length + 1}) as selected`,
    [...params, max + 1],
  );
  const count = Number(result.rows[0]!.count);
  return { count: Math.min(count, max), moreThanMax: count > max };
}

function resolveLimit(options: BulkJobOptions): number {
  const limit = options.limit ?? options.max;
  if (!Number.isInteger(limit) || limit < 1 || limit > options.max) {
    throw new ValidationError('limit', `must be between 1 and ${options.max} (BULK_JOBS_MAX), got ${limit}`);
  }
  return limit;
}

/**
 * Applies cancel or retry to the jobs a selection matches among the caller's
 * tenant's jobs (admin: every tenant's), oldest first, up to the limit,
 * through the single-job operation, which checks the tenant again as it locks
 * each job (job-state's lockJob). A job that cannot change (it
 * finished meanwhile, a constraint refuses it) is reported in `skipped`, the
 * others go ahead. A batch is all or nothing only on unexpected errors (the
 * database going away): batches committed before stay committed.
 */
export async function bulkJobAction(
  pool: pg.Pool,
  caller: Caller,
  action: BulkJobAction,
  selection: JobSelection,
  options: BulkJobOptions,
): Promise<BulkJobOutcome> {
  const limit = resolveLimit(options);
  const { where, params } = selectionSql(caller, action, selection);
  const selected = await pool.query<{ id: string }>(
    `select id from job where ${where} order by created_at, id limit $${params.length + 1}`,
    [...params, limit + 1],
  );
  const ids = selected.rows.map((row) => row.id);
  const moreMatching = ids.length > limit;
  const outcome: BulkJobOutcome = { affectedJobIds: [], skipped: [], moreMatching };
  const targets = ids.slice(0, limit);
  for (let start = 0; start < targets.length; start += BULK_BATCH_SIZE) {
    const batch = await withTransaction(pool, (client) => applyToBatch(client, caller, action, targets.slice(start, start + BULK_BATCH_SIZE)));
    outcome.affectedJobIds.push(...batch.affectedJobIds);
    outcome.skipped.push(...batch.skipped);
  }
  return outcome;
}

/** Jobs changed per transaction: a commit waits for the disk, so 1,000 single-job commits took seconds. */
const BULK_BATCH_SIZE = 100;

async function applyToBatch(client: pg.PoolClient, caller: Caller, action: BulkJobAction, jobIds: readonly string[]) {
  const affectedJobIds: string[] = [];
  const skipped: BulkJobSkip[] = [];
  for (const jobId of jobIds) {
    await client.query('savepoint bulk_job');
    try {
      if (action === 'cancel') {
        const result = await cancelJobInTransaction(client, caller, jobId);
        if (result === 'already_cancelled') skipped.push({ jobId, message: 'already cancelled' });
        else affectedJobIds.push(jobId);
      } else {
        // A job active again meanwhile throws JobStillActiveError: skipped below with its message.
        await retryJobInTransaction(client, caller, jobId);
        affectedJobIds.push(jobId);
      }
      await client.query('release savepoint bulk_job');
    } catch (thrown) {
      // Expected refusals (finished meanwhile, purged, a kind's constraint, the tenant's maxQueuedJobs) are this job's alone.
      const error = tenantQuotaErrorOf(thrown) ?? thrown;
      if (!(error instanceof JobwireError)) throw error;
      await client.query('rollback to savepoint bulk_job');
      skipped.push({ jobId, message: error.message });
    }
  }
  return { affectedJobIds, skipped };
}
