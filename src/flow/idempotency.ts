// Unique jobs: an idempotency key names at most one job of its tenant, which
// holds it ("held" is said of keys only, docs/naming.md). The new job gets its
// key in the creating transaction, before the job row is written; the primary
// key (tenant_id, idempotency_key) makes two API processes that race with one
// key agree (the second insert waits for the first transaction, then finds the
// key held). Keys are per tenant: another tenant's key is never read, so it
// neither answers nor reveals its job; the new job is simply created.
import type { Queryable } from '../db/pool.ts';

export interface IdempotencyKeyRequest {
  key: string;
  /** The job that gets the key if it is free. */
  jobId: string;
  /** When the key is free again once its job finished: null never (while the job exists), 0 at once, n ms after. */
  freeAfterMs: number | null;
}

/**
 * Gives the tenant's free keys to their new jobs; returns, by key, the existing
 * job that holds each of the others (those new jobs must not be created). A
 * key whose job finished longer ago than its free_after_ms is free again: it
 * passes to the new job.
 */
export async function holdIdempotencyKeys(db: Queryable, tenantId: string, requests: readonly IdempotencyKeyRequest[]): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  // Sorted, so that two transactions with overlapping keys lock them in one order.
  let pending = [...requests].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  while (pending.length > 0) {
    const inserted = await db.query<{ key: string }>(
      `insert into job_idempotency_key (tenant_id, idempotency_key, job_id, free_after_ms)
       select $4, key, job_id, free_after_ms from unnest($1::text[], $2::uuid[], $3::bigint[]) as c(key, job_id, free_after_ms)
       on conflict (tenant_id, idempotency_key) do nothing
       returning idempotency_key as key`,
      [pending.map((c) => c.key), pending.map((c) => c.jobId), pending.map((c) => c.freeAfterMs), tenantId],
    );
    const got = new Set(inserted.rows.map((row) => row.key));
    const heldBefore = pending.filter((c) => !got.has(c.key));
    if (heldBefore.length === 0) break;
    const { rows } = await db.query<{ key: string; jobId: string; free: boolean }>(
      `select k.idempotency_key as key, k.job_id as "jobId",
              (k.free_after_ms is not null
               and job.status in ('COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED')
               and coalesce(job.completed_at, job.failed_at, job.cancelled_at) + k.free_after_ms * interval '1 millisecond' <= now()) as free
         from job_idempotency_key as k join job on job.id = k.job_id
        where k.tenant_id = $2 and k.idempotency_key = any($1::text[])
        order by k.idempotency_key
          for update of k`,
      [heldBefore.map((c) => c.key), tenantId],
    );
    const byKey = new Map(rows.map((row) => [row.key, row]));
    const freed = heldBefore.filter((c) => byKey.get(c.key)?.free);
    for (const request of heldBefore) {
      const row = byKey.get(request.key);
      if (row && !row.free) held.set(request.key, row.jobId);
    }
    if (freed.length > 0) {
      await db.query(
        `update job_idempotency_key as k set job_id = c.job_id, free_after_ms = c.free_after_ms, created_at = now()
           from unnest($1::text[], $2::uuid[], $3::bigint[]) as c(idempotency_key, job_id, free_after_ms)
          where k.tenant_id = $4 and k.idempotency_key = c.idempotency_key`,
        [freed.map((c) => c.key), freed.map((c) => c.jobId), freed.map((c) => c.freeAfterMs), tenantId],
      );
    }
    // A key whose job was deleted (retention) between the insert and the read: try again.
    pending = heldBefore.filter((c) => !byKey.has(c.key));
  }
  return held;
}
