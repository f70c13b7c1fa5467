// From the job event log to signed POSTs (docs/webhooks.md).
//
// dispatchEvents: one process at a time (a transaction-scoped advisory lock)
// reads the settled job events after the subscriptions' cursors
// (src/jobs/event-log.ts), inserts one webhook_delivery per event and
// matching subscription, and moves the cursors past them, in one
// transaction: an event becomes a delivery exactly once, also across crashes
// (the unique (subscription_id, job_event_id) index makes a repeat a no-op).
// Nothing of this runs in createJob or a worker's job path: they only append
// to the log, as they always do.
//
// deliverDue: any worker process claims due deliveries for WEBHOOK_TIMEOUT_MS
// and a margin (locked_until), POSTs each signed, and records the answer:
// DELIVERED on 2xx, else another attempt after a doubling backoff, FAILED
// after WEBHOOK_MAX_ATTEMPTS (at once when the outbound rules refuse the
// address). A process killed mid-attempt leaves the claim to run out; the
// next attempt carries the same webhook-id.
import type pg from 'pg';
import type { ConnectionKeyring } from '../connections/encryption.ts';
import type { Queryable } from '../core/queryable.ts';
import { withTransaction } from '../db/pool.ts';
import { compareCursors, encodeCursor, matchesFilter, readSettledEvents, type EventCursor, type JobEventRecord } from '../jobs/event-log.ts';
import { OutboundRefusedError, readExcerpt, type OutboundFetch } from '../net/outbound.ts';
import type { JobStatus } from '../generated/prisma/enums.ts';
import { signWebhook } from './signature.ts';
import { openSecret } from './subscriptions.ts';

/** The advisory lock (two ints) under which one process turns events into deliveries. */
const DISPATCH_LOCK = [0x6a77, 0x7768] as const;
/** Events read per dispatch transaction. */
const EVENTS_PER_PASS = 1000;
/** Deliveries one process claims at once. */
const DELIVERIES_PER_CLAIM = 50;
/** The longest wait between two attempts. */
const MAX_BACKOFF_MS = 3_600_000;
/** What the delivery log keeps of an answer's body. */
const ANSWER_EXCERPT_BYTES = 256;

interface SubscriptionRow {
  id: string;
  tenantId: string;
  statuses: JobStatus[];
  queueNames: string[] | null;
  jobTypes: string[] | null;
  txId: string;
  cursorId: string;
}

/** The body of one job event's delivery (Standard Webhooks' type, timestamp, data). */
export function jobEventBody(event: JobEventRecord) {
  return {
    type: 'job.event',
    timestamp: new Date(event.createdAt).toISOString(),
    data: {
      eventId: event.id,
      cursor: encodeCursor({ txId: event.txId, id: event.id }),
      jobId: event.jobId,
      stepId: event.stepId,
      status: event.status,
      previousStatus: event.previousStatus,
      message: event.message,
      kind: event.kind,
      queueName: event.queueName,
      jobType: event.jobType,
    },
  };
}

/**
 * One dispatch pass; answers how many deliveries it created and whether more
 * events are waiting (read again at once), or null when another process holds
 * the dispatch lock.
 */
