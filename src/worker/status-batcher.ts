// Batches the hot path's reads and status writes of one worker process: the
// reads of jobs taken, RUNNING writes and completions (→ COMPLETED)
// requested in the same tick go to Postgres as one statement each, one commit
// for many jobs, as graphile-worker batches its own job fetches and
// completions. The triggers still write each job's events.
import type pg from 'pg';
import { retryOnConnectionError } from '../db/retry.ts';
import { completeRunningJobs, completeTakenJobs } from '../job-state/complete.ts';
import type { JobRow } from '../job-state/job-row.ts';
import { markJobsRunning, readJobsRunningOn } from '../job-state/mark-running.ts';
import { takeQueuedJobs, type TakenJob } from '../job-state/take.ts';

interface Pending<Input, Output> {
  input: Input;
  resolve(output: Output): void;
  reject(error: unknown): void;
}

class Batch<Input, Output> {
  #pending: Array<Pending<Input, Output>> = [];
  #scheduled = false;

  /** `retried`: an earlier attempt of this batch lost its connection and may have committed. */
  constructor(private readonly flush: (inputs: Input[], retried: boolean) => Promise<Output[]>) {}

  add(input: Input): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
      this.#pending.push({ input, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#run());
      }
    });
  }

  async #run() {
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    try {
      // Through a database restart: an outcome computed meanwhile is written once it is back.
      let attempt = 0;
      const outputs = await retryOnConnectionError(() => this.flush(batch.map((item) => item.input), attempt++ > 0));
      batch.forEach((item, index) => item.resolve(outputs[index]!));
    } catch (error) {
      batch.forEach((item) => item.reject(error));
    }
  }
}

export class StatusBatcher {
  readonly #reads: Batch<string, TakenJob | null>;
  readonly #runningWrites: Batch<{ jobId: string; workerId: string }, JobRow | null>;
  readonly #completions: Batch<{ jobId: string; workerId: string; result: Record<string, unknown> }, boolean>;
  readonly #takenCompletions: Batch<{ jobId: string; takenAt: string; result: Record<string, unknown> }, boolean>;

  constructor(pool: pg.Pool) {
    this.#reads = new Batch(async (jobIds) => {
      const rows = new Map((await takeQueuedJobs(pool, jobIds)).map((row) => [row.id, row]));
      return jobIds.map((jobId) => rows.get(jobId) ?? null);
    });
    this.#runningWrites = new Batch(async (inputs, retried) => {
      const rows = new Map<string, JobRow>();
      for (const [workerId, jobIds] of groupBy(inputs, (input) => input.workerId)) {
        const ids = jobIds.map((input) => input.jobId);
        for (const row of await markJobsRunning(pool, ids, workerId)) rows.set(row.id, row);
        // The lost attempt's marks, if it committed.
        if (retried) for (const row of await readJobsRunningOn(pool, ids.filter((id) => !rows.has(id)), workerId)) rows.set(row.id, row);
      }
      return inputs.map((input) => rows.get(input.jobId) ?? null);
    });
    this.#completions = new Batch(async (inputs) => {
      const done = new Set<string>();
      for (const [workerId, items] of groupBy(inputs, (input) => input.workerId)) {
        for (const id of await completeRunningJobs(pool, items, workerId)) done.add(id);
      }
      return inputs.map((input) => done.has(input.jobId));
    });
    this.#takenCompletions = new Batch(async (inputs) => {
      const done = new Set(await completeTakenJobs(pool, inputs));
      return inputs.map((input) => done.has(input.jobId));
    });
  }

  /** The job if it is queued (PENDING/SCHEDULED/RETRYING), read without a write; null otherwise. */
  read(jobId: string): Promise<TakenJob | null> {
    return this.#reads.add(jobId);
  }

  /** PENDING/SCHEDULED/RETRYING → RUNNING for this worker; null when not queued. */
  markRunning(jobId: string, workerId: string): Promise<JobRow | null> {
    return this.#runningWrites.add({ jobId, workerId });
  }

  /** RUNNING → COMPLETED for a job this worker holds; false when it no longer does. */
  complete(jobId: string, workerId: string, result: Record<string, unknown>): Promise<boolean> {
    return this.#completions.add({ jobId, workerId, result });
  }

  /** Queued → COMPLETED through RUNNING, for a job finished before RUNNING was written; false when it is no longer queued. */
  completeTaken(jobId: string, takenAt: string, result: Record<string, unknown>): Promise<boolean> {
    return this.#takenCompletions.add({ jobId, takenAt, result });
  }
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
