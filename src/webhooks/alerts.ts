// Operator alert rules (docs/webhooks.md): evaluated every
// ALERT_EVALUATE_INTERVAL_MS by one process at a time (a transaction-scoped
// advisory lock), each delivered as a signed webhook to ALERT_WEBHOOK_URL
// through the same deliveries as the tenants' (deliveries.ts).
//
// An episode is one operator_alert row per rule and subject (a queue, a
// worker, '' for the service): opened when the rule is first seen breached,
// fired once (alert.fired) when the breach has lasted long enough (a backlog
// ALERT_BACKLOG_MINUTES, the others at once), resolved once (alert.resolved)
// at the first evaluation that no longer sees it. A breach that ends before
// it fires is forgotten without a word.
import type pg from 'pg';
import { withTransaction } from '../db/pool.ts';

/** The advisory lock (two ints) of the evaluation ("jw", "al"). */
const ALERT_LOCK = [0x6a77, 0x616c] as const;

export type AlertRule = 'BACKLOG' | 'WORKER_STALLED' | 'DEAD_LETTERS';

export interface AlertRules {
  /** More PENDING jobs than this in one queue (unset: rule off)... */
  backlogThreshold?: number;
  /** ...for this many minutes. */
  backlogMinutes: number;
  /** A worker's heartbeat older than this (ms; unset: rule off). */
  workerStalledAfterMs?: number;
  /** More DEAD_LETTER events than this in the hour before (unset: rule off). */
  deadLettersPerHour?: number;
}

export function alertRulesOf(config: {
  ALERT_BACKLOG_THRESHOLD?: number;
  ALERT_BACKLOG_MINUTES: number;
  ALERT_WORKER_STALLED_AFTER_MS?: number;
  ALERT_DEAD_LETTERS_PER_HOUR?: number;
}): AlertRules {
  return {
    backlogThreshold: config.ALERT_BACKLOG_THRESHOLD,
    backlogMinutes: config.ALERT_BACKLOG_MINUTES,
    workerStalledAfterMs: config.ALERT_WORKER_STALLED_AFTER_MS,
    deadLettersPerHour: config.ALERT_DEAD_LETTERS_PER_HOUR,
  };
}

export const anyAlertRule = (rules: AlertRules) =>
  rules.backlogThreshold !== undefined || rules.workerStalledAfterMs !== undefined || rules.deadLettersPerHour !== undefined;

interface Breach {
  rule: AlertRule;
  subject: string;
  value: number;
  threshold: number;
}

interface AlertRow {
  id: string;
  rule: AlertRule;
  subject: string;
  breachedSince: Date;
  firedAt: Date | null;
  detail: Record<string, unknown>;
}

export interface AlertChange {
  type: 'alert.fired' | 'alert.resolved';
  alertId: string;
  rule: AlertRule;
  subject: string;
}

const key = (rule: string, subject: string) => `${rule}\0${subject}`;

function summary(breach: Breach, rules: AlertRules): string {
  switch (breach.rule) {
    case 'BACKLOG':
      return `queue ${breach.subject} has ${breach.value} PENDING jobs (more than ${breach.threshold}) for ${rules.backlogMinutes} minutes or more`;
    case 'WORKER_STALLED':
      return `worker ${breach.subject} has not sent a heartbeat for ${Math.round(breach.value / 1000)} s (more than ${breach.threshold / 1000} s)`;
    case 'DEAD_LETTERS':
      return `${breach.value} jobs reached DEAD_LETTER in the last hour (more than ${breach.threshold})`;
  }
}

