// Makes lost connections retriable in graphile-worker and recognisable
// everywhere, so a Postgres restart is ridden out instead of crashing the process.
//
// graphile-worker 0.17 completes and fails its queue entries without awaiting
// them (worker.js calls completeJob(job) and moves on) and retries only the
// codes in its RETRYABLE_ERROR_CODES (serialization failures, 57P03,
// EHOSTUNREACH, ETIMEDOUT). A 57P01 from `pg_ctl stop`, an ECONNREFUSED while
// Postgres is down or an ECONNRESET rejects that promise unhandled, and Node
// exits. The table is exported and read at each retry, so our codes join it.
// node-postgres raises some lost connections without a code ("Connection
// terminated unexpectedly"): those get 08006 (connection_failure).
import { createRequire } from 'node:module';
import type pg from 'pg';
import { isConnectionError } from './retry.ts';

/** Codes graphile-worker should retry: a restart or failover in progress. */
const RETRY_THROUGH_OUTAGE = { minDelay: 100, maxDelay: 5000 };
const ADDED_CODES = ['53300', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006', '08P01', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'];

let installed = false;

/** Adds lost-connection codes to graphile-worker's retriable ones (once per process). */
export function retryConnectionErrorsInGraphileWorker(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const lib = require('graphile-worker/dist/lib.js') as { RETRYABLE_ERROR_CODES?: Record<string, { minDelay: number; maxDelay: number }> };
  if (!lib.RETRYABLE_ERROR_CODES) throw new Error('graphile-worker has no RETRYABLE_ERROR_CODES: check the upgrade');
  for (const code of ADDED_CODES) lib.RETRYABLE_ERROR_CODES[code] = RETRY_THROUGH_OUTAGE;
}

/** SQLSTATE connection_failure, given to lost connections that node-postgres reports without a code. */
export const CONNECTION_FAILURE = '08006';

/** Gives a code to codeless lost-connection errors of this client's queries (see above). */
export function tagConnectionErrors(client: pg.PoolClient | pg.Client): void {
  // The prototype's query is looked up at each call, not captured: whoever wraps it later is still called.
  const prototype = Object.getPrototypeOf(client) as { query: (...args: unknown[]) => unknown };
  (client as { query: unknown }).query = function (this: unknown, ...args: unknown[]) {
    const result = prototype.query.apply(client, args);
    if (result && typeof (result as Promise<unknown>).then === 'function' && typeof (result as { submit?: unknown }).submit !== 'function') {
      return (result as Promise<unknown>).catch((error: unknown) => {
        if (error instanceof Error && !(error as { code?: string }).code && isConnectionError(error)) {
          (error as { code?: string }).code = CONNECTION_FAILURE;
        }
        throw error;
      });
    }
    return result;
  };
}
