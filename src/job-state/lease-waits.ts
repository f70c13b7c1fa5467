// A remote worker's durable wait (src/remote-workers/context.ts): the held
// attempt ends as a wait, exactly as an in-process one does (suspendJob,
// job-state/waits.ts), in one transaction with the lease check: its queue
// entry, held by the worker, is done with and the job waits with a new one.
import type { Queryable } from '../db/pool.ts';
import { endRunningJob } from './end-running.ts';
import { setEventMessage } from './job-row.ts';
import { deleteHeldEntries, ensureRunning, lockHeldJobs } from './lease.ts';
import { JobStatus } from './statuses.ts';
import { suspendJob, type WaitSpec } from './waits.ts';

export type HeldWaitOutcome = { state: 'WAITING'; wakeAt: Date | null } | { state: 'CANCELLED' } | { state: 'LOST' };

/** Ends the worker's held attempt of the job at this wait; a cancel asked for meanwhile ends it CANCELLED instead. */
export async function suspendHeldJob(db: Queryable, workerId: string, jobId: string, wait: WaitSpec): Promise<HeldWaitOutcome> {
  const held = await lockHeldJobs(db, workerId, [jobId]);
  await ensureRunning(db, workerId, held);
  const job = held.get(jobId);
  if (!job) return { state: 'LOST' };
  await deleteHeldEntries(db, [job.entryId], workerId);
  if (job.cancelRequestedAt) {
    await setEventMessage(db, `cancelled; worker ${workerId} told as the job reached a wait`);
    await endRunningJob(db, job.id, workerId, { status: JobStatus.CANCELLED });
    await setEventMessage(db, '');
    return { state: 'CANCELLED' };
  }
  const outcome = await suspendJob(db, job, workerId, wait);
  await setEventMessage(db, '');
  // Locked and RUNNING under the worker above, so neither lost nor cancel_requested here.
  if (outcome.status !== 'waiting') throw new Error(`job ${jobId}: the held attempt could not end as a wait (${outcome.status})`);
  return { state: 'WAITING', wakeAt: outcome.wakeAt };
}