async function breaches(client: pg.PoolClient, rules: AlertRules, now: Date): Promise<Breach[]> {
  const found: Breach[] = [];
  if (rules.backlogThreshold !== undefined) {
    const { rows } = await client.query<{ subject: string; value: number }>(
      `select queue_name as subject, count(*)::int as value from job where status = 'PENDING' group by queue_name having count(*) > $1 order by 1`,
      [rules.backlogThreshold],
    );
    found.push(...rows.map((row) => ({ rule: 'BACKLOG' as const, ...row, threshold: rules.backlogThreshold! })));
  }
  if (rules.workerStalledAfterMs !== undefined) {
    // Silence counts from the server's start at the earliest, as for dead workers (job-state/worker-alive.ts).
    const { rows } = await client.query<{ subject: string; value: number }>(
      `select id as subject, (extract(epoch from $1::timestamptz - greatest(last_heartbeat_at, pg_postmaster_start_time())) * 1000)::float8 as value
         from worker where greatest(last_heartbeat_at, pg_postmaster_start_time()) < $1::timestamptz - make_interval(secs => $2 / 1000.0) order by 1`,
      [now, rules.workerStalledAfterMs],
    );
    found.push(...rows.map((row) => ({ rule: 'WORKER_STALLED' as const, ...row, threshold: rules.workerStalledAfterMs! })));
  }
  if (rules.deadLettersPerHour !== undefined) {
    const { rows } = await client.query<{ value: number }>(
      `select count(*)::int as value from job_event
        where status = 'DEAD_LETTER' and created_at > $1::timestamptz - interval '1 hour' and created_at <= $1::timestamptz`,
      [now],
    );
    const value = rows[0]!.value;
    if (value > rules.deadLettersPerHour) found.push({ rule: 'DEAD_LETTERS', subject: '', value, threshold: rules.deadLettersPerHour });
  }
  return found;
}

async function enqueue(client: pg.PoolClient, change: AlertChange, body: unknown): Promise<void> {
  await client.query(`insert into webhook_delivery (event_type, body) values ($1, $2)`, [change.type, JSON.stringify(body)]);
}

/**
 * One evaluation at `at` (default: the database's now); answers the alerts it fired and resolved, or null
 * when another process is evaluating.
 */
export async function evaluateAlerts(pool: pg.Pool, rules: AlertRules, at?: Date): Promise<AlertChange[] | null> {
  return withTransaction(pool, async (client) => {
    const locked = await client.query<{ locked: boolean; now: Date }>('select pg_try_advisory_xact_lock($1, $2) as locked, now()', [...ALERT_LOCK]);
    if (!locked.rows[0]!.locked) return null;
    // The database's clock by default: heartbeats and events are dated by it.
    const now = at ?? locked.rows[0]!.now;
    const current = await breaches(client, rules, now);
    const { rows: open } = await client.query<AlertRow>(
      `select id, rule, subject, breached_since as "breachedSince", fired_at as "firedAt", detail from operator_alert where resolved_at is null for update`,
    );
    const openByKey = new Map(open.map((row) => [key(row.rule, row.subject), row]));
    const breachedKeys = new Set(current.map((breach) => key(breach.rule, breach.subject)));
    const changes: AlertChange[] = [];
    for (const row of open) {
      if (breachedKeys.has(key(row.rule, row.subject))) continue;
      if (!row.firedAt) {
        await client.query('delete from operator_alert where id = $1', [row.id]);
        continue;
      }
      await client.query('update operator_alert set resolved_at = $2 where id = $1', [row.id, now]);
      const change: AlertChange = { type: 'alert.resolved', alertId: row.id, rule: row.rule, subject: row.subject };
      await enqueue(client, change, {
        type: change.type,
        timestamp: now.toISOString(),
        data: { ...row.detail, alertId: row.id, rule: row.rule, subject: row.subject, breachedSince: row.breachedSince, firedAt: row.firedAt, resolvedAt: now },
      });
      changes.push(change);
    }
    for (const breach of current) {
      let row = openByKey.get(key(breach.rule, breach.subject));
      if (!row) {
        const inserted = await client.query<AlertRow>(
          `insert into operator_alert (rule, subject, breached_since) values ($1, $2, $3)
           returning id, rule, subject, breached_since as "breachedSince", fired_at as "firedAt", detail`,
          [breach.rule, breach.subject, now],
        );
        row = inserted.rows[0]!;
      }
      if (row.firedAt) continue;
      const lasted = now.getTime() - new Date(row.breachedSince).getTime();
      if (breach.rule === 'BACKLOG' && lasted < rules.backlogMinutes * 60_000) continue;
      const detail = { value: breach.value, threshold: breach.threshold, summary: summary(breach, rules) };
      await client.query('update operator_alert set fired_at = $2, detail = $3 where id = $1', [row.id, now, JSON.stringify(detail)]);
      const change: AlertChange = { type: 'alert.fired', alertId: row.id, rule: breach.rule, subject: breach.subject };
      await enqueue(client, change, {
        type: change.type,
        timestamp: now.toISOString(),
        data: { ...detail, alertId: row.id, rule: breach.rule, subject: breach.subject, breachedSince: row.breachedSince, firedAt: now },
      });
      changes.push(change);
    }
    return changes;
  });
}
