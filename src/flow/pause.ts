// Pausing a queue: a row in paused_queue, so every worker sees it and it
// outlives restarts. Workers check it before starting a job (gates.ts); a
// resume releases the jobs that waited. Both are announced on QUEUE_CHANNEL.
import type pg from 'pg';
import { withTransaction } from '../db/pool.ts';
import type { Caller } from '../auth/principal.ts';
import { setEventMessage } from '../job-state/job-row.ts';
import { releasePausedQueueJobs } from '../job-state/waiting.ts';
import { QUEUE_NAME_FORMAT } from '../core/validation.ts';
import { ValidationError } from '../core/errors.ts';

export const QUEUE_CHANNEL = 'jobwire_queue';

function checkQueueName(queueName: string) {
  if (!QUEUE_NAME_FORMAT.test(queueName)) {
    throw new ValidationError('queueName', 'must be 1-64 letters, digits or _.:- and start with a letter or digit');
  }
}

/** Idempotent: pausing a paused queue changes nothing. Running jobs finish. */
export async function pauseQueue(pool: pg.Pool, caller: Caller, queueName: string): Promise<void> {
  checkQueueName(queueName);
  await withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      `insert into paused_queue (queue_name, paused_by) values ($1, $2) on conflict (queue_name) do nothing`,
      [queueName, caller.principalId],
    );
    if (rowCount) await client.query('select pg_notify($1, $2)', [QUEUE_CHANNEL, queueName]);
  });
}

/** Idempotent. The jobs that waited for the queue are due at once (or at their scheduled time). */
export async function resumeQueue(pool: pg.Pool, caller: Caller, queueName: string): Promise<void> {
  checkQueueName(queueName);
  await withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(`delete from paused_queue where queue_name = $1`, [queueName]);
    if (!rowCount) return;
    await setEventMessage(client, `queue ${queueName} resumed by ${caller.principalId}`);
    await releasePausedQueueJobs(client, queueName);
    await client.query(`select pg_notify('jobs:insert', ''), pg_notify($1, $2)`, [QUEUE_CHANNEL, queueName]);
  });
}

/** Which of these queues are paused (all paused queues when null). */
export async function readPausedQueues(db: pg.Pool, queueNames: readonly string[] | null): Promise<Set<string>> {
  const { rows } = await db.query<{ queue_name: string }>(
    `select queue_name from paused_queue where $1::text[] is null or queue_name = any($1)`,
    [queueNames],
  );
  return new Set(rows.map((row) => row.queue_name));
}
