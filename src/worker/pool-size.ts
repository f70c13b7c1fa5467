// How many connections a worker process's pool may open. Each slot holds one
// while it fetches its next queue entry, and graphile-worker completes the last
// one's entry without waiting (another connection); graphile-worker's LISTEN
// holds one, and the batched reads and writes of the hot path one more. A pool
// smaller than that makes slots wait for a connection: at WORKER_CONCURRENCY=10
// a pool of 10 ran about 1.4x slower than one of 22 (docs/performance.md).
// The raise is bounded (twice the configured size, plus two) so that a large
// concurrency of slow jobs does not open connections by the hundred unasked.
import type { Config } from '../config.ts';

/** DATABASE_POOL_SIZE, raised towards 2 × WORKER_CONCURRENCY + 2, by at most DATABASE_POOL_SIZE + 2. */
export function workerPoolSize(config: Pick<Config, 'DATABASE_POOL_SIZE' | 'WORKER_CONCURRENCY'>): number {
  const wanted = 2 * config.WORKER_CONCURRENCY + 2;
  return Math.max(config.DATABASE_POOL_SIZE, Math.min(wanted, 2 * config.DATABASE_POOL_SIZE + 2));
}
