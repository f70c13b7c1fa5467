// A worker's pool has a connection for each slot's fetch and for graphile-worker's
// completion of its last job, plus LISTEN and the batched writes (src/worker/pool-size.ts).
import { describe, expect, it } from 'vitest';
import { workerPoolSize } from '../../src/worker/pool-size.ts';

describe('workerPoolSize', () => {
  it('raises DATABASE_POOL_SIZE to 2 × WORKER_CONCURRENCY + 2', () => {
    expect(workerPoolSize({ DATABASE_POOL_SIZE: 10, WORKER_CONCURRENCY: 10 })).toBe(22);
    expect(workerPoolSize({ DATABASE_POOL_SIZE: 2, WORKER_CONCURRENCY: 1 })).toBe(4);
  });

  it('raises it by at most DATABASE_POOL_SIZE + 2: a large concurrency opens no connections by the hundred', () => {
    expect(workerPoolSize({ DATABASE_POOL_SIZE: 10, WORKER_CONCURRENCY: 40 })).toBe(22);
    expect(workerPoolSize({ DATABASE_POOL_SIZE: 50, WORKER_CONCURRENCY: 40 })).toBe(82);
  });

  it('keeps the defaults (concurrency 4, pool 10) and a larger pool as they are', () => {
    expect(workerPoolSize({ DATABASE_POOL_SIZE: 10, WORKER_CONCURRENCY: 4 })).toBe(10);
    expect(workerPoolSize({ DATABASE_POOL_SIZE: 50, WORKER_CONCURRENCY: 10 })).toBe(50);
  });
});
