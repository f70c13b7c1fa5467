// The orphan sweep: jobs left active without a queue entry are queued again.
//
// A worker writes a job's outcome after the job's task has returned (see
// run-job.ts), so graphile-worker may remove the queue entry before that write
// commits. If the process dies in between, the job stays PENDING (or RUNNING)
// with nothing left to run it. A worker sweeps for such jobs after it starts and
// after it finds a worker dead (and hourly regardless); one found on two sweeps
// in a row, unchanged, is queued again (it runs once more: delivery is at least
// once). The second look keeps a write still on its way from being taken for a
// lost one. A sweep reads every active job's queue entry, so it runs only when
// orphans can exist.
import type pg from 'pg';
import { withTransaction } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { IS_ORPHAN, requeueOrphans } from '../job-state/requeue.ts';

/** At most this many orphans are queued again per sweep. */
const SWEEP_LIMIT = 1000;
/** For orphans from causes not seen coming (an outcome write that failed for good). */
const BACKSTOP_INTERVAL_MS = 3_600_000;

export class OrphanSweep {
  /** Job id → row version (xmin) of the orphans the last sweep found. */
  #suspects = new Map<string, string>();
  /** A sweep is wanted: this worker started, a worker died, or suspects wait for their second look. */
  #due = true;
  /** The first sweep waits an interval too: a worker that starts often meets a backlog. */
  #lastSweepAt = Date.now();

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
    /** Time between two sweeps: an orphan is queued again about this long after it was first seen. */
    private readonly intervalMs: number,
  ) {}

  /** A worker was found dead: its orphans, if any, are looked for. */
  expect() {
    this.#due = true;
  }

  /** Called on every heartbeat: sweeps when a sweep is due and the interval has passed. */
  async tick() {
    const since = Date.now() - this.#lastSweepAt;
    if (since < this.intervalMs || (!this.#due && since < BACKSTOP_INTERVAL_MS)) return;
    this.#lastSweepAt = Date.now();
    await this.sweep();
    this.#due = this.#suspects.size > 0;
  }

  /** Returns the ids of the jobs queued again. */
  async sweep(): Promise<string[]> {
    const found = await this.pool.query<{ id: string; version: string }>(
      `select job.id, job.xmin::text as version from job where ${IS_ORPHAN} limit ${SWEEP_LIMIT}`,
    );
    const confirmed = found.rows.filter((row) => this.#suspects.get(row.id) === row.version).map((row) => row.id);
    this.#suspects = new Map(found.rows.map((row) => [row.id, row.version]));
    if (confirmed.length === 0) return [];

    const requeued = await withTransaction(this.pool, (client) =>
      requeueOrphans(client, confirmed.map((id) => ({ id, version: this.#suspects.get(id)! }))),
    );
    for (const id of requeued) this.#suspects.delete(id);
    if (requeued.length > 0) {
      this.logger.warn({ jobIds: requeued }, 'queued again jobs left without a queue entry (their worker stopped before writing the outcome)');
    }
    return requeued;
  }
}
