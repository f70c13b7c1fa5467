// Fast take-over of a killed worker, never of a busy one.
//
// Each worker process holds a session-level advisory lock, keyed by its
// worker id, on a connection of its own. Postgres releases it the moment that
// session ends: a process killed outright loses it at once, a process merely
// busy (a handler blocking the event loop) keeps it, because the lock lives in
// the server, not in our event loop. Every worker checks each second, in
// pg_locks, the locks of the workers in the `worker` table; a worker whose lock
// has been free for WORKER_TAKE_OVER_AFTER_MS is dead: its queue entries are
// unlocked (graphile_worker.force_unlock_workers) and every worker is nudged
// (jobs:insert) to take them at once. The heartbeat (runner.ts) stays as the
// fallback for a session that is half-open on the server's side.
//
// The other direction: a worker that loses its own session (a database
// restart, a network cut noticed by a ping that does not come back) stops its
// handlers at once (onSessionLost), within a ping interval and timeout, which
// is less than WORKER_TAKE_OVER_AFTER_MS: so no job runs in two places. Then it
// reconnects and takes its lock again.
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { withTimeout } from '../db/availability.ts';
import { backoffMs } from '../db/retry.ts';

/** First key of the two-int advisory locks of worker sessions ("jw" in ASCII). */
export const WORKER_LOCK_NAMESPACE = 0x6a77;

export interface LivenessOptions {
  connectionString: string;
  workerId: string;
  logger: Logger;
  /** How often the session is pinged and the other workers' locks checked (ms). */
  intervalMs: number;
  /** A worker whose lock has been free this long is dead (ms). */
  takeOverAfterMs: number;
  /** This process's session is gone: stop every running handler now. */
  onSessionLost(): void;
  /** Other workers were found dead and their queue entries unlocked. */
  onWorkersReleased(workerIds: string[], entries: number): void;
}

export class WorkerLiveness {
  #client: pg.Client | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #reconnectAttempt = 0;
  #ticking = false;
  /** Worker id → when its lock was first seen free (Date.now()). */
  readonly #seenFree = new Map<string, number>();

  constructor(private readonly options: LivenessOptions) {}

  /** Whether this process holds its session lock now (readiness). */
  get holdsLock(): boolean {
    return this.#client !== null;
  }

  /** Takes this worker's lock; call before the worker announces itself (heartbeat). */
  async start(): Promise<void> {
    await this.#lock();
    this.#schedule(this.options.intervalMs);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }

  async #lock(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: 'jobwire-worker-session',
      connectionTimeoutMillis: Math.max(1000, this.options.intervalMs * 2),
      keepAlive: true,
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('worker session ended')));
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>(
        'select pg_try_advisory_lock($1, hashtext($2)) as locked',
        [WORKER_LOCK_NAMESPACE, this.options.workerId],
      );
      // Held elsewhere: a hash collision with a live worker (or our previous session not yet gone).
      // Either way no one takes this worker's jobs while that lock is held; the heartbeat still watches.
      if (!rows[0]?.locked) this.options.logger.warn({ workerId: this.options.workerId }, 'worker session lock is held by another session');
    } catch (error) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw error;
    }
    this.#client = client;
    this.#reconnectAttempt = 0;
  }

  /** The session is gone: handlers stop before anyone can see the lock free long enough to take their jobs. */
  #lost(client: pg.Client, error: unknown) {
    if (this.#client !== client) return;
    this.#client = null;
    client.end().catch(() => undefined);
    if (this.#stopped) return;
    this.options.logger.warn({ err: error }, 'worker lost its database session; stopping its running jobs (they are queued again)');
    this.options.onSessionLost();
    this.#seenFree.clear();
    this.#schedule(0);
  }

  #schedule(delay: number) {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#tick(), delay);
  }

  async #tick(): Promise<void> {
    if (this.#stopped || this.#ticking) return;
    this.#ticking = true;
    try {
      if (!this.#client) {
        try {
          await this.#lock();
          this.options.logger.info('worker session re-established');
        } catch (error) {
          this.options.logger.debug({ err: error }, 'worker session: reconnect failed');
          this.#schedule(Math.min(this.options.intervalMs, backoffMs(this.#reconnectAttempt++, { baseMs: 100, maxMs: 1000 })));
          return;
        }
      }
      const client = this.#client!;
      try {
        await this.#checkOthers(client);
      } catch (error) {
        // No answer in time (a cut network) or a broken connection: this session is not to be trusted.
        this.#lost(client, error);
        return;
      }
      this.#schedule(this.options.intervalMs);
    } finally {
      this.#ticking = false;
    }
  }

  /** One round trip: proves this session alive, and finds workers whose lock is free. */
  async #checkOthers(client: pg.Client): Promise<void> {
    const { rows } = await withTimeout(
      client.query<{ id: string }>(
        // Remote workers (lease_seconds set) hold no session lock: their lease alone says they live (dead-workers.ts).
        `select w.id from worker w
          where w.id <> $2 and w.lease_seconds is null
            and not exists (
              select 1 from pg_locks l
               where l.locktype = 'advisory' and l.granted and l.objsubid = 2
                 and l.database = (select oid from pg_database where datname = current_database())
                 and l.classid = $1::int::oid and l.objid = hashtext(w.id)::oid)`,
        [WORKER_LOCK_NAMESPACE, this.options.workerId],
      ),
      this.options.intervalMs,
      'worker session check',
    );
    const now = Date.now();
    const free = new Set(rows.map((row) => row.id));
    for (const id of this.#seenFree.keys()) if (!free.has(id)) this.#seenFree.delete(id);
    const dead: string[] = [];
    for (const id of free) {
      const since = this.#seenFree.get(id);
      if (since === undefined) this.#seenFree.set(id, now);
      else if (now - since >= this.options.takeOverAfterMs) dead.push(id);
    }
    if (dead.length === 0) return;
    // Checked again in the statement that releases: a worker that took its lock back meanwhile keeps its jobs.
    const released = await client.query<{ id: string; entries: number }>(
      `with dead as (
         select w.id from worker w
          where w.id = any($2::text[]) and w.lease_seconds is null
            and not exists (
              select 1 from pg_locks l
               where l.locktype = 'advisory' and l.granted and l.objsubid = 2
                 and l.database = (select oid from pg_database where datname = current_database())
                 and l.classid = $1::int::oid and l.objid = hashtext(w.id)::oid)
       ), entries as (
         select count(*)::int as n from graphile_worker._private_jobs where locked_by in (select id from dead)
       ), unlocked as (
         select graphile_worker.force_unlock_workers(array(select id from dead))
       ), removed as (
         delete from worker where id in (select id from dead) returning id
       ), nudged as (
         select pg_notify('jobs:insert', json_build_object('count', (select n from entries))::text)
           from entries where n > 0
       )
       select removed.id, entries.n as entries from removed, entries, unlocked, (select count(*) from nudged) as nudges`,
      [WORKER_LOCK_NAMESPACE, dead],
    );
    for (const id of dead) this.#seenFree.delete(id);
    if (released.rowCount) {
      this.options.onWorkersReleased(released.rows.map((row) => row.id), released.rows[0]!.entries);
    }
  }
}
