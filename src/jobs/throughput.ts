// Jobs finished per minute (the dashboard's chart), counted from the event log:
// one COMPLETED, FAILED or DEAD_LETTER event per job outcome. The BRIN index
// job_event_created_brin_idx (migration 000022) keeps this to the last
// minutes' rows, whatever the size of the log.
import { tenantCondition } from '../auth/tenant-scope.ts';
import type { Queryable } from '../db/pool.ts';
import { FAILURE_STATUSES, JobStatus } from '../job-state/statuses.ts';

export interface ThroughputMinute {
  /** Start of the minute. */
  minute: Date;
  completedCount: number;
  /** FAILED and DEAD_LETTER outcomes (a retried attempt is not counted until the job gives up). */
  failedCount: number;
}

/**
 * The last `minutes` whole minutes up to now (the current one included), oldest
 * first, zeros filled in: the jobs of one tenant (null: every tenant, without
 * reading the job table).
 */
export async function readThroughput(db: Queryable, tenantId: string | null, minutes: number): Promise<ThroughputMinute[]> {
  const result = await db.query<{ minute: Date; completed: string; failed: string }>(
    `with bounds as (select date_trunc('minute', now()) - ($1::int - 1) * interval '1 minute' as first_minute)
     select minutes.minute,
            coalesce(counted.completed, 0) as completed,
            coalesce(counted.failed, 0) as failed
       from bounds,
            generate_series(bounds.first_minute, date_trunc('minute', now()), interval '1 minute') as minutes (minute)
       left join (
         select date_trunc('minute', event.created_at) as minute,
                count(*) filter (where event.status = $2::job_status) as completed,
                count(*) filter (where event.status = any($3::job_status[])) as failed
           from job_event as event, bounds
          where event.created_at >= bounds.first_minute
            and event.step_id is null
            and (event.status = $2::job_status or event.status = any($3::job_status[]))
            and ($4::text is null or exists (select 1 from job as j where j.id = event.job_id and ${tenantCondition('j', 4)}))
          group by 1
       ) as counted on counted.minute = minutes.minute
      order by minutes.minute`,
    [minutes, JobStatus.COMPLETED, FAILURE_STATUSES, tenantId],
  );
  return result.rows.map((row) => ({ minute: row.minute, completedCount: Number(row.completed), failedCount: Number(row.failed) }));
}