export async function dispatchEvents(pool: pg.Pool): Promise<{ created: number; more: boolean } | null> {
  return withTransaction(pool, async (client) => {
    const locked = await client.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1, $2) as locked', [...DISPATCH_LOCK]);
    if (!locked.rows[0]!.locked) return null;
    // Locked against a concurrent delete: a delivery never names a deleted subscription.
    const { rows: subscriptions } = await client.query<SubscriptionRow>(
      `select id, tenant_id as "tenantId", statuses::text[] as statuses, queue_names as "queueNames", job_types as "jobTypes",
              cursor_tx_id::text as "txId", cursor_id::text as "cursorId"
         from webhook_subscription for update`,
    );
    if (subscriptions.length === 0) return { created: 0, more: false };
    const cursorOf = (row: SubscriptionRow): EventCursor => ({ txId: row.txId, id: row.cursorId });
    const from = subscriptions.map(cursorOf).reduce((low, each) => (compareCursors(each, low) < 0 ? each : low));
    const { events } = await readSettledEvents(client, from, EVENTS_PER_PASS);
    if (events.length === 0) return { created: 0, more: false };
    const inserts = { subscriptionIds: [] as string[], tenantIds: [] as string[], eventIds: [] as string[], jobIds: [] as string[], bodies: [] as string[] };
    for (const event of events) {
      for (const subscription of subscriptions) {
        if (compareCursors(event, cursorOf(subscription)) <= 0) continue;
        const filter = { tenantId: subscription.tenantId, statuses: subscription.statuses, queueNames: subscription.queueNames, jobTypes: subscription.jobTypes };
        if (!matchesFilter(event, filter)) continue;
        inserts.subscriptionIds.push(subscription.id);
        inserts.tenantIds.push(subscription.tenantId);
        inserts.eventIds.push(event.id);
        inserts.jobIds.push(event.jobId);
        inserts.bodies.push(JSON.stringify(jobEventBody(event)));
      }
    }
    let created = 0;
    if (inserts.subscriptionIds.length > 0) {
      const result = await client.query(
        `insert into webhook_delivery (subscription_id, tenant_id, event_type, job_event_id, job_id, body)
         select s, t, 'job.event', e, j, b::jsonb from unnest($1::uuid[], $2::text[], $3::bigint[], $4::uuid[], $5::text[]) as u(s, t, e, j, b)
         on conflict (subscription_id, job_event_id) where job_event_id is not null do nothing`,
        [inserts.subscriptionIds, inserts.tenantIds, inserts.eventIds, inserts.jobIds, inserts.bodies],
      );
      created = result.rowCount ?? 0;
    }
    const last = events[events.length - 1]!;
    await client.query(
      `update webhook_subscription set cursor_tx_id = $2, cursor_id = $3
        where id = any($1::uuid[]) and (cursor_tx_id, cursor_id) < ($2::bigint, $3::bigint)`,
      [subscriptions.map((row) => row.id), last.txId, last.id],
    );
    return { created, more: events.length === EVENTS_PER_PASS };
  });
}

interface ClaimedDelivery {
  id: string;
  subscriptionId: string | null;
  tenantId: string | null;
  body: string;
  attemptCount: number;
}

interface Target {
  url: string;
  secret: string;
}

export interface DeliverOptions {
  pool: pg.Pool;
  keyring: ConnectionKeyring;
  outbound: OutboundFetch;
  maxAttempts: number;
  retryBaseMs: number;
  timeoutMs: number;
  /** Where operator alerts go (ALERT_WEBHOOK_URL and its secret); null: not configured. */
  operatorTarget: Target | null;
  /** Aborted when the process stops: attempts in flight end unrecorded (their claims run out; another process sends them). */
  signal?: AbortSignal;
}

/** The wait before attempt `attempt + 1`: retryBaseMs doubled per attempt made, at most an hour. */
export function backoffMs(retryBaseMs: number, attempt: number): number {
  return Math.min(MAX_BACKOFF_MS, retryBaseMs * 2 ** Math.max(0, attempt - 1));
}

/** Claims due deliveries and sends them, batch after batch, until none is due; answers how many attempts it made. */
export async function deliverDue(options: DeliverOptions): Promise<number> {
  let attempts = 0;
  for (;;) {
    if (options.signal?.aborted) return attempts;
    const claimed = await claim(options.pool, options.timeoutMs);
    if (claimed.length === 0) return attempts;
    attempts += claimed.length;
    const targets = await targetsOf(options, claimed);
    const outcomes = await Promise.all(claimed.map((delivery) => attempt(options, delivery, targets.get(delivery.subscriptionId ?? ''))));
    await record(options, claimed, outcomes);
  }
}

async function claim(pool: pg.Pool, timeoutMs: number): Promise<ClaimedDelivery[]> {
  // The claim outlasts the request's own timeout: a live sender always records its answer first.
  const { rows } = await pool.query<ClaimedDelivery>(
    `with due as (
       select id from webhook_delivery
        where status = 'PENDING' and next_attempt_at <= now() and (locked_until is null or locked_until <= now())
        order by next_attempt_at limit $1 for update skip locked
     )
     update webhook_delivery d set locked_until = now() + make_interval(secs => ($2 + 5000) / 1000.0), attempt_count = d.attempt_count + 1
       from due where d.id = due.id
     returning d.id, d.subscription_id as "subscriptionId", d.tenant_id as "tenantId", d.body::text as body, d.attempt_count as "attemptCount"`,
    [DELIVERIES_PER_CLAIM, timeoutMs],
  );
  return rows;
}

