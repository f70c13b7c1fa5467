// Remote workers' rows in `worker` (migration 000031): the heartbeat is the
// lease. A remote worker's row id names it as remote and carries its tenant
// (`remote:<tenant>:<workerId>`, `*` for an admin's worker, which serves every
// tenant), so two tenants' workers never share an id, nor a remote worker an
// in-process one's, and job.worker_id says whose worker runs a job.
import type { Queryable } from '../db/pool.ts';
import { REMOTE_WORKER_PREFIX } from '../worker/dead-workers.ts';

export interface RemoteWorker {
  /** The row id: job.worker_id and graphile-worker's locked_by of what it holds. */
  rowId: string;
  /** The tenant whose jobs it claims; null: every tenant. */
  tenantId: string | null;
  leaseSeconds: number;
  leaseExpiresAt: Date;
}

/** A renewed worker, with the job types it registered (worker_job_type) and their queues (null: every queue). */
export interface RenewedWorker extends RemoteWorker {
  served: Record<string, string[] | null>;
}

export const workerRowId = (tenantId: string | null, workerId: string) => `${REMOTE_WORKER_PREFIX}${tenantId ?? '*'}:${workerId}`;

/**
 * Starts a worker's session: its row written with a fresh lease. Whatever an
 * earlier session of the same id still held is released first, as a dead
 * worker's: the next claim takes those jobs over (one attempt spent), since
 * this session cannot know them.
 */
export async function registerWorker(
  db: Queryable,
  row: { rowId: string; tenantId: string | null; leaseSeconds: number; hostname: string; pid: number },
): Promise<RemoteWorker> {
  await db.query('select graphile_worker.force_unlock_workers(array[$1::text])', [row.rowId]);
  const { rows } = await db.query<RemoteWorker>(
    `insert into worker (id, hostname, pid, lease_seconds, tenant_id) values ($1, $2, $3, $4, $5)
     on conflict (id) do update set hostname = excluded.hostname, pid = excluded.pid, lease_seconds = excluded.lease_seconds,
                                   started_at = now(), last_heartbeat_at = now()
     returning id as "rowId", tenant_id as "tenantId", lease_seconds as "leaseSeconds",
               last_heartbeat_at + make_interval(secs => lease_seconds) as "leaseExpiresAt"`,
    [row.rowId, row.hostname, row.pid, row.leaseSeconds, row.tenantId],
  );
  return rows[0]!;
}

/**
 * Renews a live worker's lease (and sets its length, if given); null when the
 * worker is not registered or its lease has passed (it must register again).
 */
export async function renewLease(db: Queryable, rowId: string, leaseSeconds: number | undefined): Promise<RenewedWorker | null> {
  const { rows } = await db.query<RenewedWorker>({
    name: 'jobwire-remote-worker-renew',
    text: `update worker w set last_heartbeat_at = now(), lease_seconds = coalesce($2, w.lease_seconds)
      where w.id = $1 and w.lease_seconds is not null
        and greatest(w.last_heartbeat_at, pg_postmaster_start_time()) >= now() - make_interval(secs => w.lease_seconds)
      returning w.id as "rowId", w.tenant_id as "tenantId", w.lease_seconds as "leaseSeconds",
                w.last_heartbeat_at + make_interval(secs => w.lease_seconds) as "leaseExpiresAt",
                (select coalesce(jsonb_object_agg(s.job_type, s.queue_names), '{}') from worker_job_type s where s.worker_id = w.id) as served`,
    values: [rowId, leaseSeconds ?? null],
  });
  return rows[0] ?? null;
}

/** The worker is gone: its row (and, through the registry, what it served). */
export async function deleteWorker(db: Queryable, rowId: string): Promise<boolean> {
  const result = await db.query('delete from worker where id = $1 and lease_seconds is not null', [rowId]);
  return result.rowCount === 1;
}
