// Leases: the status writes of jobs run by remote workers (src/remote-workers/).
//
// A remote worker claims a job by locking its queue entry under its worker id
// (locked_by), as graphile-worker does for an in-process worker, and the job
// becomes RUNNING under that id (job.worker_id). While the worker's lease lasts
// (its `worker` row, see worker/dead-workers.ts), nobody else takes the entry.
// When the lease passes, the entry is unlocked like a dead worker's, and the
// next claimer, remote or in-process, takes the job over (take-over.ts): one
// attempt spent, the events saying which worker stopped. A job is held by a
// worker while it is RUNNING under the worker's id and its entry is still
// locked by it; every write of the attempt checks both, under row locks, so a
// worker whose lease passed cannot overwrite what the next one writes.
//
// Jobs are chosen through the job row (its job_type, tenant and kind), joined
// to its queue entry (job.queue_entry_id), not by graphile-worker's task
// identifier: whichever task an entry names, a remote worker finds its types.
// A claim skips rows others hold and never waits; the attempt's later writes
// lock the entry, then the job row.
import type { Queryable } from '../db/pool.ts';
import { completeRunningJobs, completeTakenJobs } from './complete.ts';
import { endRunningJob } from './end-running.ts';
import type { JobError } from './job-error.ts';
import { JOB_ROW_COLUMNS, setEventMessage, type JobRow } from './job-row.ts';
import { markJobsRunning } from './mark-running.ts';
import { writeProgress } from './progress.ts';
import { queueJobsAgain } from './queue-entry.ts';
import { JobStatus, QUEUED_SQL } from './statuses.ts';
import { findStep, finishStep, startStep, type StepRow } from './steps.ts';
import { takeOverJob } from './take-over.ts';

/** The job id of a queue entry that runs a job row (payload {jobId}); null for other tasks' entries. */
const ENTRY_JOB_ID = `(case when (e.payload->>'jobId') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then (e.payload->>'jobId')::uuid end)`;

/** JOB_ROW_COLUMNS of the job row aliased `j` (a join with queue entries names id, priority, payload too). */
const J_COLUMNS = JOB_ROW_COLUMNS.split(',')
  .map((column) => `j.${column.trim()}`)
  .join(', ');

export interface ClaimRequest {
  workerId: string;
  /** The tenant whose jobs may be claimed; null: every tenant (an admin's worker). */
  tenantId: string | null;
  /** Among the types the worker registered (worker_job_type): only those, in the queues it registered, are claimed. */
  jobTypes: readonly string[];
  limit: number;
  /**
   * False: queued jobs stay in their status when claimed, RUNNING written only
   * when the worker first reports on them (extend, step, fail); one completed
   * first is written once, queued → COMPLETED, the database recording the
   * RUNNING it passed through dated when it was claimed (as the in-process
   * worker does for short jobs, worker/run-job.ts).
   */
  markRunning: boolean;
}

export interface LeasedStep {
  name: string;
  position: number;
  status: JobStatus;
  /** A COMPLETED step's stored result: a retry does not redo it. */
  result: Record<string, unknown> | null;
}

export interface LeasedJob extends JobRow {
  steps: LeasedStep[];
}

/**
 * Claims up to `limit` due jobs of these types for the worker, in the caller's
 * transaction: their entries locked under the worker's id, the jobs RUNNING.
 * A job still RUNNING under a worker whose lease passed is taken over first
 * (one attempt spent; it may end CANCELLED or DEAD_LETTER there instead).
 * Entries another transaction holds are skipped, never waited for.
 *
 * Not claimed (they wait for an in-process worker): kind jobs (their
 * handlers live in the service), jobs in a paused or rate-limited queue and
 * jobs with a concurrency key, whose gates (src/flow/gates.ts) run in-process.
 */
