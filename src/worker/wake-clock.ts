// Wakes graphile-worker when a durable wait ends by time (a timer, a timeout).
// Such a job's queue entry is due at its wake_at, but graphile-worker finds
// entries that become due only at its next poll (WORKER_POLL_INTERVAL_MS,
// 2 s by default); this clock sends graphile-worker's own wake-up
// (NOTIFY jobs:insert, which every worker LISTENs on) at the earliest wake_at
// of any job_wait row, so a waiting job resumes within about minGapMs of its
// time on whichever worker is free. Every worker runs one: the earliest
// wake-up is read from the database, so a restarted worker or a wait recorded
// by another process is covered; a wait this process records sets it at once.
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { nextWakeInMs } from '../job-state/waits.ts';

export interface WakeClockOptions {
  pool: pg.Pool;
  logger: Logger;
  /** Wake-ups closer together than this are folded into one (each costs every worker a fetch). */
  minGapMs?: number;
  /** Look again at least this often (waits recorded by other processes). */
  maxSleepMs?: number;
}

export class WakeClock {
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  readonly #minGapMs: number;
  readonly #maxSleepMs: number;
  #timer: NodeJS.Timeout | null = null;
  /** Date.now() the timer fires at. */
  #firesAt = Infinity;
  #lastFired = 0;
  #stopped = false;
  #ticking = false;

  constructor(options: WakeClockOptions) {
    this.#pool = options.pool;
    this.#logger = options.logger;
    this.#minGapMs = options.minGapMs ?? 50;
    this.#maxSleepMs = options.maxSleepMs ?? 5000;
  }

  start(): void {
    this.#set(0);
  }

  /** A wait of this process ends at `wakeAt`: fire then at the latest. */
  at(wakeAt: Date): void {
    this.#set(wakeAt.getTime() - Date.now());
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #set(inMs: number) {
    if (this.#stopped) return;
    const firesAt = Math.max(Date.now() + Math.max(inMs, 0), this.#lastFired + this.#minGapMs);
    if (this.#timer && firesAt >= this.#firesAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#firesAt = firesAt;
    this.#timer = setTimeout(() => void this.#tick(), firesAt - Date.now());
    this.#timer.unref();
  }

  async #tick() {
    this.#timer = null;
    this.#firesAt = Infinity;
    if (this.#ticking || this.#stopped) return;
    this.#ticking = true;
    this.#lastFired = Date.now();
    let next: number | null = null;
    try {
      // Due waits' entries are due now: graphile-worker's workers fetch them.
      const { rows } = await this.#pool.query<{ due: boolean }>(`select exists (select 1 from job_wait where wake_at <= now() and wake_at > now() - interval '5 seconds') as due`);
      if (rows[0]?.due) await this.#pool.query(`select pg_notify('jobs:insert', '')`);
      next = await nextWakeInMs(this.#pool);
    } catch (error) {
      this.#logger.warn({ err: error }, 'wake clock: could not read the next wait; trying again');
    } finally {
      this.#ticking = false;
    }
    this.#set(Math.min(next ?? this.#maxSleepMs, this.#maxSleepMs));
  }
}
