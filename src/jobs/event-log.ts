// Reading the job_event log in delivery order.
//
// Events are ordered by (tx_id, id), not by id alone: ids are taken at insert
// and can commit out of order. An event is "settled" once every transaction
// older than its own has ended (tx_id < the snapshot's xmin): no event can
// appear later at or before it. Readers deliver settled events only, so a
// cursor never passes a row that is still invisible.
import { tenantCondition } from '../auth/tenant-scope.ts';
import type { Queryable } from '../db/pool.ts';
import type { JobKind, JobStatus } from '../generated/prisma/enums.ts';
import { ValidationError } from '../core/errors.ts';

export interface EventCursor {
  txId: string;
  id: string;
}

export const ORIGIN: EventCursor = { txId: '0', id: '0' };

export function encodeCursor(cursor: EventCursor): string {
  return Buffer.from(`event:${cursor.txId}:${cursor.id}`).toString('base64url');
}

export function decodeCursor(value: string, field = 'after'): EventCursor {
  const match = /^event:(\d{1,20}):(\d{1,20})$/.exec(Buffer.from(value, 'base64url').toString());
  if (!match) throw new ValidationError(field, 'is not an event cursor (use the cursor of an event you received)');
  return { txId: match[1]!, id: match[2]! };
}

export function compareCursors(a: EventCursor, b: EventCursor): number {
  const tx = BigInt(a.txId) - BigInt(b.txId);
  if (tx !== 0n) return tx < 0n ? -1 : 1;
  const id = BigInt(a.id) - BigInt(b.id);
  return id === 0n ? 0 : id < 0n ? -1 : 1;
}

/** One row of job_event with the fields of its job that subscriptions filter on. */
export interface JobEventRecord {
  id: string;
  txId: string;
  jobId: string;
  stepId: string | null;
  status: JobStatus;
  previousStatus: JobStatus | null;
  message: string | null;
  createdAt: Date;
  kind: JobKind;
  queueName: string;
  jobType: string;
  tenantId: string;
  /** The job's parent (ctx.spawn, createJob's parentJobId), if it has one. */
  parentJobId: string | null;
  /** The job's tags when the event was read (a tag viewer token follows the jobs that have its tag then). */
  tags: string[];
  /**
   * The job's row, read once per batch of live events for every subscriber
   * (live.ts), so that `job { ... }` costs no query per event and subscriber.
   */
  job?: unknown;
}

export interface JobEventFilter {
  /** Required, so no subscription can forget it: the caller's visibleTenant (null: admin, every tenant). */
  tenantId: string | null;
  jobIds?: readonly string[] | null;
  kinds?: readonly JobKind[] | null;
  queueNames?: readonly string[] | null;
  jobTypes?: readonly string[] | null;
  statuses?: readonly JobStatus[] | null;
  /** Only events of these jobs' children (the dashboard's tree of child jobs). */
  parentJobIds?: readonly string[] | null;
  /** Only jobs that have all of these tags when the event is read (a tag viewer token's). */
  tags?: readonly string[] | null;
}

export function matchesFilter(event: JobEventRecord, filter: JobEventFilter): boolean {
  return (
    (filter.tenantId === null || filter.tenantId === event.tenantId) &&
    (!filter.jobIds?.length || filter.jobIds.includes(event.jobId)) &&
    (!filter.kinds?.length || filter.kinds.includes(event.kind)) &&
    (!filter.queueNames?.length || filter.queueNames.includes(event.queueName)) &&
    (!filter.jobTypes?.length || filter.jobTypes.includes(event.jobType)) &&
    (!filter.statuses?.length || filter.statuses.includes(event.status)) &&
    (!filter.parentJobIds?.length || (event.parentJobId !== null && filter.parentJobIds.includes(event.parentJobId))) &&
    (!filter.tags?.length || filter.tags.every((tag) => event.tags.includes(tag)))
  );
}

