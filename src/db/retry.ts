// Lost database connections: telling them from other errors, and retrying
// through them with exponential backoff and jitter.
//
// A Postgres restart, a failover or a dropped socket is normal in production:
// every path that talks to the database either retries it here or lets the
// caller see a clear DATABASE_UNAVAILABLE answer. How long a process keeps
// trying before it gives up is the DatabaseAvailability's business (availability.ts).
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * SQLSTATEs and socket codes of a connection that is gone or not yet back.
 * 57P01 admin shutdown (pg_ctl stop -m fast), 57P02 crash shutdown (-m immediate),
 * 57P03 cannot connect now (starting up / shutting down), class 08 connection
 * exceptions; 53300 too many connections (every slot taken: one frees soon);
 * socket errors while Postgres is down or moving.
 */
const CONNECTION_CODES = new Set([
  '53300',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '08P01',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  // Prisma: can't reach the server, timed out reaching it, server closed the connection
  'P1001',
  'P1002',
  'P1017',
]);

/** What node-postgres and Prisma's adapter say when a socket closes under them. */
const CONNECTION_MESSAGES =
  /Connection terminated|connection error|Client was closed and is not queryable|Cannot use a pool after calling end|terminating connection|the database system is (starting up|shutting down|in recovery mode)|timeout exceeded when trying to connect|Can't reach database|Server has closed the connection|DatabaseNotReachable|ConnectionClosed|SocketTimeout/i;

/** Prisma's driver-adapter error kinds for a lost connection. */
const CONNECTION_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

/** True when the error (or one it wraps) is a lost or refused database connection. */
export function isConnectionError(error: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const value = current as {
      code?: unknown;
      kind?: unknown;
      message?: unknown;
      cause?: unknown;
      originalError?: unknown;
      errors?: unknown;
      meta?: { driverAdapterError?: unknown };
    };
    if (typeof value.code === 'string' && CONNECTION_CODES.has(value.code)) return true;
    if (typeof value.kind === 'string' && CONNECTION_KINDS.has(value.kind)) return true;
    if (value.kind === 'postgres' && typeof (value as { code?: unknown }).code === 'string' && CONNECTION_CODES.has(String(value.code))) return true;
    if (typeof value.message === 'string' && CONNECTION_MESSAGES.test(value.message)) return true;
    // AggregateError (a connect that tried IPv4 and IPv6)
    if (Array.isArray(value.errors) && value.errors.some((inner) => isConnectionError(inner))) return true;
    current = value.meta?.driverAdapterError ?? value.cause ?? value.originalError;
  }
  return false;
}

export interface BackoffOptions {
  /** First delay (ms); doubles per attempt. */
  baseMs?: number;
  /** Largest delay (ms). */
  maxMs?: number;
}

/** Exponential backoff with full jitter between half and all of the delay. */
export function backoffMs(attempt: number, { baseMs = 100, maxMs = 5000 }: BackoffOptions = {}): number {
  const delay = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(delay / 2 + (Math.random() * delay) / 2);
}

export interface RetryOptions extends BackoffOptions {
  /** Stop retrying once this returns true (shutdown); the last error is thrown. */
  stopped?: () => boolean;
  /** Called before each wait, e.g. to log the first failure. */
  onRetry?: (error: unknown, attempt: number) => void;
}

/**
 * Runs fn until it succeeds or fails with an error that is not a lost
 * connection. fn must be safe to repeat: a statement whose connection broke
 * may or may not have committed, so the writes retried here are guarded (they
 * change nothing when they already applied).
 */
export async function retryOnConnectionError<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isConnectionError(error) || options.stopped?.()) throw error;
      options.onRetry?.(error, attempt);
      await sleep(backoffMs(attempt, options));
    }
  }
}

/** Deadlock and serialization failure: Postgres aborted the statement or transaction, which did nothing. */
const ABORTED_SQLSTATES = new Set(['40P01', '40001']);
const ABORTED_ATTEMPTS = 3;

/** True when Postgres aborted the work to break a deadlock or a serialization conflict. */
export function isDeadlockOrSerializationFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ABORTED_SQLSTATES.has(code);
}

/**
 * Runs fn again (up to 3 attempts in all) when Postgres aborts it as a
 * deadlock or serialization failure: the aborted transaction wrote nothing,
 * and the other side of the cycle has gone ahead. fn must be safe to repeat,
 * as for retryOnConnectionError (an autocommit write before the aborted one stays).
 */
export async function retryOnDeadlock<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= ABORTED_ATTEMPTS || !isDeadlockOrSerializationFailure(error)) throw error;
    }
  }
}
