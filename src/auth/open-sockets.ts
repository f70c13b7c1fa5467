// Revocation and expiry reach open websockets. A socket authenticates once, at
// connection_init, and then carries queries, mutations and subscriptions, so
// the principals of open sockets are checked again: every
// WS_AUTH_RECHECK_INTERVAL_MS (one query for all the API keys among them, none
// per request), and at once when `keys revoke` notifies API_KEY_CHANNEL. A
// revoked, expired or deleted key, or a token past its expiry, closes its
// sockets with 4401 and the reason.
import type pg from 'pg';
import type { Listener } from '../db/listener.ts';
import type { Logger } from '../logger.ts';
import { API_KEY_CHANNEL } from './api-keys.ts';
import type { Authenticator } from './authenticate.ts';
import type { Principal } from './principal.ts';

/** graphql-ws keeps 4400-4499 for such reasons; 4401 as at connection_init. */
const UNAUTHORIZED = 4401;

/** Longest delay setTimeout takes; a later expiry is left to the periodic check. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ClosableSocket {
  close(code: number, reason: string): void;
}

interface Entry {
  principal: Principal;
  expiry: NodeJS.Timeout | null;
}

export class OpenSockets {
  readonly #sockets = new Map<ClosableSocket, Entry>();
  #timer: NodeJS.Timeout | null = null;
  #checking: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly listener: Listener,
    private readonly authenticator: Authenticator,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.listener.on('notification', this.#onNotification);
    // Notifications sent while the LISTEN connection was down are lost: check everything.
    this.listener.on('reconnected', this.#onReconnected);
    await this.listener.listen(API_KEY_CHANNEL);
    this.#timer = setInterval(() => void this.recheck(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.listener.off('notification', this.#onNotification);
    this.listener.off('reconnected', this.#onReconnected);
    if (this.#timer) clearInterval(this.#timer);
    for (const entry of this.#sockets.values()) if (entry.expiry) clearTimeout(entry.expiry);
    this.#sockets.clear();
  }

  /** A socket that was let in, as its principal; it closes when that principal's token expires. */
  add(socket: ClosableSocket, principal: Principal): void {
    let expiry: NodeJS.Timeout | null = null;
    if (principal.expiresAt) {
      const left = principal.expiresAt.getTime() - Date.now();
      if (left < MAX_TIMER_MS) expiry = setTimeout(() => this.#close(socket, 'token expired'), Math.max(left, 0));
    }
    this.#sockets.set(socket, { principal, expiry });
  }

  delete(socket: ClosableSocket): void {
    const entry = this.#sockets.get(socket);
    if (entry?.expiry) clearTimeout(entry.expiry);
    this.#sockets.delete(socket);
  }

  get size(): number {
    return this.#sockets.size;
  }

  #onNotification = (channel: string, payload: string) => {
    if (channel !== API_KEY_CHANNEL) return;
    this.authenticator.forgetApiKey(payload);
    void this.recheck();
  };

  #onReconnected = () => void this.recheck();

  /** Checks every open socket's principal now (one at a time: a check while one runs waits for it). */
  recheck(): Promise<void> {
    this.#checking = this.#checking.then(() => this.#check()).catch((error) => this.logger.warn({ err: error }, 'checking the tokens of open websockets failed'));
    return this.#checking;
  }

  async #check(): Promise<void> {
    const now = Date.now();
    const byKey = new Map<string, ClosableSocket[]>();
    for (const [socket, { principal }] of this.#sockets) {
      if (principal.expiresAt && principal.expiresAt.getTime() <= now) this.#close(socket, 'token expired');
      else if (principal.apiKeyId) byKey.set(principal.apiKeyId, [...(byKey.get(principal.apiKeyId) ?? []), socket]);
    }
    if (byKey.size === 0) return;
    const { rows } = await this.pool.query<{ id: string; revoked: boolean; expired: boolean }>(
      `select id, revoked_at is not null as revoked, coalesce(expires_at <= now(), false) as expired from api_key where id = any($1)`,
      [[...byKey.keys()]],
    );
    const found = new Map(rows.map((row) => [row.id, row]));
    for (const [keyId, sockets] of byKey) {
      const row = found.get(keyId);
      const reason = !row ? 'invalid API key' : row.revoked ? 'API key revoked' : row.expired ? 'API key expired' : null;
      if (!reason) continue;
      this.authenticator.forgetApiKey(keyId);
      for (const socket of sockets) this.#close(socket, reason);
    }
  }

  #close(socket: ClosableSocket, reason: string) {
    if (!this.#sockets.has(socket)) return;
    this.delete(socket);
    socket.close(UNAUTHORIZED, `Unauthorized: ${reason}`);
  }
}
