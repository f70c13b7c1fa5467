// The first step of a run-job task: read the queued job (prefetched, or now),
// take over a dead worker's, or find there is nothing to run. A cancel asked
// for before the job started ends it here, unrun.
import type pg from 'pg';
import { withTransaction } from '../db/pool.ts';
import { retryOnConnectionError } from '../db/retry.ts';
import type { Logger } from '../logger.ts';
import { cancelTakenJob } from '../job-state/cancel.ts';
import { lockJob, type JobRow } from '../job-state/job-row.ts';
import { markJobsRunning } from '../job-state/mark-running.ts';
import { isTerminal, JobStatus } from '../job-state/statuses.ts';
import type { TakenJob } from '../job-state/take.ts';
import { takeOverJob } from '../job-state/take-over.ts';

export interface JobToRun {
  job: JobRow;
  /** While RUNNING is not written: the database time the job was read; null once it is. */
  takenAt: string | null;
}

/**
 * Reads the queued job to run, or takes over a dead worker's; null when there
 * is nothing to run, or when the job has been queued again under a newer queue
 * entry than this task's (that entry's task runs it).
 */
export async function takeJob(
  pool: pg.Pool,
  read: Promise<TakenJob | null>,
  jobId: string,
  queueEntryId: string,
  workerId: string,
  logger: () => Logger,
): Promise<JobToRun | null> {
  const stale = (job: JobRow) => {
    if (job.queueEntryId === queueEntryId) return false;
    logger().info({ queueEntryId, currentQueueEntryId: job.queueEntryId }, 'the job was queued again under another entry; this one is stale');
    return true;
  };
  const queued = await read;
  if (queued) {
    if (stale(queued)) return null;
    const { takenAt, ...job } = queued;
    return { job, takenAt };
  }
  // Not queued: finished, gone, or still RUNNING under a worker that died.
  // Retried through a lost connection: the transaction re-reads what it decides on.
  const job = await retryOnConnectionError(() => withTransaction(pool, async (client) => {
    // The worker runs every tenant's jobs.
    const job = await lockJob(client, jobId, null);
    if (!job) {
      logger().info('job no longer exists; nothing to run');
      return null;
    }
    if (stale(job)) return null;
    if (isTerminal(job.status)) {
      logger().info({ status: job.status }, 'job already finished; not run again');
      return null;
    }
    if (job.status === JobStatus.RUNNING) {
      // Its previous worker died (graphile-worker handed us its lock).
      const outcome = await takeOverJob(client, job, workerId);
      if (outcome !== 'retrying') return null;
      logger().warn({ previousWorker: job.workerId }, 'taking over a job from a dead worker');
    }
    // RETRYING after a take-over, or queued again since the read.
    return (await markJobsRunning(client, [jobId], workerId))[0] ?? null;
  }));
  return job ? { job, takenAt: null } : null;
}

/** A cancel asked for while the job was handed to this worker but not yet started: it ends here, unrun. */
export async function cancelTaken(pool: pg.Pool, jobId: string, logger: () => Logger) {
  await retryOnConnectionError(() => cancelTakenJob(pool, jobId, 'cancelled before it started'));
  logger().info({ status: JobStatus.CANCELLED }, 'cancel requested before the job started; not run');
}
