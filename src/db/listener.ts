// One long-lived LISTEN connection per process, outside the pool. It
// reconnects with exponential backoff and jitter and listens again; consumers
// treat a notification as a hint to read the database, and re-read on
// 'reconnected' because notifications sent while it was down are lost.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../logger.ts';

export interface ListenerEvents {
  notification: [channel: string, payload: string];
  reconnected: [];
}

export class Listener extends EventEmitter<ListenerEvents> {
  #client: pg.Client | null = null;
  #channels = new Set<string>();
  #stopped = false;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | null = null;
  /** #client is a stand-in while a reconnect waits (see #scheduleReconnect). */
  #placeholder = false;

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** Whether the LISTEN connection is up now (readiness). */
  get connected(): boolean {
    return this.#client !== null && !this.#placeholder;
  }

  async listen(channel: string): Promise<void> {
    this.#channels.add(channel);
    if (this.#client) await this.#client.query(`listen "${channel}"`);
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, application_name: 'jobwire-listener' });
    client.on('notification', (message) => this.emit('notification', message.channel, message.payload ?? ''));
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'LISTEN connection failed');
      this.#scheduleReconnect(client);
    });
    client.on('end', () => this.#scheduleReconnect(client));
    try {
      await client.connect();
      for (const channel of this.#channels) await client.query(`listen "${channel}"`);
    } catch (error) {
      client.end().catch(() => undefined);
      throw error;
    }
    this.#client = client;
    this.#placeholder = false;
    this.#attempt = 0;
  }

  #scheduleReconnect(failed: pg.Client): void {
    if (this.#stopped || this.#client !== failed) return;
    this.#client = null;
    this.#placeholder = false;
    failed.end().catch(() => undefined);
    // Capped low: after a database restart, live delivery and readiness wait for this reconnect.
    const delay = Math.min(2000, 100 * 2 ** Math.min(this.#attempt++, 10)) * (0.5 + Math.random() / 2);
    this.#reconnectTimer = setTimeout(() => {
      this.#connect().then(
        () => {
          this.logger.info('LISTEN connection re-established');
          this.emit('reconnected');
        },
        (error) => {
          this.logger.warn({ err: error, attempt: this.#attempt }, 'LISTEN reconnect failed');
          const placeholder = new pg.Client();
          this.#client = placeholder;
          this.#placeholder = true;
          this.#scheduleReconnect(placeholder);
        },
      );
    }, delay);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => undefined);
  }
}
