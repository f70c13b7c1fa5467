// Before anything else uses DATABASE_URL: wait (bounded) for a database that
// is not up yet, as one started alongside us often is, and refuse at once what
// waiting cannot fix (a wrong password, a missing database), each in one line.
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { StartupError } from '../startup-errors.ts';

/** Errors of a server that is not there yet, or not accepting connections yet. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND', // a container's host name appears once its network is up
  '57P03', // the database system is starting up
  '53300', // too many connections
]);

function isTransient(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  if (code) return TRANSIENT_CODES.has(code);
  // pg's own connect timeout, and a connection closed during its handshake.
  return error instanceof Error && /timeout|terminated/i.test(error.message);
}

/** host:port/database of a connection string, without its password. */
export function describeDatabase(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.hostname}:${url.port || 5432}${url.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

function refusal(error: unknown, connectionString: string): StartupError | null {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  const where = describeDatabase(connectionString);
  const user = (() => {
    try {
      return decodeURIComponent(new URL(connectionString).username) || 'the default user';
    } catch {
      return 'the user';
    }
  })();
  if (code === '28P01' || code === '28000') {
    return new StartupError(`the database at ${where} refused ${user}: ${message}. Check the user and password in DATABASE_URL.`);
  }
  if (code === '3D000') return new StartupError(`the database at ${where} does not exist (${message}). Create it, or fix DATABASE_URL.`);
  return null;
}

/**
 * Connects once with a short query; retries transient failures with backoff
 * and jitter until `waitMs` has passed, then gives up with a StartupError.
 */
export async function waitForDatabase(connectionString: string, waitMs: number, logger: Logger): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1, backoffMs = 250; ; attempt++, backoffMs = Math.min(backoffMs * 2, 5000)) {
    const client = new pg.Client({
      connectionString,
      connectionTimeoutMillis: Math.max(500, Math.min(10_000, deadline - Date.now())),
      application_name: 'jobwire start',
    });
    client.on('error', () => undefined); // a failure is reported by connect/query
    try {
      await client.connect();
      await client.query('select 1');
      if (attempt > 1) logger.info({ database: describeDatabase(connectionString), attempt }, 'database reachable');
      return;
    } catch (error) {
      const refused = refusal(error, connectionString);
      if (refused) throw refused;
      if (!isTransient(error)) throw error;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new StartupError(
          `cannot reach the database at ${describeDatabase(connectionString)} (DATABASE_URL) after ${Math.round(waitMs / 1000)} s: ${(error as Error).message || (error as { code?: string }).code}. ` +
            'Check that Postgres runs there, or wait longer with DATABASE_UNAVAILABLE_EXIT_AFTER_MS.',
        );
      }
      const reason = (error as Error).message || (error as { code?: string }).code;
      logger.warn({ database: describeDatabase(connectionString), attempt, reason }, 'database not reachable yet; retrying');
      await delay(Math.min(left, backoffMs / 2 + Math.random() * backoffMs));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
