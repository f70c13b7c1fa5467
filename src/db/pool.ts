import pg from 'pg';
import type { Logger } from '../logger.ts';
import { tagConnectionErrors } from './connection-errors.ts';

// Postgres int8 (bigint) comes back as a string: event ids and counts stay exact.

export interface PoolLimits {
  /** Postgres cancels a statement of this pool's connections that runs longer (ms; 0: never). */
  statementTimeoutMs?: number;
  /** A caller waiting this long for a free connection gets an error instead (ms; 0: waits for ever). */
  acquireTimeoutMs?: number;
}

export function createPool(connectionString: string, max: number, logger: Logger, limits: PoolLimits = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    application_name: 'jobwire',
    // Sent at connect, so every statement of the connection has it (0: Postgres' default, none).
    ...(limits.statementTimeoutMs ? { statement_timeout: limits.statementTimeoutMs } : {}),
    // Also bounds opening a new connection (pg-pool): an unreachable server fails as fast.
    ...(limits.acquireTimeoutMs ? { connectionTimeoutMillis: limits.acquireTimeoutMs } : {}),
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection failed'));
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.warn({ err: error }, 'database connection failed'));
    tagConnectionErrors(client);
  });
  return pool;
}

/** Deadlock and serialization failure: the transaction did nothing and can simply run again. */
const RETRIABLE_SQLSTATES = new Set(['40P01', '40001']);
const TRANSACTION_ATTEMPTS = 3;

/**
 * Runs fn in a transaction on one client of the pool. A transaction that
 * Postgres aborts as a deadlock or serialization failure is run again (fn must
 * be safe to repeat: everything it wrote was rolled back).
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runTransaction(pool, fn);
    } catch (error) {
      const code = (error as { code?: string } | null)?.code;
      if (attempt >= TRANSACTION_ATTEMPTS || !code || !RETRIABLE_SQLSTATES.has(code)) throw error;
    }
  }
}

async function runTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export type { Queryable } from '../core/queryable.ts';
