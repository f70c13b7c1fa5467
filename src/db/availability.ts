// Whether this process can reach its database, watched on a connection of its
// own: readiness (/health/ready) reads it, and the process gives up only after
// DATABASE_UNAVAILABLE_EXIT_AFTER_MS without a database, with one clear
// message and a non-zero exit, so that its supervisor restarts it. Every other
// path retries through an outage on its own (retry.ts); this is the one place
// that decides when waiting is pointless.
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { backoffMs } from './retry.ts';

export interface AvailabilityOptions {
  connectionString: string;
  logger: Logger;
  /** How often the database is probed while it answers (ms). */
  probeIntervalMs?: number;
  /** A probe that takes longer than this counts as a failure (ms). */
  probeTimeoutMs?: number;
  /** Give up after this long without the database (ms); 0: never. */
  exitAfterMs: number;
  /** Called once when giving up (the CLI exits the process). */
  onGiveUp: (message: string) => void;
}

/** Named so that a reader of pg_stat_activity (or a test counting statements) can tell it apart. */
export const PROBE = 'select 1 as jobwire_availability_probe';

export class DatabaseAvailability {
  #client: pg.Client | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #failures = 0;
  /** When the database was last seen unreachable after being reachable; null while it answers. */
  #unavailableSince: number | null = null;
  #lastOkAt = 0;
  #gaveUp = false;
  readonly #probeIntervalMs: number;
  readonly #probeTimeoutMs: number;
  readonly #listeners = new Set<(available: boolean) => void>();

  constructor(private readonly options: AvailabilityOptions) {
    this.#probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.#probeTimeoutMs = options.probeTimeoutMs ?? 2000;
  }

  /** The database answered the last probe, and recently. */
  get available(): boolean {
    return this.#unavailableSince === null && Date.now() - this.#lastOkAt < this.#probeIntervalMs + this.#probeTimeoutMs + 1000;
  }

  /** Milliseconds since the database was last reachable (0 while it is). */
  get unavailableForMs(): number {
    return this.#unavailableSince === null ? 0 : Date.now() - this.#unavailableSince;
  }

  /** Calls fn with true/false whenever availability changes. */
  onChange(fn: (available: boolean) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  async start(): Promise<void> {
    await this.#probe();
  }

  /** Another path saw a lost connection: probe now rather than at the next tick. */
  suspect(): void {
    if (this.#stopped || this.#unavailableSince !== null) return;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }

  #schedule(delay: number) {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#probe(), delay);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    try {
      const client = await this.#connected();
      await withTimeout(client.query(PROBE), this.#probeTimeoutMs, 'database probe');
      this.#succeeded();
    } catch (error) {
      this.#failed(error);
    }
    if (!this.#stopped) {
      this.#schedule(this.#unavailableSince === null ? this.#probeIntervalMs : Math.min(this.#probeIntervalMs, backoffMs(this.#failures, { baseMs: 100, maxMs: 1000 })));
    }
  }

  async #connected(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: 'jobwire-probe',
      connectionTimeoutMillis: this.#probeTimeoutMs,
    });
    client.on('error', () => {
      // Noticed at once (a restart closes every session), not at the next probe.
      if (this.#client === client) this.#client = null;
      client.end().catch(() => undefined);
      this.suspect();
    });
    try {
      await client.connect();
    } catch (error) {
      client.end().catch(() => undefined);
      throw error;
    }
    this.#client = client;
    return client;
  }

  #succeeded() {
    this.#lastOkAt = Date.now();
    this.#failures = 0;
    if (this.#unavailableSince !== null) {
      this.options.logger.info({ unavailableForMs: Date.now() - this.#unavailableSince }, 'database reachable again');
      this.#unavailableSince = null;
      this.#emit(true);
    }
  }

  #failed(error: unknown) {
    const client = this.#client;
    this.#client = null;
    client?.end().catch(() => undefined);
    this.#failures++;
    if (this.#unavailableSince === null) {
      this.#unavailableSince = Date.now();
      this.options.logger.warn(
        { err: error, exitAfterMs: this.options.exitAfterMs },
        'database unreachable; retrying (requests answer DATABASE_UNAVAILABLE meanwhile)',
      );
      this.#emit(false);
    }
    const { exitAfterMs } = this.options;
    if (exitAfterMs > 0 && !this.#gaveUp && Date.now() - this.#unavailableSince >= exitAfterMs) {
      this.#gaveUp = true;
      this.options.onGiveUp(
        `database unreachable for ${Math.round((Date.now() - this.#unavailableSince) / 1000)} s ` +
          `(DATABASE_UNAVAILABLE_EXIT_AFTER_MS=${exitAfterMs}): ${errorText(error)}; exiting so that a supervisor restarts the process`,
      );
    }
  }

  #emit(available: boolean) {
    for (const fn of this.#listeners) fn(available);
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return (error as { code?: string }).code ? `${error.message} (${(error as { code?: string }).code})` : error.message;
  return String(error);
}

/**
 * Rejects when the promise takes longer than ms. Checked once more after
 * pending I/O (setImmediate) so that an event loop that was blocked (a busy
 * handler) is not mistaken for a silent database: the answer that arrived
 * meanwhile is read first.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        reject(Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT' }));
      });
    }, ms);
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
