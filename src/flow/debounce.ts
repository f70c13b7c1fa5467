// Debounce: a job created with `debounce: { key, delayMs, maxWaitMs }` is the
// one unstarted job of its key (per tenant and job type). A later create with
// the key, while that job is PENDING or SCHEDULED, replaces its payload and
// moves its run time to now + delayMs, never past its first create +
// maxWaitMs, and answers that job (created: false). Creates of one key take
// an advisory lock of the key in their transaction, so racing creates see
// each other's job; the unique index job_debounce_key_idx backs it.
import type { Queryable } from '../db/pool.ts';
import type { NewJob } from '../job-state/insert.ts';

/**
 * For the debounced jobs of one create call (one tenant): per key, the job
 * that answers, existing (updated here) or new (to insert, carrying the last
 * input's payload). Returns, per job id of the call, the id that answers it
 * and whether it is to be inserted; jobs without a debounce key are absent.
 */
export async function debounceJobs(db: Queryable, jobs: readonly NewJob[]): Promise<Map<string, { id: string; created: boolean }>> {
  const answers = new Map<string, { id: string; created: boolean }>();
  const groups = new Map<string, NewJob[]>();
  for (const job of jobs) {
    if (job.flow.debounce === null) continue;
    const group = JSON.stringify([job.jobType, job.flow.debounce.key]);
    groups.set(group, [...(groups.get(group) ?? []), job]);
  }
  // Keys in a fixed order, so that two calls naming the same keys lock them alike.
  for (const group of [...groups.keys()].sort()) {
    const members = groups.get(group)!;
    const first = members[0]!;
    const last = members.at(-1)!;
    const debounce = last.flow.debounce!;
    await db.query(`select pg_advisory_xact_lock(hashtextextended('jobwire.debounce:' || $1, 0))`, [JSON.stringify([first.tenantId, group])]);
    const { rows } = await db.query<{ id: string; queueEntryId: string | null; runAt: Date }>(
      `select id, queue_entry_id as "queueEntryId", least(now() + $4 * interval '1 millisecond', debounce_deadline) as "runAt"
         from job
        where tenant_id = $1 and job_type = $2 and debounce_key = $3 and status in ('PENDING', 'SCHEDULED')
        for update`,
      [first.tenantId, first.jobType, debounce.key, debounce.delayMs],
    );
    const found = rows[0];
    if (found) {
      // Its queue entry moves too; one a worker has fetched already is not moved (it starts now, with this payload).
      if (found.queueEntryId !== null) {
        await db.query(`select from graphile_worker.reschedule_jobs(array[$1::bigint], run_at := $2)`, [found.queueEntryId, found.runAt]);
      }
      await db.query(`update job set payload = $2::jsonb, scheduled_at = $3, updated_at = now() where id = $1`, [
        found.id,
        JSON.stringify(last.payload),
        found.runAt,
      ]);
    }
    const existing = found?.id;
    if (existing === undefined) {
      const now = Date.now();
      first.payload = last.payload;
      first.scheduledAt = new Date(now + debounce.delayMs);
      first.debounceDeadline = debounce.maxWaitMs === null ? null : new Date(now + debounce.maxWaitMs);
    }
    for (const job of members) answers.set(job.id, existing === undefined ? { id: first.id, created: job === first } : { id: existing, created: false });
  }
  return answers;
}
