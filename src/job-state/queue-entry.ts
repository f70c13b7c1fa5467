// The job row's queue entry: one row in graphile-worker's queue, run by our
// job task (graphile-worker's word for the function that runs an entry), whose
// id the job row keeps (job.queue_entry_id).
//
// Routing: an entry's task identifier names its job type and queue
// (`job:<jobType>:<queueName>`, SQL job_task_identifier), and graphile-worker
// fetches only entries whose task is in the worker's task list, so a worker
// takes only the types and queues it serves (src/registry/routing.ts).
import { isUuid } from '../core/validation.ts';
import type { Queryable } from '../db/pool.ts';

/** The task of queue entries written before routing (migration 000031 moved them); every worker still serves it. */
export const RUN_JOB_TASK = 'run_job';

/** The channel told of task identifiers new to the database (a new type or queue): workers serving every queue add it. */
export const JOB_TASK_CHANNEL = 'jobwire_job_task';

const JOB_TASK_PREFIX = 'job:';

/** The graphile-worker task of a job's queue entries (same as SQL job_task_identifier). */
export function jobTaskIdentifier(jobType: string, queueName: string): string {
  return `${JOB_TASK_PREFIX}${jobType}:${queueName}`;
}

/** The job type and queue a task identifier routes, or null for another task (run_job, the purge cron). */
export function parseJobTaskIdentifier(identifier: string): { jobType: string; queueName: string } | null {
  if (!identifier.startsWith(JOB_TASK_PREFIX)) return null;
  // Job types have no colon (registry.ts); queue names may.
  const rest = identifier.slice(JOB_TASK_PREFIX.length);
  const colon = rest.indexOf(':');
  return colon > 0 ? { jobType: rest.slice(0, colon), queueName: rest.slice(colon + 1) } : null;
}

/** Whether a queue entry's task runs a job row (its payload is {jobId}). */
export function isJobTask(identifier: string): boolean {
  return identifier === RUN_JOB_TASK || identifier.startsWith(JOB_TASK_PREFIX);
}

/**
 * graphile-worker attempts cover infrastructure failures and crash take-overs
 * only; our retries are counted in job.retry_count (see worker/run-job.ts).
 * The slack lets a job that keeps crashing its worker reach DEAD_LETTER by our
 * count before graphile-worker gives up on it.
 */
export const queueAttempts = (maxRetries: number) => maxRetries + 10;

export interface QueueEntry {
  jobId: string;
  jobType: string;
  queueName: string;
  runAt: Date | null;
  priority: number;
  maxRetries: number;
}

/** The job_spec[] of these queue entries (each its job's task), from parameters $1-$5 (runJobSpecParameters). */
export const RUN_JOB_SPECS = `array(
  select row(e.task, json_build_object('jobId', e.job_id), null, e.run_at, e.max_attempts, null, e.priority, null)::graphile_worker.job_spec
    from unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::int[], $5::int[]) as e(task, job_id, run_at, max_attempts, priority)
)`;

/**
 * The queue entries of new jobs, as common table expressions of the statement
 * that inserts their job rows (job-state/insert.ts): `entry` (each entry's id
 * and job id) and `woken` (graphile-worker's wake-up, to be joined so that it
 * runs). Each entry due now takes its tenant's turn (SQL job_turns,
 * docs/fairness.md) in the same statement, so the entry is written once.
 * Parameters $1-$5 as RUN_JOB_SPECS, $7-$9 tenantTurnParameters.
 *
 * The entries are the rows graphile_worker.add_jobs would write for these
 * specs (no job key, queue or flags), written into its table directly, as SQL
 * add_job does: add_jobs runs four statements for them (tasks, queues, job
 * keys, then the insert), which cost a lone create about a third of its
 * statement's execution (docs/performance.md, "Start latency"). Its other
 * duties are kept: a task this statement's snapshot does not show (knownTasks
 * learns a task before the transaction that wrote it commits: a concurrent
 * create's, or one rolled back) is found or added by SQL job_queue_task_id,
 * whose queries each see what committed before them, as add_jobs' separate
 * statements did; and workers hear `jobs:insert` on commit with add_jobs'
 * payload (a count of the entries, made distinct by a random number so that a
 * transaction's statements are not folded into one notification), plus the
 * id of the statement's first job, which an idle worker reads ahead by its
 * key (worker/read-ahead.ts).
 */
