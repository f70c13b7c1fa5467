// The API process that serves remote workers also ends their leases: each
// second it releases the jobs of remote workers whose lease has passed
// (worker/dead-workers.ts), so their jobs return even where no in-process
// worker runs (`jobwire serve`). In-process workers are left to in-process
// workers (their heartbeat and session locks, under their own settings).
import type pg from 'pg';
import type { Logger } from '../logger.ts';
import { releaseDeadWorkers } from '../worker/dead-workers.ts';

export const LEASE_SWEEP_INTERVAL_MS = 1000;

export function startLeaseSweeper(pool: pg.Pool, deadAfterMs: number, logger: Logger): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = releaseDeadWorkers(pool, deadAfterMs, 'leased').then(
      (released) => {
        if (released.length > 0) logger.warn({ deadWorkers: released }, 'released the jobs of workers whose lease passed');
      },
      // The database away: tried again next second.
      (error) => logger.debug({ err: error }, 'lease sweep failed'),
    );
  }, LEASE_SWEEP_INTERVAL_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
