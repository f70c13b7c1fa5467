// Wakes the workers when a job's known wait ends (a rate-limited job's look
// again, when the window's oldest start leaves it).
// graphile-worker fetches a future-dated queue entry only at its next poll
// (WORKER_POLL_INTERVAL_MS, 2 s by default) or when some other write happens
// to nudge the workers. The process that made the job wait sets a timer for that moment and
// then nudges every worker as a new job would (pg_notify 'jobs:insert');
// one of them fetches the entry. Should this process stop first, the poll
// still finds it. One timer per pool, for the earliest pending moment.
import type pg from 'pg';

/** Late rather than early: an entry fetched a moment before its run_at is not due, and would wait for the poll. */
const MARGIN_MS = 5;

class Waker {
  /** Pending moments (Date.now() based), ascending. */
  readonly #at: number[] = [];
  #timer: NodeJS.Timeout | null = null;
  #armedFor = Infinity;

  constructor(private readonly pool: pg.Pool) {}

  wakeIn(delayMs: number) {
    const at = Date.now() + Math.max(0, delayMs) + MARGIN_MS;
    let index = this.#at.length;
    while (index > 0 && this.#at[index - 1]! > at) index--;
    this.#at.splice(index, 0, at);
    this.#arm();
  }

  #arm() {
    const next = this.#at[0];
    if (next === undefined || next >= this.#armedFor) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#armedFor = next;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, next - Date.now()));
    this.#timer.unref();
  }

  #fire() {
    this.#timer = null;
    this.#armedFor = Infinity;
    const now = Date.now();
    let due = 0;
    while (this.#at.length > 0 && this.#at[0]! <= now) {
      this.#at.shift();
      due++;
    }
    if (due > 0) {
      // A failed nudge (the pool closed, the database away) leaves the entry to the poll.
      this.pool.query(`select pg_notify('jobs:insert', json_build_object('count', $1::int)::text)`, [due]).catch(() => undefined);
    }
    this.#arm();
  }
}

const wakers = new WeakMap<pg.Pool, Waker>();

/** Nudges the workers (through this pool) in `delayMs`. */
export function wakeWorkersIn(pool: pg.Pool, delayMs: number): void {
  let waker = wakers.get(pool);
  if (!waker) wakers.set(pool, (waker = new Waker(pool)));
  waker.wakeIn(delayMs);
}
