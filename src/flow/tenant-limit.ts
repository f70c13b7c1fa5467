// A tenant's running-job limit (tenant_scheduling.max_running_jobs, set by the
// operator: docs/fairness.md). A job of a limited tenant starts only under the
// tenant's transaction lock, counting the tenant's RUNNING jobs, and is written
// RUNNING before the lock goes (src/flow/gates.ts), so the count holds across
// any number of workers. A job over the limit waits (TENANT_RUNNING_LIMIT) and
// is woken when one of the tenant's running jobs ends (job_wake_tenant_waiters).
import type { Queryable } from '../db/pool.ts';

/** Whether the tenant runs as many jobs as its limit allows (false when it has no limit now). */
export async function tenantAtRunningLimit(client: Queryable, tenantId: string): Promise<boolean> {
  await client.query(`select pg_advisory_xact_lock(hashtextextended('jobwire.tenant-running:' || $1, 0))`, [tenantId]);
  // RUNNING jobs are few (bounded by the workers' slots): read through job_status_idx, filtered by tenant.
  const { rows } = await client.query<{ limit: number | null; running: number }>(
    `select s.max_running_jobs as "limit",
            (select count(*)::int from job where status = 'RUNNING' and tenant_id = $1) as running
       from tenant_scheduling as s where s.tenant_id = $1`,
    [tenantId],
  );
  const row = rows[0];
  return row?.limit != null && row.running >= row.limit;
}
