// Group commit for createJob: one-statement creates (jobs/create.ts) that
// arrive while such a statement is in flight wait for it, then go together as
// the next statement. Each commit of a create costs Postgres a WAL flush and,
// because the insert NOTIFYs (graphile-worker's jobs:insert, jobwire_event),
// the global notify lock, which Postgres holds from before the commit record
// until the flush is done: concurrent creates committed one by one queue on
// that lock. One statement for many creates pays both once. Nothing durable
// is traded: each caller is answered only after the statement that wrote its
// jobs has committed (see docs/performance.md).
import pg from 'pg';
import type { Queryable } from '../db/pool.ts';
import { insertJobs, type InsertedJobRow, type NewJob } from '../job-state/insert.ts';

interface Waiting {
  jobs: readonly NewJob[];
  resolve(rows: InsertedJobRow[]): void;
  reject(error: unknown): void;
}

/** What the coalescer has done, for tests and benches. */
export interface CoalescerCounts {
  /** Statements that wrote the creates of more than one caller. */
  coalescedStatements: number;
  /** Coalesced statements Postgres refused, after which each caller's create ran alone. */
  fallbacks: number;
}

export class CreateCoalescer {
  readonly #db: Queryable;
  readonly #maxJobs: number;
  #waiting: Waiting[] = [];
  #inFlight = false;
  readonly counts: CoalescerCounts = { coalescedStatements: 0, fallbacks: 0 };

  /** `maxJobs`: most jobs in one statement (a caller with more goes alone, never split); 1 turns coalescing off. */
  constructor(db: Queryable, maxJobs: number) {
    this.#db = db;
    this.#maxJobs = maxJobs;
  }

  /** Callers waiting for the statement in flight to end. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Inserts these jobs (one caller's create, each insertable in one statement:
   * insertsInOneStatement) with those of other callers waiting at the time;
   * answers this caller's rows, or this caller's error only.
   */
  insert(jobs: readonly NewJob[]): Promise<InsertedJobRow[]> {
    if (this.#maxJobs <= 1) return insertJobs(this.#db, jobs);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ jobs, resolve, reject });
      this.#next();
    });
  }

  /** Starts the next statement unless one is in flight: the first caller on an idle process goes at once. */
  #next(): void {
    if (this.#inFlight || this.#waiting.length === 0) return;
    const batch: Waiting[] = [this.#waiting.shift()!];
    let size = batch[0]!.jobs.length;
    while (this.#waiting.length > 0 && size + this.#waiting[0]!.jobs.length <= this.#maxJobs) {
      const caller = this.#waiting.shift()!;
      size += caller.jobs.length;
      batch.push(caller);
    }
    this.#inFlight = true;
    void this.#write(batch).finally(() => {
      this.#inFlight = false;
      this.#next();
    });
  }

  async #write(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) return this.#alone(batch[0]!);
    this.counts.coalescedStatements++;
    let rows: InsertedJobRow[];
    try {
      rows = await insertJobs(this.#db, batch.flatMap((caller) => caller.jobs));
    } catch (error) {
      // Postgres refused the statement: it wrote nothing, so each create runs
      // again alone and only a bad one fails. Not after a statement timeout or
      // a lack of resources (running each again would add load where there is
      // too much), nor after any other error (the connection lost: whether it
      // committed is unknown, and a create run again would hit its own job
      // id): every caller gets the error, as each would have alone.
      if (!(error instanceof pg.DatabaseError) || !runsAgainAlone(error)) {
        for (const caller of batch) caller.reject(error);
        return;
      }
      this.counts.fallbacks++;
      await Promise.all(batch.map((caller) => this.#alone(caller)));
      return;
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const caller of batch) caller.resolve(caller.jobs.map((job) => byId.get(job.id)).filter((row) => row !== undefined));
  }

  async #alone(caller: Waiting): Promise<void> {
    try {
      caller.resolve(await insertJobs(this.#db, caller.jobs));
    } catch (error) {
      caller.reject(error);
    }
  }
}

/** query_canceled (statement_timeout, a cancel) and class 53, insufficient resources: see #write. */
function runsAgainAlone(error: pg.DatabaseError): boolean {
  return error.code !== '57014' && !error.code?.startsWith('53');
}

const coalescers = new WeakMap<object, CreateCoalescer>();

/** The coalescer of a pool (one per pool: creates on one pool share statements). */
export function coalescerOf(pool: pg.Pool, maxJobs: number): CreateCoalescer {
  let coalescer = coalescers.get(pool);
  if (!coalescer) coalescers.set(pool, (coalescer = new CreateCoalescer(pool, maxJobs)));
  return coalescer;
}
