// The job row's queue entry: one row in graphile-worker's queue, run by our
// `run_job` task (graphile-worker's word for the function that runs an entry), whose
// id the job row keeps (job.queue_entry_id).
import type { Queryable } from '../db/pool.ts';

export const RUN_JOB_TASK = 'run_job';

/**
 * graphile-worker attempts cover infrastructure failures and crash take-overs
 * only; our retries are counted in job.retry_count (see worker/run-job.ts).
 * The slack lets a job that keeps crashing its worker reach DEAD_LETTER by our
 * count before graphile-worker gives up on it.
 */
export const queueAttempts = (maxRetries: number) => maxRetries + 10;

export interface QueueEntry {
  jobId: string;
  runAt: Date | null;
  priority: number;
  maxRetries: number;
}

/** The job_spec[] of these queue entries (task run_job), from parameters $1-$5. */
const RUN_JOB_SPECS = `array(
  select row($1::text, json_build_object('jobId', e.job_id), null, e.run_at, e.max_attempts, null, e.priority, null)::graphile_worker.job_spec
    from unnest($2::uuid[], $3::timestamptz[], $4::int[], $5::int[]) as e(job_id, run_at, max_attempts, priority)
)`;

function runJobSpecParameters(entries: readonly QueueEntry[]) {
  return [
    RUN_JOB_TASK,
    entries.map((e) => e.jobId),
    entries.map((e) => e.runAt),
    entries.map((e) => queueAttempts(e.maxRetries)),
    // graphile-worker runs lower numbers first; our priority is higher-first.
    entries.map((e) => -e.priority),
  ];
}

/**
 * Adds the queue entries of new jobs, in the caller's transaction; returns
 * each job's queue entry id (job.queue_entry_id) by job id. The entries carry
 * no job key: a key costs every fetch and completion of the entry an index
 * write, and job.queue_entry_id already ties a job to its entry.
 */
export async function addQueueEntries(db: Queryable, entries: readonly QueueEntry[]): Promise<Map<string, string>> {
  if (entries.length === 0) return new Map();
  const result = await db.query<{ id: string; jobId: string }>(
    `select id, payload->>'jobId' as "jobId" from graphile_worker.add_jobs(${RUN_JOB_SPECS})`,
    runJobSpecParameters(entries),
  );
  return new Map(result.rows.map((row) => [row.jobId, row.id]));
}

/**
 * Queues existing jobs again (a retry, a shutdown, an orphan): a new run_job
 * queue entry each, recorded as the job's. An older entry a worker still
 * holds is thereby stale, and run_job does not run the job for it (worker/run-job.ts).
 */
export async function queueJobsAgain(db: Queryable, entries: readonly QueueEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query(
    `update job set queue_entry_id = entry.id
       from graphile_worker.add_jobs(${RUN_JOB_SPECS}) as entry
      where job.id = (entry.payload->>'jobId')::uuid`,
    runJobSpecParameters(entries),
  );
}

/**
 * Removes a job's queue entry if it still waits, untaken; false when a worker
 * holds it (the worker may be running the job before it shows RUNNING) or it
 * is gone (a worker ran the job and is writing its outcome, see
 * worker/run-job.ts, or died doing so, see worker/orphans.ts).
 */
export async function removeWaitingQueueEntry(db: Queryable, queueEntryId: string | null): Promise<boolean> {
  if (queueEntryId === null) return false;
  // complete_jobs checks the lock again as it deletes: an entry a worker locks
  // in between is kept (and this answers false).
  const result = await db.query(
    `select id from graphile_worker.complete_jobs(array(
       select id from graphile_worker.jobs where id = $1 and locked_at is null))`,
    [queueEntryId],
  );
  return result.rowCount === 1;
}
