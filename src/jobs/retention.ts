// Seed 004's retention: terminal jobs older than JOB_RETENTION_DAYS go, with
// their steps, events and kind rows, in batches (short transactions).
import type pg from 'pg';
import type { Task } from 'graphile-worker';
import type { Logger } from '../logger.ts';

export const PURGE_TASK = 'purge_finished_jobs';
const BATCH_SIZE = 1000;

export async function purgeFinishedJobs(pool: pg.Pool, finishedBefore: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await pool.query<{ deleted: number }>('select purge_finished_jobs($1, $2) as deleted', [finishedBefore, BATCH_SIZE]);
    const deleted = result.rows[0]!.deleted;
    total += deleted;
    if (deleted < BATCH_SIZE) return total;
  }
}

export function createPurgeTask(deps: { pool: pg.Pool; logger: Logger; retentionDays: number }): Task {
  return async () => {
    const cutoff = new Date(Date.now() - deps.retentionDays * 86_400_000);
    const deleted = await purgeFinishedJobs(deps.pool, cutoff);
    deps.logger.info({ deleted, finishedBefore: cutoff.toISOString() }, 'purged finished jobs');
  };
}
