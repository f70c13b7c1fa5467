// Per-tenant limits set by the operator (docs/quotas.md): reading and setting
// a tenant's tenant_quota row, its usage, and the checks a schedule gets in
// TypeScript (its shortest cron interval, its template's priority). The queued
// jobs, schedule count and job priority are checked by the database on insert
// (migration "quota": tenant_quota_check_*), so that every path that makes a
// job or a schedule obeys them, add_job in an app's transaction included.
import type { Cron } from 'croner';
import { TenantQuotaExceededError } from '../core/errors.ts';
import type { Queryable } from '../db/pool.ts';
import { QUEUED_STATUSES } from '../job-state/statuses.ts';

/** A tenant's limits; null is no limit. */
export interface TenantQuotaLimits {
  maxQueuedJobs: number | null;
  maxSchedules: number | null;
  minCronIntervalSeconds: number | null;
  minPriority: number | null;
  maxPriority: number | null;
}

/** A tenant's limits with what it uses of them now. */
export interface TenantQuota extends TenantQuotaLimits {
  tenantId: string;
  /** Its jobs PENDING, SCHEDULED or RETRYING (waiting ones included): what maxQueuedJobs bounds. */
  queuedJobCount: number;
  /** Its schedules, paused ones included: what maxSchedules bounds. */
  scheduleCount: number;
}

export const NO_LIMITS: TenantQuotaLimits = { maxQueuedJobs: null, maxSchedules: null, minCronIntervalSeconds: null, minPriority: null, maxPriority: null };

const LIMIT_COLUMNS = `max_queued_jobs as "maxQueuedJobs", max_schedules as "maxSchedules",
  min_cron_interval_seconds as "minCronIntervalSeconds", min_priority as "minPriority", max_priority as "maxPriority"`;

/** The tenant's limits (none without a row). */
export async function tenantQuotaLimits(db: Queryable, tenantId: string): Promise<TenantQuotaLimits> {
  const { rows } = await db.query<TenantQuotaLimits>(`select ${LIMIT_COLUMNS} from tenant_quota where tenant_id = $1`, [tenantId]);
  return rows[0] ?? NO_LIMITS;
}

/** The tenant's limits and usage, in one statement (the statuses written out: the partial index job_tenant_queued_idx then applies). */
export async function tenantQuota(db: Queryable, tenantId: string): Promise<TenantQuota> {
  const { rows } = await db.query<{ limits: TenantQuotaLimits | null; queuedJobCount: string; scheduleCount: string }>(
    `select (select row_to_json(q) from (select ${LIMIT_COLUMNS} from tenant_quota where tenant_id = $1) q) as limits,
            (select count(*) from job where tenant_id = $1 and status in (${QUEUED_STATUSES.map((status) => `'${status}'`).join(', ')})) as "queuedJobCount",
            (select count(*) from schedule where tenant_id = $1) as "scheduleCount"`,
    [tenantId],
  );
  const row = rows[0]!;
  return { tenantId, ...(row.limits ?? NO_LIMITS), queuedJobCount: Number(row.queuedJobCount), scheduleCount: Number(row.scheduleCount) };
}

/** Every tenant with a tenant_quota row, with its usage (the operator's `tenants show`). */
export async function listTenantQuotas(db: Queryable): Promise<TenantQuota[]> {
  const { rows } = await db.query<{ tenantId: string }>('select tenant_id as "tenantId" from tenant_quota order by tenant_id');
  return Promise.all(rows.map((row) => tenantQuota(db, row.tenantId)));
}

/**
 * Sets some of a tenant's limits (a null one: no limit; one left out: as it
 * was) and answers them all. The database's constraints are the final word
 * (e.g. minPriority <= maxPriority); the operator's input is checked before.
 */
export async function setTenantQuota(db: Queryable, tenantId: string, changes: Partial<TenantQuotaLimits>): Promise<TenantQuotaLimits> {
  const columns = {
    maxQueuedJobs: 'max_queued_jobs',
    maxSchedules: 'max_schedules',
    minCronIntervalSeconds: 'min_cron_interval_seconds',
    minPriority: 'min_priority',
    maxPriority: 'max_priority',
  } as const;
  const given = (Object.keys(columns) as Array<keyof TenantQuotaLimits>).filter((name) => changes[name] !== undefined);
  const values = given.map((name) => changes[name] ?? null);
  const { rows } = await db.query<TenantQuotaLimits>(
    `insert into tenant_quota (tenant_id${given.map((name) => `, ${columns[name]}`).join('')})
     values ($1${given.map((_name, index) => `, $${index + 2}`).join('')})
     on conflict (tenant_id) do update set updated_at = now()${given.map((name) => `, ${columns[name]} = excluded.${columns[name]}`).join('')}
     returning ${LIMIT_COLUMNS}`,
    [tenantId, ...values],
  );
  return rows[0]!;
}

/** Deletes a tenant's limits (it has none then); answers whether it had a row. */
export async function clearTenantQuota(db: Queryable, tenantId: string): Promise<boolean> {
  const { rowCount } = await db.query('delete from tenant_quota where tenant_id = $1', [tenantId]);
  return (rowCount ?? 0) > 0;
}

/** Upcoming ticks looked at for a schedule's shortest interval. */
export const CRON_TICKS_CHECKED = 1000;

/**
 * The shortest gap, in seconds, between the schedule's next CRON_TICKS_CHECKED
 * ticks (in its time zone), stopping at the first gap below `stopBelow`; null
 * when it runs at most once more.
 */
export function shortestCronIntervalSeconds(cron: Cron, stopBelow = 0, from = new Date()): number | null {
  let shortest: number | null = null;
  let previous = cron.nextRun(from);
  for (let index = 1; previous && index < CRON_TICKS_CHECKED; index++) {
    const next = cron.nextRun(previous);
    if (!next) break;
    const gap = (next.getTime() - previous.getTime()) / 1000;
    if (shortest === null || gap < shortest) shortest = gap;
    if (shortest < stopBelow) break;
    previous = next;
  }
  return shortest;
}

/**
 * A schedule against its tenant's limits (the count of schedules is the
 * database's check, on insert): its cron's shortest interval, and its
 * template's priority, which each tick's job would be refused for.
 */
export async function assertScheduleWithinQuota(db: Queryable, tenantId: string, cron: Cron, priority: number): Promise<void> {
  const limits = await tenantQuotaLimits(db, tenantId);
  const least = limits.minCronIntervalSeconds;
  if (least !== null) {
    const shortest = shortestCronIntervalSeconds(cron, least);
    if (shortest !== null && shortest < least) {
      throw new TenantQuotaExceededError(
        'minCronIntervalSeconds',
        least,
        shortest,
        1,
        `tenant quota exceeded: minCronIntervalSeconds is ${least}; this schedule runs ${shortest} s apart`,
      );
    }
  }
  assertPriorityWithinQuota(limits, priority);
}

/** A priority against the tenant's range (as tenant_quota_check_priority refuses a job's). */
export function assertPriorityWithinQuota(limits: TenantQuotaLimits, priority: number): void {
  if (limits.minPriority !== null && priority < limits.minPriority) {
    throw new TenantQuotaExceededError('minPriority', limits.minPriority, priority, 1, `tenant quota exceeded: minPriority is ${limits.minPriority}; priority ${priority} is below it`);
  }
  if (limits.maxPriority !== null && priority > limits.maxPriority) {
    throw new TenantQuotaExceededError('maxPriority', limits.maxPriority, priority, 1, `tenant quota exceeded: maxPriority is ${limits.maxPriority}; priority ${priority} is above it`);
  }
}
