// Batches the hot path's status writes of one worker process: the claims
// (→ RUNNING) and completions (→ COMPLETED) requested in the same tick go to
// Postgres as one statement each, one commit for many jobs, as graphile-worker
// batches its own job fetches and completions. Per-row triggers still write
// each job's event.
import type pg from 'pg';
import { claimQueuedJobs, completeHeldJobs, type ClaimedJobRow } from './sql.ts';

interface Pending<Input, Output> {
  input: Input;
  resolve(output: Output): void;
  reject(error: unknown): void;
}

class Batch<Input, Output> {
  #pending: Array<Pending<Input, Output>> = [];
  #scheduled = false;

  constructor(private readonly flush: (inputs: Input[]) => Promise<Output[]>) {}

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
      const outputs = await this.flush(batch.map((item) => item.input));
      batch.forEach((item, index) => item.resolve(outputs[index]!));
    } catch (error) {
      batch.forEach((item) => item.reject(error));
    }
  }
}

export class StatusBatcher {
  readonly #claims: Batch<{ jobId: string; workerId: string }, ClaimedJobRow | null>;
  readonly #completions: Batch<{ jobId: string; workerId: string; result: Record<string, unknown> }, boolean>;

  constructor(pool: pg.Pool) {
    this.#claims = new Batch(async (inputs) => {
      const rows = new Map<string, ClaimedJobRow>();
      for (const [workerId, jobIds] of groupBy(inputs, (input) => input.workerId)) {
        for (const row of await claimQueuedJobs(pool, jobIds.map((input) => input.jobId), workerId)) rows.set(row.id, row);
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
  }

  /** PENDING/SCHEDULED/RETRYING → RUNNING for this worker; null when not queued. */
  claim(jobId: string, workerId: string): Promise<ClaimedJobRow | null> {
    return this.#claims.add({ jobId, workerId });
  }

  /** RUNNING → COMPLETED for a job this worker holds; false when it no longer does. */
  complete(jobId: string, workerId: string, result: Record<string, unknown>): Promise<boolean> {
    return this.#completions.add({ jobId, workerId, result });
  }
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}
