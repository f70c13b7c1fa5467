// Aging: a due job that waits behind a steady stream of higher-priority jobs
// still runs. graphile-worker takes due queue entries by (priority, run_at);
// once per JOB_AGING_STEP_MS, across all workers (the job_aging_sweep row is
// the claim), every due entry that has waited at least a step and is behind
// the best due priority moves one priority up (graphile-worker's priority; the
// job's own priority is unchanged). It stops at the best due priority, and
// reaching it takes the turn of the entry next in line there (a steady stream's
// turns can be older than its own), so it is taken next. A job d priorities
// behind the best thus starts after about d steps. Jobs that all share one
// priority are never touched: the sweep then costs one read.
import type pg from 'pg';
import type { Logger } from '../logger.ts';

/** Entries aged per sweep at most (the longest-waiting first, by priority): one sweep stays one short statement. */
export const AGING_BATCH = 10_000;

/** Ages the due entries once if no worker did within the last step; answers how many moved up. */
export async function ageWaitingEntries(db: pg.Pool | pg.PoolClient, stepMs: number): Promise<number> {
  const result = await db.query(
    `with claim as (
       update job_aging_sweep set swept_at = now() where id and swept_at <= now() - $1::int * interval '1 millisecond' returning 1
     ), best as (
       select e.priority, e.run_at from graphile_worker._private_jobs as e
        where e.is_available and e.run_at <= now() and exists (select from claim)
        order by e.priority limit 1
     ), behind as (
       select e.id from graphile_worker._private_jobs as e, best
        where e.is_available and e.priority > best.priority and e.run_at <= now()
          -- Due since: created (its turn may be earlier), or its run_at when that came later (scheduled, retried).
          and greatest(e.created_at, e.run_at) <= now() - $1::int * interval '1 millisecond'
        order by e.priority, e.run_at
        limit ${AGING_BATCH}
        for update of e skip locked
     )
     update graphile_worker._private_jobs as e
        set priority = e.priority - 1,
            run_at = case when e.priority - 1 = best.priority then least(e.run_at, best.run_at) else e.run_at end
       from behind, best
      where e.id = behind.id`,
    [stepMs],
  );
  return result.rowCount ?? 0;
}

/** A worker's aging timer: it tries a sweep four times a step; the database lets one worker a step through. */
export class AgingSweep {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly stepMs: number,
    private readonly logger: Logger,
  ) {}

  start() {
    if (this.stepMs === 0 || this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = ageWaitingEntries(this.pool, this.stepMs)
        .then((aged) => {
          if (aged > 0) this.logger.debug({ aged }, 'aged waiting queue entries');
        })
        // The database away: the next tick tries again.
        .catch((error: unknown) => this.logger.warn({ err: error }, 'aging sweep failed'))
        .finally(() => {
          this.#running = null;
        });
    }, Math.max(50, Math.round(this.stepMs / 4)));
    this.#timer.unref();
  }

  async stop() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
