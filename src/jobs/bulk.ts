// Bulk cancel and retry: every job a filter selects, up to a bound, goes
// through the same single-job operation (job-state/cancel.ts, job-state/retry.ts) in its own
// transaction, so each job's history records it exactly as a single cancel or
// retry would, and one job that cannot change does not hold back the others.
// A caller selects only its tenant's jobs (admin: every tenant's).
import type pg from 'pg';
import { visibleTenant, type Principal } from '../auth/principal.ts';
import { tenantCondition } from '../auth/tenant-scope.ts';
import type { Queryable } from '../db/pool.ts';
import { cancelJob } from '../job-state/cancel.ts';
import type { Caller } from './create.ts';
import { JobwireError, ValidationError } from './errors.ts';
import { retryJob } from '../job-state/retry.ts';
import { ACTIVE_STATUSES, JobStatus, RETRIABLE_STATUSES } from '../job-state/statuses.ts';
import type { JobKind } from '../generated/prisma/enums.ts';

export type BulkJobAction = 'cancel' | 'retry';

/** Which jobs a bulk action (or a count) selects; every field narrows, none means all. */
export interface JobSelection {
  statuses?: readonly JobStatus[] | null;
  kinds?: readonly JobKind[] | null;
  queueNames?: readonly string[] | null;
  jobTypes?: readonly string[] | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  /** Only these tenants' jobs; narrows what the caller may see (an admin's), never widens it. */
  tenantIds?: readonly string[] | null;
}

/** The statuses each action applies to: cancel stops queued or running jobs, retry restarts finished ones that did not complete. */
export const BULK_ACTION_STATUSES: Record<BulkJobAction, readonly JobStatus[]> = {
  cancel: ACTIVE_STATUSES,
  retry: RETRIABLE_STATUSES,
};

export interface BulkJobSkip {
  jobId: string;
  /** Why this job did not change (e.g. it finished meanwhile, or a kind's constraint refused it). */
  message: string;
}

export interface BulkJobOutcome {
  /** Jobs the action changed (for cancel: cancelled, or asked to stop while running). */
  affectedJobIds: string[];
  /** Jobs selected that did not change, each with the reason. */
  skipped: BulkJobSkip[];
  /** More jobs matched than `limit`: the oldest `limit` were taken; run again for the rest. */
  moreMatching: boolean;
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
 * One statement for the selection, within the caller's tenant (every tenant for
 * admin); parameters are typed so the status and list indexes apply.
 */
function selectionSql(caller: Principal, action: BulkJobAction, selection: JobSelection) {
  const params = [
    targetStatuses(action, selection),
    selection.kinds?.length ? selection.kinds : null,
    selection.queueNames?.length ? selection.queueNames : null,
    selection.jobTypes?.length ? selection.jobTypes : null,
    selection.createdAfter ?? null,
    selection.createdBefore ?? null,
    visibleTenant(caller),
    selection.tenantIds?.length ? selection.tenantIds : null,
  ];
  const where = `status = any($1::job_status[])
     and ($2::job_kind[] is null or kind = any($2))
     and ($3::text[] is null or queue_name = any($3))
     and ($4::text[] is null or job_type = any($4))
     and ($5::timestamptz is null or created_at >= $5)
     and ($6::timestamptz is null or created_at < $6)
     and ${tenantCondition('j', 7)}
     and ($8::text[] is null or tenant_id = any($8))`;
  return { where, params };
}

/** How many of the caller's jobs a bulk action over this selection would take now (at most `max` + 1, to keep the count cheap). */
export async function countBulkTargets(
  db: Queryable,
  caller: Principal,
  action: BulkJobAction,
  selection: JobSelection,
  max: number,
): Promise<{ count: number; moreThanMax: boolean }> {
  const { where, params } = selectionSql(caller, action, selection);
  const result = await db.query<{ count: string }>(
    `select count(*) as count from (select 1 from job j where ${where} limit $9) as selected`,
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
 * Applies cancel or retry to the caller's jobs a selection matches, oldest first, up to
 * the limit. Each job changes in its own transaction through the single-job
 * operation; a job that cannot change (it finished meanwhile, a constraint
 * refuses it) is reported in `skipped`, the others go ahead.
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
    `select id from job j where ${where} order by created_at, id limit $9`,
    [...params, limit + 1],
  );
  const ids = selected.rows.map((row) => row.id);
  const moreMatching = ids.length > limit;
  const outcome: BulkJobOutcome = { affectedJobIds: [], skipped: [], moreMatching };
  for (const jobId of ids.slice(0, limit)) {
    try {
      if (action === 'cancel') {
        const result = await cancelJob(pool, caller, jobId);
        if (result === 'already_cancelled') outcome.skipped.push({ jobId, message: 'already cancelled' });
        else outcome.affectedJobIds.push(jobId);
      } else {
        const result = await retryJob(pool, caller, jobId);
        if (result === 'already_active') outcome.skipped.push({ jobId, message: 'already queued or running' });
        else outcome.affectedJobIds.push(jobId);
      }
    } catch (error) {
      // Expected refusals (finished meanwhile, purged, a kind's constraint) are this job's alone.
      if (!(error instanceof JobwireError)) throw error;
      outcome.skipped.push({ jobId, message: error.message });
    }
  }
  return outcome;
}
