// Queue rate limits: at most maxStarts job starts per intervalMs in a queue,
// across all workers (enforced in gates.ts). A row per limited queue.
import type pg from 'pg';
import { ValidationError } from '../core/errors.ts';
import { QUEUE_NAME_FORMAT } from '../core/validation.ts';

export interface QueueRateLimit {
  queueName: string;
  maxStarts: number;
  intervalMs: number;
}

/** Sets (or replaces) a queue's limit; it applies to the next start. */
export async function setQueueRateLimit(pool: pg.Pool, limit: QueueRateLimit): Promise<void> {
  if (!QUEUE_NAME_FORMAT.test(limit.queueName)) {
    throw new ValidationError('queueName', 'must be 1-64 letters, digits or _.:- and start with a letter or digit');
  }
  if (!Number.isInteger(limit.maxStarts) || limit.maxStarts < 1 || limit.maxStarts > 100_000) throw new ValidationError('maxStarts', 'must be 1..100000');
  if (!Number.isInteger(limit.intervalMs) || limit.intervalMs < 1 || limit.intervalMs > 86_400_000) {
    throw new ValidationError('intervalMs', 'must be 1..86400000 (a day)');
  }
  await pool.query(
    `insert into queue_rate_limit (queue_name, max_starts, interval_ms) values ($1, $2, $3)
     on conflict (queue_name) do update set max_starts = excluded.max_starts, interval_ms = excluded.interval_ms`,
    [limit.queueName, limit.maxStarts, limit.intervalMs],
  );
}

/** Idempotent. Jobs waiting for the limit start at their next look (within the interval). */
export async function clearQueueRateLimit(pool: pg.Pool, queueName: string): Promise<void> {
  await pool.query(`delete from queue_rate_limit where queue_name = $1`, [queueName]);
}

export async function readQueueRateLimits(pool: pg.Pool): Promise<Map<string, QueueRateLimit>> {
  const { rows } = await pool.query<QueueRateLimit>(
    `select queue_name as "queueName", max_starts as "maxStarts", interval_ms as "intervalMs" from queue_rate_limit`,
  );
  return new Map(rows.map((row) => [row.queueName, row]));
}