export async function claimJobs(db: Queryable, request: ClaimRequest): Promise<LeasedJob[]> {
  // Entries in graphile-worker's order (its index on priority, run_at), each
  // one's job looked up by primary key and filtered, so the scan stops at
  // `limit` matches instead of joining every queued job; only the rows
  // returned are locked, and rows others hold are skipped, never waited for.
  const { rows: candidates } = await db.query<{ id: string; status: JobStatus; entryId: string }>({
    name: 'jobwire-lease-claim-candidates',
    text: `select j.id, j.status, e.id as "entryId"
       from graphile_worker._private_jobs e
      cross join lateral (
        select j.id, j.status from job j
         where j.id = ${ENTRY_JOB_ID} and j.queue_entry_id = e.id
           and j.job_type = any($1::text[]) and j.kind = 'PLAIN'
           and ($2::text is null or j.tenant_id = $2)
           and exists (select 1 from worker_job_type s where s.worker_id = $4 and s.job_type = j.job_type
                        and (s.queue_names is null or j.queue_name = any (s.queue_names)))
           and (j.status in ${QUEUED_SQL} or j.status = 'RUNNING')
           and j.concurrency_key is null and j.rate_limit_key is null
           and not exists (select 1 from paused_queue p where p.queue_name = j.queue_name)
           and not exists (select 1 from queue_rate_limit r where r.queue_name = j.queue_name)
         for update skip locked) j
      where e.is_available and e.run_at <= now() and e.job_queue_id is null
      order by e.priority, e.run_at
      limit $3
      for update of e skip locked`,
    values: [request.jobTypes, request.tenantId, request.limit, request.workerId],
  });
  if (candidates.length === 0) return [];
  await db.query({
    name: 'jobwire-lease-lock-entries',
    text: `update graphile_worker._private_jobs set locked_by = $2, locked_at = now(), attempts = attempts + 1 where id = any($1::bigint[])`,
    values: [candidates.map((c) => c.entryId), request.workerId],
  });

  // The queued ones first, in one statement; then each take-over, whose event message is its own.
  const queued = candidates.filter((c) => c.status !== JobStatus.RUNNING).map((c) => c.id);
  const running = request.markRunning ? await markJobsRunning(db, queued, request.workerId) : await readJobs(db, queued);
  for (const lost of candidates.filter((c) => c.status === JobStatus.RUNNING)) {
    // Its worker's lease passed (or an in-process worker died): as run_job's take-over.
    const { rows } = await db.query<JobRow>(`select ${JOB_ROW_COLUMNS} from job where id = $1`, [lost.id]);
    await setEventMessage(db, '');
    const outcome = await takeOverJob(db, rows[0]!, request.workerId);
    if (outcome === 'retrying') running.push(...(await markJobsRunning(db, [lost.id], request.workerId)));
    else await deleteHeldEntries(db, [lost.entryId], request.workerId);
  }
  await setEventMessage(db, '');
  const steps = await stepsOf(db, running.map((job) => job.id));
  // In the queue's order.
  const order = new Map(candidates.map((c, index) => [c.id, index]));
  return running
    .sort((a, b) => order.get(a.id)! - order.get(b.id)!)
    .map((job) => ({ ...job, steps: steps.get(job.id) ?? [] }));
}

async function readJobs(db: Queryable, jobIds: readonly string[]): Promise<JobRow[]> {
  if (jobIds.length === 0) return [];
  const { rows } = await db.query<JobRow>({
    name: 'jobwire-lease-read-jobs',
    text: `select ${JOB_ROW_COLUMNS} from job where id = any($1::uuid[])`,
    values: [jobIds],
  });
  return rows;
}

async function stepsOf(db: Queryable, jobIds: string[]): Promise<Map<string, LeasedStep[]>> {
  const byJob = new Map<string, LeasedStep[]>();
  if (jobIds.length === 0) return byJob;
  const { rows } = await db.query<LeasedStep & { jobId: string }>(
    `select job_id as "jobId", name, position, status, result from job_step where job_id = any($1::uuid[]) order by job_id, position`,
    [jobIds],
  );
  for (const { jobId, ...step } of rows) {
    const list = byJob.get(jobId);
    if (list) list.push(step);
    else byJob.set(jobId, [step]);
  }
  return byJob;
}

