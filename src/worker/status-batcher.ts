// Batches the hot path's reads and status writes of one worker process: the
// reads of jobs taken, claims (→ RUNNING) and completions (→ COMPLETED)
// requested in the same tick go to Postgres as one statement each, one commit
// for many jobs, as graphile-worker batches its own job fetches and
// completions. The triggers still write each job's events.
import type pg from 'pg';
import { retryOnConnectionError } from '../db/retry.ts';
import { readHeldJobs } from './held-jobs.ts';
import {
  claimQueuedJobs,
  completeHeldJobs,
  completeUnstartedJobs,
  readQueuedJobs,
  type ClaimedJobRow,
  type TakenJobRow,
} from './sql.ts';

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
  readonly #reads: Batch<string, TakenJobRow | null>;
  readonly #claims: Batch<{ jobId: string; workerId: string }, ClaimedJobRow | null>;
  readonly #completions: Batch<{ jobId: string; workerId: string; result: Record<string, unknown> }, boolean>;
  readonly #unstartedCompletions: Batch<{ jobId: string; takenAt: string; result: Record<string, unknown> }, boolean>;

  constructor(pool: pg.Pool) {
    this.#reads = new Batch(async (jobIds) => {
      const rows = new Map((await readQueuedJobs(pool, jobIds)).map((row) => [row.id, row]));
      return jobIds.map((jobId) => rows.get(jobId) ?? null);
    });
    this.#claims = new Batch(async (inputs, retried) => {
      const rows = new Map<string, ClaimedJobRow>();
      for (const [workerId, jobIds] of groupBy(inputs, (input) => input.workerId)) {
        const ids = jobIds.map((input) => input.jobId);
        for (const row of await claimQueuedJobs(pool, ids, workerId)) rows.set(row.id, row);
        // The lost attempt's claims, if it committed.
        if (retried) for (const row of await readHeldJobs(pool, ids.filter((id) => !rows.has(id)), workerId)) rows.set(row.id, row);
      }
      return inputs.map((input) => rows.get(input.jobId) ?? null);
    });
    this.#completions = new Batch(async (inputs) => {
      const done = new Set<string>();
      for (const [workerId, items] of groupBy(inputs, (input) => input.workerId)) {
        for (const id of await completeHeldJobs(pool, items, workerId)) done.add(id);
      }
      return inputs.map((input) => done.has(input.jobId));
    });
    this.#unstartedCompletions = new Batch(async (inputs) => {
      const done = new Set(await completeUnstartedJobs(pool, inputs));
      return inputs.map((input) => done.has(input.jobId));
    });
  }

  /** The job if it is queued (PENDING/SCHEDULED/RETRYING), read without a write; null otherwise. */
  read(jobId: string): Promise<TakenJobRow | null> {
    return this.#reads.add(jobId);
  }

  /** PENDING/SCHEDULED/RETRYING → RUNNING for this worker; null when not queued. */
  claim(jobId: string, workerId: string): Promise<ClaimedJobRow | null> {
    return this.#claims.add({ jobId, workerId });
  }

  /** RUNNING → COMPLETED for a job this worker holds; false when it no longer does. */
  complete(jobId: string, workerId: string, result: Record<string, unknown>): Promise<boolean> {
    return this.#completions.add({ jobId, workerId, result });
  }

  /** Queued → COMPLETED through RUNNING, for a job finished before RUNNING was written; false when it is no longer queued. */
  completeUnstarted(jobId: string, takenAt: string, result: Record<string, unknown>): Promise<boolean> {
    return this.#unstartedCompletions.add({ jobId, takenAt, result });
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
