import pg from 'pg';
import type { Logger } from '../logger.ts';
import { tagConnectionErrors } from './connection-errors.ts';
import { retryOnDeadlock } from './retry.ts';

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

/**
 * Runs fn in a transaction on one client of the pool. A transaction that
 * Postgres aborts as a deadlock or serialization failure is run again (fn must
 * be safe to repeat: everything it wrote was rolled back).
 */
export function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return retryOnDeadlock(() => runTransaction(pool, fn));
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