export interface HeldJob extends JobRow {
  /** The queue entry the worker holds (locked_by = its id). */
  entryId: string;
  /** Claimed without RUNNING written (ClaimRequest.markRunning false): when it was claimed, in full precision; null once RUNNING. */
  takenAt: string | null;
}

/**
 * The jobs among these ids that the worker holds, locked (entry, then job) for
 * the attempt's writes: their entry is locked by the worker, and the job is
 * RUNNING under it, or still queued (claimed without RUNNING written).
 */
export async function lockHeldJobs(db: Queryable, workerId: string, jobIds: readonly string[]): Promise<Map<string, HeldJob>> {
  if (jobIds.length === 0) return new Map();
  const { rows } = await db.query<HeldJob>({
    name: 'jobwire-lease-lock-held',
    text: `select ${J_COLUMNS}, e.id as "entryId", case when j.status <> 'RUNNING' then e.locked_at::text end as "takenAt"
       from job j join graphile_worker._private_jobs e on e.id = j.queue_entry_id
      where j.id = any($1::uuid[]) and e.locked_by = $2
        and ((j.status = 'RUNNING' and j.worker_id = $2) or j.status in ${QUEUED_SQL})
      order by e.id
      for update of e, j`,
    values: [jobIds, workerId],
  });
  return new Map(rows.map((row) => [row.id, row]));
}

/** The held jobs claimed without RUNNING written become RUNNING now (the worker reports on them). */
export async function ensureRunning(db: Queryable, workerId: string, held: Map<string, HeldJob>): Promise<void> {
  const taken = [...held.values()].filter((job) => job.takenAt !== null).map((job) => job.id);
  if (taken.length === 0) return;
  for (const row of await markJobsRunning(db, taken, workerId)) held.set(row.id, { ...row, entryId: held.get(row.id)!.entryId, takenAt: null });
}

/** The held queue entries are done with (the attempt ended here). */
export async function deleteHeldEntries(db: Queryable, entryIds: readonly string[], workerId: string): Promise<void> {
  if (entryIds.length === 0) return;
  await db.query({
    name: 'jobwire-lease-delete-entries',
    text: `delete from graphile_worker._private_jobs where id = any($1::bigint[]) and locked_by = $2`,
    values: [entryIds, workerId],
  });
}

/** What a worker is told of a job it reports on. */
export type LeaseState =
  /** It still holds the job: go on. */
  | 'HELD'
  /** A cancel was asked for: the job is now CANCELLED; stop working on it. */
  | 'CANCELLED'
  /** It no longer holds the job (its lease passed and another worker took it, or it never held it): stop; nothing it writes counts. */
  | 'LOST';

export interface Extension {
  jobId: string;
  /** 0-100, with an optional message; written as the job's progress. */
  progress?: { percent: number; message: string | null } | null;
}

/**
 * A lease extension's per-job part: progress written for the jobs still held;
 * a held job asked to cancel ends CANCELLED here (the worker learns it in the answer).
 */
