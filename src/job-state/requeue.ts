// Requeue: an active job goes back to the queue under a new queue entry,
// without spending a retry: a worker shutting down gives back what it runs
// (requeueRunningJob), and the orphan sweep queues again jobs a dead worker
// left without an entry (requeueOrphans, see worker/orphans.ts).
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { endRunningJob, type AttemptEnd } from './end-running.ts';
import type { JobRow } from './job-row.ts';
import { queueJobsAgain } from './queue-entry.ts';
import { JobStatus } from './statuses.ts';

type QueuedAgain = Pick<JobRow, 'id' | 'jobType' | 'queueName' | 'priority' | 'maxRetries'>;

/** Ends a RUNNING attempt as RETRYING and queues the job again for `runAt`, in one transaction; false when the job no longer runs on this worker. */
export async function endAttemptAndQueueAgain(
  pool: pg.Pool,
  job: QueuedAgain,
  workerId: string,
  end: AttemptEnd & { status: typeof JobStatus.RETRYING },
  runAt: Date | null,
): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const ended = await endRunningJob(client, job.id, workerId, end);
    if (ended) await queueJobsAgain(client, [{ jobId: job.id, jobType: job.jobType, queueName: job.queueName, runAt, priority: job.priority, maxRetries: job.maxRetries }]);
    return ended;
  });
}

/**
 * A worker shutting down, or one that lost its database session, gives a
 * RUNNING job back to the queue at once, without spending a retry.
 */
export function requeueRunningJob(pool: pg.Pool, job: QueuedAgain, workerId: string, why = 'worker shut down'): Promise<boolean> {
  const end = { status: JobStatus.RETRYING, errorMessage: `${why} while running the job; re-queued` };
  return endAttemptAndQueueAgain(pool, job, workerId, end, null);
}

/** Active jobs without a queue entry (a job and its entry are otherwise written in one transaction). */
export const IS_ORPHAN = `job.status in ('PENDING', 'SCHEDULED', 'RETRYING', 'RUNNING')
   and not exists (select 1 from graphile_worker.jobs as entry where entry.id = job.queue_entry_id)`;

/**
 * Queues again the orphans among `seen` that are unchanged since they were
 * seen (same row version, xmin); returns their ids. Locked and checked again:
 * another worker's sweep, or a late write, may have got there first.
 */
export async function requeueOrphans(db: Queryable, seen: ReadonlyArray<{ id: string; version: string }>): Promise<string[]> {
  const { rows } = await db.query<{ id: string; jobType: string; queueName: string; runAt: Date | null; priority: number; maxRetries: number }>(
    `select job.id, job.job_type as "jobType", job.queue_name as "queueName", case when job.status = 'SCHEDULED' then job.scheduled_at end as "runAt",
            job.priority, job.max_retries as "maxRetries"
       from job join unnest($1::uuid[], $2::text[]) as seen (id, version)
              on seen.id = job.id and seen.version = job.xmin::text
      where ${IS_ORPHAN}
        for update of job skip locked`,
    [seen.map((row) => row.id), seen.map((row) => row.version)],
  );
  await queueJobsAgain(db, rows.map((row) => ({ jobId: row.id, jobType: row.jobType, queueName: row.queueName, runAt: row.runAt, priority: row.priority, maxRetries: row.maxRetries })));
  return rows.map((row) => row.id);
}