const EVENT_COLUMNS = `e.id::text as id, e.tx_id::text as "txId", e.job_id as "jobId", e.step_id as "stepId",
  e.status, e.previous_status as "previousStatus", e.message, e.created_at as "createdAt",
  j.kind, j.queue_name as "queueName", j.job_type as "jobType", j.tenant_id as "tenantId",
  j.parent_job_id as "parentJobId", j.tags`;

/**
 * The settled events after a cursor, oldest first, and whether unsettled ones
 * are behind them (then read again soon). Settled events sort before every
 * unsettled one (their tx_id is below the barrier), so only the settled prefix
 * is read: under load, the rows of transactions still open are not fetched
 * again and again on every wake-up.
 */
export async function readSettledEvents(
  db: Queryable,
  after: EventCursor,
  limit: number,
): Promise<{ events: JobEventRecord[]; unsettledBehind: boolean }> {
  const result = await db.query<JobEventRecord & { unsettledBehind: boolean; id: string | null }>({
    name: 'jobwire-read-settled-events',
    text: `with barrier as materialized (select job_event_settled_before() as tx_id)
      select settled.*, exists (
               select 1 from job_event u
                where (u.tx_id, u.id) > ($1::bigint, $2::bigint) and u.tx_id >= (select tx_id from barrier)
             ) as "unsettledBehind"
        from (select 1) as one
        left join lateral (
          select ${EVENT_COLUMNS}
            from job_event e join job j on j.id = e.job_id
           where (e.tx_id, e.id) > ($1::bigint, $2::bigint) and e.tx_id < (select tx_id from barrier)
           order by e.tx_id, e.id
           limit $3
        ) as settled on true`,
    values: [after.txId, after.id, limit],
  });
  const unsettledBehind = result.rows[0]?.unsettledBehind ?? false;
  const events = result.rows
    .filter((row) => row.id !== null)
    .map(({ unsettledBehind: _behind, ...event }) => event as JobEventRecord);
  return { events, unsettledBehind };
}

/** The newest settled cursor: everything at or before it is final. */
export async function readSettledHead(db: Queryable): Promise<EventCursor> {
  const result = await db.query<EventCursor>(
    `select tx_id::text as "txId", id::text as id from job_event
      where tx_id < job_event_settled_before()
      order by tx_id desc, id desc limit 1`,
  );
  return result.rows[0] ?? ORIGIN;
}

/** Replays (after, upTo] matching a filter: everything in it is settled. */
export async function readEventRange(
  db: Queryable,
  after: EventCursor,
  upTo: EventCursor,
  filter: JobEventFilter,
  limit: number,
): Promise<JobEventRecord[]> {
  const result = await db.query<JobEventRecord>(
    `select ${EVENT_COLUMNS}
       from job_event e join job j on j.id = e.job_id
      where (e.tx_id, e.id) > ($1::bigint, $2::bigint)
        and (e.tx_id, e.id) <= ($3::bigint, $4::bigint)
        and ($5::uuid[] is null or e.job_id = any($5))
        and ($6::job_kind[] is null or j.kind = any($6))
        and ($7::text[] is null or j.queue_name = any($7))
        and ($8::text[] is null or j.job_type = any($8))
        and ($9::job_status[] is null or e.status = any($9))
        and ${tenantCondition('j', 11)}
        and ($12::text[] is null or j.tags @> $12)
      order by e.tx_id, e.id
      limit $10`,
    [
      after.txId,
      after.id,
      upTo.txId,
      upTo.id,
      filter.jobIds?.length ? filter.jobIds : null,
      filter.kinds?.length ? filter.kinds : null,
      filter.queueNames?.length ? filter.queueNames : null,
      filter.jobTypes?.length ? filter.jobTypes : null,
      filter.statuses?.length ? filter.statuses : null,
      limit,
      filter.tenantId,
      filter.tags?.length ? filter.tags : null,
    ],
  );
  return result.rows;
}