export async function extendHeldJobs(db: Queryable, workerId: string, extensions: readonly Extension[]): Promise<Map<string, LeaseState>> {
  const held = await lockHeldJobs(db, workerId, extensions.map((e) => e.jobId));
  await ensureRunning(db, workerId, held);
  const states = new Map<string, LeaseState>();
  const cancelled: HeldJob[] = [];
  for (const extension of extensions) {
    const job = held.get(extension.jobId);
    if (!job) {
      states.set(extension.jobId, 'LOST');
      continue;
    }
    if (job.cancelRequestedAt) {
      cancelled.push(job);
      states.set(job.id, 'CANCELLED');
      continue;
    }
    if (extension.progress) await writeProgress(db, job.id, workerId, extension.progress.percent, extension.progress.message);
    states.set(job.id, 'HELD');
  }
  // graphile-worker takes an entry locked over 4 hours ago for abandoned: a long job's lock stays fresh.
  const kept = [...held.values()].filter((job) => !job.cancelRequestedAt).map((job) => job.entryId);
  if (kept.length > 0) {
    await db.query({
      name: 'jobwire-lease-refresh-locks',
      text: `update graphile_worker._private_jobs set locked_at = now() where id = any($1::bigint[]) and locked_by = $2`,
      values: [kept, workerId],
    });
  }
  if (cancelled.length > 0) {
    await setEventMessage(db, `cancelled; worker ${workerId} told at its lease extension`);
    for (const job of cancelled) await endRunningJob(db, job.id, workerId, { status: JobStatus.CANCELLED });
    await deleteHeldEntries(db, cancelled.map((job) => job.entryId), workerId);
  }
  return states;
}

/** Completes the held jobs among these; answers each job's state (HELD: completed now). */
export async function completeHeldJobs(
  db: Queryable,
  workerId: string,
  jobs: ReadonlyArray<{ jobId: string; result: Record<string, unknown> }>,
): Promise<Map<string, LeaseState>> {
  const held = await lockHeldJobs(db, workerId, jobs.map((job) => job.jobId));
  const running = jobs.filter((job) => held.get(job.jobId)?.takenAt === null);
  const taken = jobs.flatMap((job) => {
    const takenAt = held.get(job.jobId)?.takenAt;
    return takenAt ? [{ ...job, takenAt }] : [];
  });
  const completed = new Set([
    ...(running.length > 0 ? await completeRunningJobs(db, running, workerId) : []),
    ...(taken.length > 0 ? await completeTakenJobs(db, taken) : []),
  ]);
  await deleteHeldEntries(db, [...completed].map((id) => held.get(id)!.entryId), workerId);
  return new Map(jobs.map((job) => [job.jobId, completed.has(job.jobId) ? 'HELD' : 'LOST']));
}

export interface LeaseFailure {
  error: JobError;
  /** False: the job fails now (FAILED), whatever retries it has left. */
  retryable: boolean;
  /** Kept as job.result, as an in-process handler's failed JobResult.resultData. */
  resultData?: Record<string, unknown>;
  /** The retry policy's delay before the next attempt (worker/run-job.ts retryDelayMs). */
  retryDelayMs(retryCount: number): number;
}

export type FailOutcome =
  | { state: 'LOST' }
  | { state: 'HELD'; status: typeof JobStatus.FAILED | typeof JobStatus.DEAD_LETTER }
  | { state: 'HELD'; status: typeof JobStatus.RETRYING; retryAt: Date };

/**
 * Ends a held job's failed attempt by jobwire's retry policy, as run_job does:
 * not retryable → FAILED; no retry left → DEAD_LETTER; otherwise RETRYING,
 * queued again after the backoff.
 */
export async function failHeldJob(db: Queryable, workerId: string, jobId: string, failure: LeaseFailure): Promise<FailOutcome> {
  const held = await lockHeldJobs(db, workerId, [jobId]);
  await ensureRunning(db, workerId, held);
  const job = held.get(jobId);
  if (!job) return { state: 'LOST' };
  const base = { error: failure.error, ...(failure.resultData ? { resultData: failure.resultData } : {}) };
  await deleteHeldEntries(db, [job.entryId], workerId);
  if (!failure.retryable) {
    await endRunningJob(db, job.id, workerId, { status: JobStatus.FAILED, errorMessage: failure.error.message, ...base });
    return { state: 'HELD', status: JobStatus.FAILED };
  }
  if (job.retryCount >= job.maxRetries) {
    const errorMessage = `${failure.error.message} (after ${job.retryCount + 1} attempts)`;
    await endRunningJob(db, job.id, workerId, { status: JobStatus.DEAD_LETTER, errorMessage, ...base });
    return { state: 'HELD', status: JobStatus.DEAD_LETTER };
  }
  const retryAt = new Date(Date.now() + failure.retryDelayMs(job.retryCount));
  await endRunningJob(db, job.id, workerId, { status: JobStatus.RETRYING, errorMessage: failure.error.message, retryCount: job.retryCount + 1, ...base });
  await queueJobsAgain(db, [queueEntryOf(job, retryAt)]);
  return { state: 'HELD', status: JobStatus.RETRYING, retryAt };
}

