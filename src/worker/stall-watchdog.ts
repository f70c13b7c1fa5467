// The stall watchdog: the second line of defence against a worker that is
// alive but takes no work (a fetch loop that died, a lock it cannot get past).
//
// A worker is stalled when it has had a free slot for WORKER_STALL_AFTER_MS
// without a break while jobs it runs have been due for that long, untaken.
// Then /health/ready answers 503 naming the stall, and after a further
// WORKER_STALL_EXIT_AFTER_MS the process exits with one line (code 1) for its
// supervisor to restart it. A busy worker never trips it (no slot has been free
// for long: a backlog refills each slot as it frees), nor one on an empty queue
// (nothing is due), nor one whose database is away (that is the
// DATABASE_UNAVAILABLE_EXIT_AFTER_MS's business: nothing is checked meanwhile).
import type pg from 'pg';
import type { Logger } from '../logger.ts';

export interface StallWatchdogOptions {
  pool: pg.Pool;
  logger: Logger;
  /** The job tasks this worker fetches now (its task list, src/registry/routing.ts): only their entries are its work. */
  tasks(): string[];
  /** Slots of this worker (WORKER_CONCURRENCY). */
  concurrency: number;
  /** A free slot and a due job both this old make a stall (ms). */
  stallAfterMs: number;
  /** A stall this old ends the process (ms). */
  exitAfterMs: number;
  /** How often the watchdog looks (ms). */
  checkIntervalMs: number;
  /** Whether the database answers now (a check during an outage proves nothing). */
  databaseAvailable(): boolean;
  /** The stall lasted exitAfterMs: the process should exit with this line. */
  onStalled(message: string): void;
}

/**
 * Jobs of ours due since before the bound and not taken: available
 * (unlocked, attempts left) queue entries of the tasks this worker serves. jobwire uses no
 * graphile-worker named queues, so no queue lock can hold them back.
 */
const OVERDUE_ENTRIES = `
  select count(*)::int as overdue, coalesce(extract(epoch from now() - min(jobs.run_at)) * 1000, 0)::float8 as "oldestMs"
    from graphile_worker._private_jobs as jobs
   where jobs.is_available
     and jobs.job_queue_id is null
     and jobs.run_at <= now() - make_interval(secs => $1 / 1000.0)
     and jobs.task_id in (select id from graphile_worker._private_tasks where identifier = any($2::text[]))`;

export class StallWatchdog {
  #busy = 0;
  /** Since when (Date.now()) at least one slot has been free without a break; null while every slot is busy. */
  #freeSince: number | null = Date.now();
  #stall: { since: number; detail: string } | null = null;
  #timer: NodeJS.Timeout | null = null;
  #checking = false;
  #exited = false;

  constructor(private readonly options: StallWatchdogOptions) {}

  /** A task took a slot. */
  taskStarted() {
    this.#busy++;
    if (this.#busy >= this.options.concurrency) this.#freeSince = null;
  }

  /** A task gave its slot back. */
  taskEnded() {
    this.#busy = Math.max(0, this.#busy - 1);
    this.#freeSince ??= Date.now();
  }

  /** The current stall, for readiness; null when the worker is not stalled. */
  get stall(): { since: number; detail: string } | null {
    return this.#stall;
  }

  start() {
    this.#timer = setInterval(() => void this.check(), this.options.checkIntervalMs);
    this.#timer.unref();
  }

  stop() {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One look: public so that a test can drive it. */
  async check(now = Date.now()): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const freeFor = this.#freeSince === null ? 0 : now - this.#freeSince;
      if (freeFor < this.options.stallAfterMs || !this.options.databaseAvailable()) {
        this.#clear();
        return;
      }
      const { rows } = await this.options.pool.query<{ overdue: number; oldestMs: number }>(OVERDUE_ENTRIES, [this.options.stallAfterMs, this.options.tasks()]);
      const { overdue, oldestMs } = rows[0]!;
      // Checked again after the query: a slot taken meanwhile means the worker is taking work.
      if (overdue === 0 || this.#freeSince === null) {
        this.#clear();
        return;
      }
      const free = this.options.concurrency - this.#busy;
      const detail =
        `stalled: ${overdue} job(s) due for up to ${Math.round(oldestMs / 1000)} s are not taken while ` +
        `${free} of ${this.options.concurrency} slots have been free for ${Math.round(freeFor / 1000)} s`;
      if (!this.#stall) {
        this.#stall = { since: now, detail };
        this.options.logger.error({ overdue, oldestMs: Math.round(oldestMs), freeSlots: free, freeForMs: freeFor }, `worker ${detail}; not ready`);
      } else this.#stall = { since: this.#stall.since, detail };
      const stalledFor = now - this.#stall.since;
      if (stalledFor >= this.options.exitAfterMs && !this.#exited) {
        this.#exited = true;
        this.options.onStalled(
          `worker ${detail}, for ${Math.round(stalledFor / 1000)} s more (WORKER_STALL_EXIT_AFTER_MS=${this.options.exitAfterMs}); exiting so that a supervisor restarts the process`,
        );
      }
    } catch (error) {
      // The check itself failed (the database went away meanwhile): nothing learnt.
      this.options.logger.debug({ err: error }, 'stall check failed');
    } finally {
      this.#checking = false;
    }
  }

  #clear() {
    if (this.#stall) this.options.logger.info('worker takes jobs again; no longer stalled');
    this.#stall = null;
  }
}