async function targetsOf(options: DeliverOptions, claimed: ClaimedDelivery[]): Promise<Map<string, Target | Error>> {
  const targets = new Map<string, Target | Error>();
  targets.set('', options.operatorTarget ?? new Error('ALERT_WEBHOOK_URL is not set: operator alerts have nowhere to go'));
  const ids = [...new Set(claimed.map((delivery) => delivery.subscriptionId).filter((id): id is string => id !== null))];
  if (ids.length === 0) return targets;
  const { rows } = await options.pool.query<{ id: string; tenantId: string; url: string; keyId: string; iv: Buffer; ciphertext: Buffer; authTag: Buffer }>(
    `select id, tenant_id as "tenantId", url, key_id as "keyId", secret_iv as iv, secret_ciphertext as ciphertext, secret_auth_tag as "authTag"
       from webhook_subscription where id = any($1::uuid[])`,
    [ids],
  );
  for (const row of rows) {
    try {
      targets.set(row.id, { url: row.url, secret: openSecret(options.keyring, row.id, row.tenantId, row) });
    } catch (error) {
      targets.set(row.id, error as Error);
    }
  }
  return targets;
}

async function attempt(options: DeliverOptions, delivery: ClaimedDelivery, target: Target | Error | undefined): Promise<Outcome | null> {
  // Deleted meanwhile: its deliveries went with it (cascade); nothing to record.
  if (target === undefined) return null;
  if (target instanceof Error) return { ok: false, final: false, status: null, error: target.message };
  const origin = new URL(target.url).origin;
  try {
    const response = await options.outbound(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'jobwire-webhook', ...signWebhook(target.secret, delivery.id, delivery.body) },
      body: delivery.body,
      signal: options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]) : AbortSignal.timeout(options.timeoutMs),
    });
    const excerpt = await readExcerpt(response, ANSWER_EXCERPT_BYTES).catch(() => ({ text: '', truncated: false }));
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return { ok: false, final: false, status: response.status, error: `POST ${origin} answered ${response.status}: ${excerpt.text}`.trim() };
  } catch (error) {
    if (options.signal?.aborted) return null;
    // Refused by the outbound rules: no retry can help.
    if (error instanceof OutboundRefusedError) return { ok: false, final: true, status: null, error: `POST ${origin}: ${error.message}` };
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const reason =
      error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms (WEBHOOK_TIMEOUT_MS)` : String(cause?.code ?? cause?.message ?? (error as Error).message);
    return { ok: false, final: false, status: null, error: `POST ${origin} failed: ${reason}` };
  }
}

type Outcome = { ok: true; status: number } | { ok: false; final: boolean; status: number | null; error: string };

/**
 * Records a batch's attempts in one statement. A claim that ran out and was
 * taken by another process (its attempt count moved on) records nothing.
 */
async function record(options: DeliverOptions, claimed: ClaimedDelivery[], outcomes: Array<Outcome | null>): Promise<void> {
  const rows = claimed.flatMap((delivery, index) => {
    const outcome = outcomes[index];
    if (!outcome) return [];
    const final = outcome.ok || outcome.final || delivery.attemptCount >= options.maxAttempts;
    return [{ delivery, outcome, status: outcome.ok ? 'DELIVERED' : final ? 'FAILED' : 'PENDING' }];
  });
  if (rows.length === 0) return;
  await options.pool.query(
    `update webhook_delivery d
        set status = o.status::webhook_delivery_status, response_status = o.response_status, last_error = o.error, locked_until = null,
            delivered_at = case when o.status = 'DELIVERED' then now() else d.delivered_at end,
            next_attempt_at = case when o.status = 'PENDING' then now() + make_interval(secs => o.backoff_ms / 1000.0) else d.next_attempt_at end
       from unnest($1::uuid[], $2::int[], $3::text[], $4::int[], $5::text[], $6::float8[]) as o(id, attempt_count, status, response_status, error, backoff_ms)
      where d.id = o.id and d.attempt_count = o.attempt_count`,
    [
      rows.map((row) => row.delivery.id),
      rows.map((row) => row.delivery.attemptCount),
      rows.map((row) => row.status),
      rows.map((row) => row.outcome.status),
      rows.map((row) => (row.outcome.ok ? null : row.outcome.error.slice(0, 2000))),
      rows.map((row) => backoffMs(options.retryBaseMs, row.delivery.attemptCount)),
    ],
  );
}

/** Deletes delivered and failed deliveries older than `days` (and resolved alerts), in one bounded batch each. */
export async function purgeDeliveries(db: Queryable, days: number): Promise<void> {
  await db.query(
    `delete from webhook_delivery where id in (
       select id from webhook_delivery where status <> 'PENDING' and created_at < now() - make_interval(days => $1) limit 10000)`,
    [days],
  );
  await db.query(`delete from operator_alert where resolved_at < now() - make_interval(days => $1)`, [days]);
}
