// Seed 003's QueueStats, for every queue at once (one grouped query).
import { tenantCondition } from '../auth/tenant-scope.ts';
import type { Queryable } from '../db/pool.ts';

export interface QueueStats {
  readonly queueName: string;
  readonly pendingCount: number;
  readonly scheduledCount: number;
  readonly runningCount: number;
  readonly retryingCount: number;
  readonly completedCount: number;
  readonly failedCount: number;
  readonly deadLetterCount: number;
  readonly cancelledCount: number;
}

/** Stats while readQueueStats counts them. */
type Counting = { -readonly [K in keyof QueueStats]: QueueStats[K] };

const emptyStats = (queueName: string): Counting => ({
  queueName,
  pendingCount: 0,
  scheduledCount: 0,
  runningCount: 0,
  retryingCount: 0,
  completedCount: 0,
  failedCount: 0,
  deadLetterCount: 0,
  cancelledCount: 0,
});

const FIELD_BY_STATUS: Record<string, keyof Omit<QueueStats, 'queueName'>> = {
  PENDING: 'pendingCount',
  SCHEDULED: 'scheduledCount',
  RUNNING: 'runningCount',
  RETRYING: 'retryingCount',
  COMPLETED: 'completedCount',
  FAILED: 'failedCount',
  DEAD_LETTER: 'deadLetterCount',
  CANCELLED: 'cancelledCount',
};

/**
 * Stats of the named queues (all queues when null) of a tenant (null: every
 * tenant), sorted by name. A SCHEDULED job whose time has come counts as
 * pending (seed 003: it is waiting for a worker like any PENDING job), though
 * its row stays SCHEDULED until a worker takes it: counting it here costs
 * nothing, while moving it to PENDING would cost a write and an event per job.
 */
export async function readQueueStats(db: Queryable, tenantId: string | null, queueNames: readonly string[] | null): Promise<QueueStats[]> {
  const result = await db.query<{ queue_name: string; status: string; count: string }>(
    `select queue_name, case when status = 'SCHEDULED' and scheduled_at <= now() then 'PENDING' else status::text end as status,
            count(*) as count
       from job j
      where ($1::text[] is null or queue_name = any($1)) and ${tenantCondition('j', 2)}
      group by 1, 2`,
    [queueNames, tenantId],
  );
  const byQueue = new Map<string, Counting>((queueNames ?? []).map((name) => [name, emptyStats(name)]));
  for (const row of result.rows) {
    let stats = byQueue.get(row.queue_name);
    if (!stats) byQueue.set(row.queue_name, (stats = emptyStats(row.queue_name)));
    stats[FIELD_BY_STATUS[row.status]!] = Number(row.count);
  }
  return [...byQueue.values()].sort((a, b) => a.queueName.localeCompare(b.queueName));
}
