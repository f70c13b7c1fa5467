// Retention: finished jobs go once older than their rule (JOB_RETENTION, per
// status and queue; JOB_RETENTION_DAYS otherwise), with their steps, events and
// kind rows, in batches of BATCH_SIZE, one short transaction each, with a pause
// between batches so the purge does not crowd out running work. Only finished
// jobs are selected (purge_jobs_by_rules); rows in use are skipped.
import type pg from 'pg';
import type { Task } from 'graphile-worker';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import type { RetentionRule } from '../core/retention-rules.ts';

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

export interface RetentionSettings {
  rules: readonly RetentionRule[];
  /** Finished jobs no rule covers are kept this many days. */
  retentionDays: number;
  /** Pause between batches. */
  pauseMs: number;
  batchSize?: number;
}

/** Purges every finished job past its rule, batch by batch; returns how many went. */
export async function purgeByRules(pool: pg.Pool, settings: RetentionSettings): Promise<number> {
  const defaultSeconds = settings.retentionDays * 86_400;
  const shortest = Math.min(defaultSeconds, ...settings.rules.map((rule) => rule.seconds));
  const batchSize = settings.batchSize ?? BATCH_SIZE;
  let total = 0;
  for (;;) {
    const createdBefore = new Date(Date.now() - shortest * 1000);
    const result = await pool.query<{ deleted: number }>('select purge_jobs_by_rules($1, $2, $3, $4) as deleted', [
      JSON.stringify(settings.rules),
      defaultSeconds,
      createdBefore,
      batchSize,
    ]);
    const deleted = result.rows[0]!.deleted;
    total += deleted;
    if (deleted < batchSize) return total;
    if (settings.pauseMs > 0) await delay(settings.pauseMs);
  }
}

/**
 * Rate limit starts older than a day (the longest interval a limit may have)
 * count in no window. A key's starts are pruned as the key starts again
 * (flow/gates.ts); these are the keys that never start again (a customer gone).
 */
export async function pruneRateLimitStarts(pool: pg.Pool, batchSize = BATCH_SIZE): Promise<number> {
  let total = 0;
  for (const table of ['rate_limit_key_start', 'queue_rate_limit_start']) {
    for (;;) {
      const result = await pool.query(
        `delete from ${table} where ctid = any(array(select ctid from ${table} where started_at < now() - interval '1 day' limit $1))`,
        [batchSize],
      );
      total += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < batchSize) break;
    }
  }
  return total;
}

export function createPurgeTask(deps: { pool: pg.Pool; logger: Logger } & RetentionSettings): Task {
  return async () => {
    const deleted = await purgeByRules(deps.pool, deps);
    const rateLimitStarts = await pruneRateLimitStarts(deps.pool);
    deps.logger.info({ deleted, rateLimitStarts, rules: deps.rules, retentionDays: deps.retentionDays }, 'purged finished jobs');
  };
}
