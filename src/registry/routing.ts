// Routing: which queue entries a worker fetches. Each job's queue entry has
// the task `job:<jobType>:<queueName>` (job-state/queue-entry.ts), and
// graphile-worker 0.17 fetches only entries whose task is in the worker's task
// list (getJobs.ts: `task_id = any(<ids of the task list's names>)`). It reads
// the names of the list object on every fetch and looks their ids up again
// when they change (taskIdentifiers.ts), so the list can grow while the worker
// runs, as graphile-worker's own watch mode grows it.
//
// A worker lists no job task until it has registered its types (runner.ts's
// first heartbeat), so a job it takes never shows NO_WORKER while it runs
// and the registration's "no longer waiting" event comes first.
// A worker restricted to queues lists exactly its types × queues. A worker
// serving every queue lists, for each of its types, every queue that type's
// entries have used (graphile_worker._private_tasks): loaded at start, added
// as a create announces a new one (JOB_TASK_CHANNEL), refreshed each heartbeat.
// Every worker also serves `run_job`, the task of entries written before
// routing: it runs those of its own types and re-queues the others under
// their job's task (rerouteLegacyEntry).
import type { Task, TaskList } from 'graphile-worker';
import type { Queryable } from '../db/pool.ts';
import type { JobRow } from '../job-state/job-row.ts';
import { jobTaskIdentifier, parseJobTaskIdentifier, queueJobsAgain } from '../job-state/queue-entry.ts';

export interface WorkerRoutingOptions {
  /** The job types this worker hosts. */
  jobTypes: readonly string[];
  /** The queues it takes jobs from; null: every queue. */
  queueNames: readonly string[] | null;
  /** The task that runs a job row (run-job.ts). */
  task: Task;
}

export class WorkerRouting {
  readonly #types: ReadonlySet<string>;
  readonly #queues: ReadonlySet<string> | null;
  readonly #task: Task;
  /** graphile-worker's task list: this object itself, so that tasks added later are fetched. */
  readonly taskList: TaskList;
  #started = false;

  constructor(options: WorkerRoutingOptions, otherTasks: TaskList) {
    this.#types = new Set(options.jobTypes);
    this.#queues = options.queueNames ? new Set(options.queueNames) : null;
    this.#task = options.task;
    this.taskList = { ...otherTasks };
  }

  /** Whether this worker takes jobs of this type in this queue. */
  serves(jobType: string, queueName: string): boolean {
    return this.#types.has(jobType) && (this.#queues === null || this.#queues.has(queueName));
  }

  /** The job tasks in the list now (the stall watchdog counts their due entries). */
  get jobTasks(): string[] {
    return Object.keys(this.taskList).filter((name) => parseJobTaskIdentifier(name) !== null);
  }

  /** Adds a task if this worker serves it; true when it was not listed yet. */
  add(identifier: string): boolean {
    if (!this.#started || identifier in this.taskList) return false;
    const route = parseJobTaskIdentifier(identifier);
    if (!route || !this.serves(route.jobType, route.queueName)) return false;
    this.taskList[identifier] = this.#task;
    return true;
  }

  /**
   * Once registered: adds its tasks (restricted: its types × queues; else
   * every queue its types' entries used, as the database knows them); true
   * when any was new.
   */
  async refresh(db: Queryable): Promise<boolean> {
    this.#started = true;
    if (this.#queues) {
      let added = false;
      for (const type of this.#types) for (const queue of this.#queues) if (this.add(jobTaskIdentifier(type, queue))) added = true;
      return added;
    }
    if (this.#types.size === 0) return false;
    const { rows } = await db.query<{ identifier: string }>(
      `select identifier from graphile_worker._private_tasks where starts_with(identifier, 'job:')`,
    );
    let added = false;
    for (const { identifier } of rows) if (this.add(identifier)) added = true;
    return added;
  }
}

/** Wakes graphile-worker's fetch loops: a task just added may have due entries. */
export async function nudgeWorkers(db: Queryable): Promise<void> {
  await db.query(`select pg_notify('jobs:insert', '{"count":1}')`);
}

/**
 * A `run_job` entry (written before routing) of a type or queue this worker
 * does not serve: the job gets a new entry under its own task, for a worker
 * that serves it, and this one is left stale (run-job.ts skips stale entries).
 */
export async function rerouteLegacyEntry(db: Queryable, job: Pick<JobRow, 'id' | 'jobType' | 'queueName' | 'priority' | 'maxRetries'>): Promise<void> {
  await queueJobsAgain(db, [{ jobId: job.id, jobType: job.jobType, queueName: job.queueName, runAt: null, priority: job.priority, maxRetries: job.maxRetries }]);
}