export const NEW_JOB_ENTRIES = `entry as (
  insert into graphile_worker._private_jobs as j (task_id, payload, run_at, max_attempts, priority)
  select coalesce((select t.id from graphile_worker._private_tasks as t where t.identifier = e.task), job_queue_task_id(e.task)),
         json_build_object('jobId', e.job_id), coalesce(e.run_at, now()), e.max_attempts, e.priority
    from unnest($1::text[], $2::uuid[], job_turns($7::text[], $8::text[], $9::int[], $3::timestamptz[]), $4::int[], $5::int[])
         as e(task, job_id, run_at, max_attempts, priority)
  returning j.id, (j.payload->>'jobId')::uuid as job_id
), woken as (
  select pg_notify('jobs:insert', '{"r":' || random()::text || ',"count":' || cardinality($2::uuid[])::text || ',"jobId":"' || ($2::uuid[])[1]::text || '"}')
)`;

/** The job a jobs:insert names (its create's first, as NEW_JOB_ENTRIES writes it), if it names one. */
export function createdJobId(payload: string | undefined): string | undefined {
  if (!payload?.includes('"jobId"')) return undefined;
  try {
    const jobId: unknown = (JSON.parse(payload) as { jobId?: unknown }).jobId;
    return typeof jobId === 'string' && isUuid(jobId) ? jobId : undefined;
  } catch {
    return undefined;
  }
}

/** Parameters $7-$9 of NEW_JOB_ENTRIES: each entry's tenant, queue and (job) priority. */
export function tenantTurnParameters(entries: readonly (QueueEntry & { tenantId: string })[]) {
  return [entries.map((e) => e.tenantId), entries.map((e) => e.queueName), entries.map((e) => e.priority)];
}

export function runJobSpecParameters(entries: readonly QueueEntry[]) {
  return [
    entries.map((e) => jobTaskIdentifier(e.jobType, e.queueName)),
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
  await announceNewTasks(db, entries);
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
  await announceNewTasks(db, entries);
  // `job.id = any($2)` lets the planner find the rows by primary key: joined on
  // the entries alone (a function it guesses at 1,000 rows) it hashed the whole
  // job table, a sequential scan per retry, wait and requeue.
  await db.query(
    `update job set queue_entry_id = entry.id
       from graphile_worker.add_jobs(${RUN_JOB_SPECS}) as entry
      where job.id = any($2::uuid[]) and job.id = (entry.payload->>'jobId')::uuid`,
    runJobSpecParameters(entries),
  );
}

/** Task identifiers this process has seen in the database: most writes need no look. */
const knownTasks = new Set<string>();

/** Whether the database knows every task of these entries already (announceNewTasks would write nothing). */
export function tasksKnown(entries: readonly Pick<QueueEntry, 'jobType' | 'queueName'>[]): boolean {
  return entries.every((e) => knownTasks.has(jobTaskIdentifier(e.jobType, e.queueName)));
}

/**
 * Records the task identifiers of these entries that the database does not
 * know yet, and tells workers (on commit) so that those serving every queue
 * add them to their task list at once. Done before graphile-worker's add_jobs,
 * which would insert them silently. A rolled-back announcement leaves an
 * identifier in knownTasks that the database lacks: workers then find it at
 * their next refresh (each heartbeat) instead.
 */
export async function announceNewTasks(db: Queryable, entries: readonly QueueEntry[]): Promise<void> {
  const unknown = [...new Set(entries.map((e) => jobTaskIdentifier(e.jobType, e.queueName)))].filter((task) => !knownTasks.has(task));
  if (unknown.length === 0) return;
  await db.query(
    `with added as (
       insert into graphile_worker._private_tasks (identifier) select unnest($1::text[]) on conflict do nothing returning identifier
     )
     select pg_notify($2, identifier) from added`,
    [unknown, JOB_TASK_CHANNEL],
  );
  for (const task of unknown) knownTasks.add(task);
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
