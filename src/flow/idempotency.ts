// Unique jobs: an idempotency key names at most one job of its tenant. Claimed
// in the creating transaction, before the job row is written; the primary key
// (tenant_id, idempotency_key) makes two API processes that race with one key
// agree (the second insert waits for the first transaction, then finds its key
// taken). Keys are per tenant: another tenant's key is never read, so it
// neither answers nor reveals its job; the new job is simply created.
import type { Queryable } from '../db/pool.ts';

export interface IdempotencyClaim {
  key: string;
  /** The job that gets the key if it is free. */
  jobId: string;
  /** When the key is free again once its job finished: null never (while the job exists), 0 at once, n ms after. */
  freeAfterMs: number | null;
}

/**
 * Claims the tenant's keys for their new jobs; returns, by key, the existing
 * job of each key that the tenant holds (those new jobs must not be created).
 * A held key whose job finished longer ago than its free_after_ms is taken over.
 */
export async function claimIdempotencyKeys(db: Queryable, tenantId: string, claims: readonly IdempotencyClaim[]): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  // Sorted, so that two transactions with overlapping keys lock them in one order.
  let pending = [...claims].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  while (pending.length > 0) {
    const inserted = await db.query<{ key: string }>(
      `insert into job_idempotency_key (tenant_id, idempotency_key, job_id, free_after_ms)
       select $4, key, job_id, free_after_ms from unnest($1::text[], $2::uuid[], $3::bigint[]) as c(key, job_id, free_after_ms)
       on conflict (tenant_id, idempotency_key) do nothing
       returning idempotency_key as key`,
      [pending.map((c) => c.key), pending.map((c) => c.jobId), pending.map((c) => c.freeAfterMs), tenantId],
    );
    const won = new Set(inserted.rows.map((row) => row.key));
    const taken = pending.filter((c) => !won.has(c.key));
    if (taken.length === 0) break;
    const { rows } = await db.query<{ key: string; jobId: string; free: boolean }>(
      `select k.idempotency_key as key, k.job_id as "jobId",
              (k.free_after_ms is not null
               and job.status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED')
               and coalesce(job.completed_at, job.failed_at, job.cancelled_at) + k.free_after_ms * interval '1 millisecond' <= now()) as free
         from job_idempotency_key as k join job on job.id = k.job_id
        where k.tenant_id = $2 and k.idempotency_key = any($1::text[])
        order by k.idempotency_key
          for update of k`,
      [taken.map((c) => c.key), tenantId],
    );
    const byKey = new Map(rows.map((row) => [row.key, row]));
    const takeOver = taken.filter((c) => byKey.get(c.key)?.free);
    for (const claim of taken) {
      const row = byKey.get(claim.key);
      if (row && !row.free) held.set(claim.key, row.jobId);
    }
    if (takeOver.length > 0) {
      await db.query(
        `update job_idempotency_key as k set job_id = c.job_id, free_after_ms = c.free_after_ms, created_at = now()
           from unnest($1::text[], $2::uuid[], $3::bigint[]) as c(idempotency_key, job_id, free_after_ms)
          where k.tenant_id = $4 and k.idempotency_key = c.idempotency_key`,
        [takeOver.map((c) => c.key), takeOver.map((c) => c.jobId), takeOver.map((c) => c.freeAfterMs), tenantId],
      );
    }
    // A key whose job was deleted (retention) between the insert and the read: try again.
    pending = taken.filter((c) => !byKey.has(c.key));
  }
  return held;
}
