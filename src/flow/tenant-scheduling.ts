// The operator's settings of how workers share queues between tenants
// (docs/fairness.md), in tenant_scheduling: a weight (the tenant's share of the
// starts while several tenants have due jobs in a queue) and a running-job
// limit. Only the operator CLI writes them (`jobwire tenants set-scheduling`):
// no API surface does, so a tenant cannot raise its own share.
import type { Queryable } from '../db/pool.ts';

export const WEIGHT_MIN = 1;
export const WEIGHT_MAX = 100;

export interface TenantScheduling {
  tenantId: string;
  weight: number;
  /** null: no limit. */
  maxRunningJobs: number | null;
  updatedAt: Date;
}

export interface TenantSchedulingChange {
  weight?: number;
  /** null removes the limit. */
  maxRunningJobs?: number | null;
}

/** A bad setting: the message names the setting and the value. */
export class TenantSchedulingError extends Error {}

function validate(tenantId: string, change: TenantSchedulingChange) {
  if (tenantId.trim() === '') throw new TenantSchedulingError('tenant: must not be empty');
  if (change.weight === undefined && change.maxRunningJobs === undefined) {
    throw new TenantSchedulingError('nothing to set: give a weight, a running-job limit, or both');
  }
  if (change.weight !== undefined && !(Number.isInteger(change.weight) && change.weight >= WEIGHT_MIN && change.weight <= WEIGHT_MAX)) {
    throw new TenantSchedulingError(`weight: must be an integer from ${WEIGHT_MIN} to ${WEIGHT_MAX}, not ${change.weight}`);
  }
  if (change.maxRunningJobs != null && !(Number.isInteger(change.maxRunningJobs) && change.maxRunningJobs >= 1)) {
    throw new TenantSchedulingError(`maxRunningJobs: must be an integer of at least 1 (or none), not ${change.maxRunningJobs}`);
  }
}

const COLUMNS = `tenant_id as "tenantId", weight, max_running_jobs as "maxRunningJobs", updated_at as "updatedAt"`;

/**
 * Sets a tenant's weight and/or running-job limit (what is not given is kept;
 * a new row starts at weight 1, no limit). The jobs that wait for the limit
 * are looked at again at once, so a raised or removed limit lets them start.
 */
export async function setTenantScheduling(db: Queryable, tenantId: string, change: TenantSchedulingChange): Promise<TenantScheduling> {
  validate(tenantId, change);
  const { rows } = await db.query<TenantScheduling>(
    `with saved as (
       insert into tenant_scheduling as s (tenant_id, weight, max_running_jobs)
       values ($1, coalesce($2::int, 1), case when $3::boolean then $4::int end)
       on conflict (tenant_id) do update
         set weight = coalesce($2::int, s.weight),
             max_running_jobs = case when $3::boolean then $4::int else s.max_running_jobs end,
             updated_at = now()
       returning ${COLUMNS}
     ), woken as (
       update graphile_worker._private_jobs as entry set run_at = now()
         from job
        where job.tenant_id = $1 and job.waiting_reason = 'TENANT_RUNNING_LIMIT'
          and job.status in ('PENDING', 'SCHEDULED', 'RETRYING')
          and entry.id = job.queue_entry_id and entry.locked_at is null and entry.run_at > now()
       returning 1
     )
     select saved.*, (select count(*) from woken) as woken, pg_notify('jobs:insert', '') from saved`,
    [tenantId, change.weight ?? null, change.maxRunningJobs !== undefined, change.maxRunningJobs ?? null],
  );
  const { tenantId: id, weight, maxRunningJobs, updatedAt } = rows[0]!;
  return { tenantId: id, weight, maxRunningJobs, updatedAt };
}

/** Every tenant's settings, by tenant; or one tenant's (an empty list when it has none). */
export async function listTenantScheduling(db: Queryable, tenantId?: string): Promise<TenantScheduling[]> {
  const { rows } = await db.query<TenantScheduling>(
    `select ${COLUMNS} from tenant_scheduling where $1::text is null or tenant_id = $1 order by tenant_id`,
    [tenantId ?? null],
  );
  return rows;
}

/** Removes a tenant's settings (back to weight 1, no limit); false when it had none. */
export async function clearTenantScheduling(db: Queryable, tenantId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `with removed as (delete from tenant_scheduling where tenant_id = $1 returning tenant_id),
          woken as (
            update graphile_worker._private_jobs as entry set run_at = now()
              from job, removed
             where job.tenant_id = removed.tenant_id and job.waiting_reason = 'TENANT_RUNNING_LIMIT'
               and job.status in ('PENDING', 'SCHEDULED', 'RETRYING')
               and entry.id = job.queue_entry_id and entry.locked_at is null and entry.run_at > now()
            returning 1)
     select pg_notify('jobs:insert', '') from removed`,
    [tenantId],
  );
  return rowCount === 1;
}