export type StepOutcome = { state: 'LOST' } | { state: 'HELD'; step: LeasedStep; stored: boolean };

/**
 * Records a step of a held job: RUNNING (started), COMPLETED with its result,
 * or FAILED with a message. A step completed in an earlier attempt is not
 * written again: its stored result is answered (`stored`), as ctx.step does in-process.
 */
export async function recordHeldStep(
  db: Queryable,
  workerId: string,
  jobId: string,
  step: { name: string; status: 'RUNNING' | 'COMPLETED' | 'FAILED'; result: Record<string, unknown> | null; errorMessage: string | null },
): Promise<StepOutcome> {
  const held = await lockHeldJobs(db, workerId, [jobId]);
  await ensureRunning(db, workerId, held);
  if (!held.has(jobId)) return { state: 'LOST' };
  const existing = await findStep(db, jobId, step.name);
  if (existing?.status === JobStatus.COMPLETED) return { state: 'HELD', step: leased(step.name, existing), stored: true };
  const stepId = existing?.status === JobStatus.RUNNING ? existing.id : await startStep(db, jobId, step.name, existing);
  if (step.status !== 'RUNNING') await finishStep(db, stepId, step.status, step.status === 'COMPLETED' ? step.result : null, step.errorMessage);
  const written = (await findStep(db, jobId, step.name))!;
  return { state: 'HELD', step: leased(step.name, written), stored: false };
}

/** The job's next queue entry; with its type and queue, which routing names its task by. */
function queueEntryOf(job: JobRow, runAt: Date | null) {
  const entry = { jobId: job.id, jobType: job.jobType, queueName: job.queueName, runAt, priority: job.priority, maxRetries: job.maxRetries };
  return entry;
}

const leased = (name: string, row: StepRow): LeasedStep => ({ name, position: row.position, status: row.status, result: row.result });

/**
 * A worker stopping on purpose gives back the jobs it holds at once, without
 * spending a retry (as an in-process worker's shutdown, requeue.ts); answers their ids.
 */
export async function releaseHeldJobs(db: Queryable, workerId: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string | null }>(`select ${ENTRY_JOB_ID} as id from graphile_worker._private_jobs e where e.locked_by = $1`, [workerId]);
  const held = await lockHeldJobs(db, workerId, rows.flatMap((row) => (row.id ? [row.id] : [])));
  if (held.size === 0) return [];
  const jobs = [...held.values()];
  // Never shown RUNNING: its entry is simply let go.
  const taken = jobs.filter((job) => job.takenAt !== null);
  if (taken.length > 0) {
    await db.query(`update graphile_worker._private_jobs set locked_by = null, locked_at = null where id = any($1::bigint[]) and locked_by = $2`, [
      taken.map((job) => job.entryId),
      workerId,
    ]);
  }
  const running = jobs.filter((job) => job.takenAt === null);
  await deleteHeldEntries(db, running.map((job) => job.entryId), workerId);
  for (const job of running) {
    await endRunningJob(db, job.id, workerId, { status: JobStatus.RETRYING, errorMessage: 'worker shut down while running the job; re-queued' });
  }
  await queueJobsAgain(db, running.map((job) => queueEntryOf(job, null)));
  return jobs.map((job) => job.id);
}
