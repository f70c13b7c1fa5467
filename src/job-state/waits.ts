// Durable waits (src/worker/waits.ts is the handler's side): a RUNNING job
// that reaches a wait ends its attempt without failing, RUNNING → PENDING with
// its waiting reason (TIMER, EVENT, SIGNAL, CHILDREN), its wait in job_wait and
// its queue entry due when the wait ends by time (never, until woken, for an
// event or signal without a timeout). The wait is a step of the job: a later
// attempt finds it COMPLETED with the wait's result.
//
// Deleting the job_wait row is the wake: of two wakers (an event and the
// timeout, two sendEvent calls, two workers), exactly one deletes it and
// completes the step; the other finds the step's result. The wakes that come
// from outside (sendEvent, signalJob) are the SQL functions send_event and
// signal_job (migration 000035), so an app can call them in its own transaction.
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.ts';
import type { JobWaitingReason } from '../generated/prisma/enums.ts';
import { setEventMessage, type JobRow } from './job-row.ts';
import { queueJobsAgain } from './queue-entry.ts';
import { findStep, startStep, type StepRow } from './steps.ts';
import { WAIT_UNTIL_RELEASED } from './waiting.ts';

/** The reasons a job waits by its own doing (the others are flow control's). */
export type WaitReason = Extract<JobWaitingReason, 'TIMER' | 'EVENT' | 'SIGNAL' | 'CHILDREN'>;

export type { WaitResult } from '../core/handler.ts';

/** A wait the handler reached: what to record when the attempt ends. */
export interface WaitSpec {
  readonly stepName: string;
  readonly reason: WaitReason;
  /** The event's or signal's name. */
  readonly name?: string;
  /** EVENT: the event's data must contain this JSON. */
  readonly match?: Record<string, unknown>;
  /** When the timer ends or the wait times out: a time, or a delay from the database's now; neither: never. */
  readonly wakeAt?: Date;
  readonly wakeInMs?: number;
  readonly childJobIds?: readonly string[];
  readonly childrenMode?: 'ALL' | 'ANY';
}

export interface WaitRow {
  readonly stepId: string;
  readonly reason: WaitReason;
  readonly wakeAt: Date | null;
  /** Whether wake_at has passed (by the database's clock). */
  readonly due: boolean;
}

/** The named step of a job and, while it waits there, its wait. */
export async function readStepWait(db: Queryable, jobId: string, stepName: string): Promise<{ step: StepRow | null; wait: WaitRow | null }> {
  const step = await findStep(db, jobId, stepName);
  if (!step || step.status === 'COMPLETED') return { step, wait: null };
  const { rows } = await db.query<WaitRow>(
    `select step_id as "stepId", reason, wake_at as "wakeAt", coalesce(wake_at <= now(), false) as due
       from job_wait where job_id = $1 and step_id = $2`,
    [jobId, step.id],
  );
  return { step, wait: rows[0] ?? null };
}

/**
 * A wait whose time has come (a timer ended, a timeout passed): its row goes
 * and its step completes with `result`. Answers the step's result: `result`,
 * or what a waker that came first wrote; null if the wait is not due after all.
 */
export async function endWaitByTime(
  pool: pg.Pool,
  jobId: string,
  stepId: string,
  onTime: Record<string, unknown> | ((client: Queryable) => Promise<Record<string, unknown>>),
): Promise<Record<string, unknown> | null> {
  return withTransaction(pool, async (client) => {
    const ended = await client.query(`delete from job_wait where job_id = $1 and step_id = $2 and wake_at <= now()`, [jobId, stepId]);
    if (ended.rowCount === 1) {
      // A function: the result read in this transaction, once the wait is this caller's to end (a timeout's children, worker/children.ts).
      const result = typeof onTime === 'function' ? await onTime(client) : onTime;
      await client.query(`update job_step set status = 'COMPLETED', result = $2 where id = $1 and status = 'RUNNING'`, [stepId, JSON.stringify(result)]);
      return result;
    }
    const { rows } = await client.query<{ result: Record<string, unknown> | null }>(
      `select result from job_step where id = $1 and status = 'COMPLETED'`,
      [stepId],
    );
    return rows[0] ? (rows[0].result ?? {}) : null;
  });
}

export type SuspendOutcome =
  /** The job waits; its queue entry is due at wakeAt (null: when woken). */
  | { status: 'waiting'; wakeAt: Date | null }
  /** A cancel was asked for: the caller ends the attempt CANCELLED instead. */
  | { status: 'cancel_requested' }
  /** The job no longer runs on this worker. */
  | { status: 'lost' };

type Suspended = Pick<JobRow, 'id' | 'jobType' | 'queueName' | 'priority' | 'maxRetries'>;

function describe(wait: WaitSpec): string {
  switch (wait.reason) {
    case 'TIMER':
      return 'sleeping';
    case 'EVENT':
      return `waiting for event ${wait.name}`;
    case 'SIGNAL':
      return `waiting for signal ${wait.name}`;
    case 'CHILDREN':
      return `waiting for ${wait.childrenMode === 'ANY' ? 'any' : 'all'} of ${wait.childJobIds?.length ?? 0} child jobs`;
  }
}

/**
 * Ends the RUNNING attempt of this worker's job as a wait, in one transaction:
 * the wait's step RUNNING, its job_wait row (kept if it waits there already),
 * the job PENDING with its waiting reason (an event saying what it waits for),
 * a new queue entry due when the wait ends by time.
 */
export async function suspendRunningJob(pool: pg.Pool, job: Suspended, workerId: string, wait: WaitSpec): Promise<SuspendOutcome> {
  return withTransaction(pool, (client) => suspendJob(client, job, workerId, wait));
}

/** suspendRunningJob in the caller's transaction (a remote worker's wait, job-state/lease-waits.ts, writes it with its lease check). */
export async function suspendJob(client: Queryable, job: Suspended, workerId: string, wait: WaitSpec): Promise<SuspendOutcome> {
  const { rows } = await client.query<{ status: string; workerId: string | null; cancelRequested: boolean; tenantId: string }>(
    `select status, worker_id as "workerId", cancel_requested_at is not null as "cancelRequested", tenant_id as "tenantId"
       from job where id = $1 for update`,
    [job.id],
  );
  const row = rows[0];
  if (!row || row.status !== 'RUNNING' || row.workerId !== workerId) return { status: 'lost' };
  if (row.cancelRequested) return { status: 'cancel_requested' };
  const existing = await findStep(client, job.id, wait.stepName);
  const stepId = existing?.status === 'RUNNING' ? existing.id : await startStep(client, job.id, wait.stepName, existing);
  const saved = await client.query<{ wakeAt: Date | null }>(
    `insert into job_wait (job_id, tenant_id, step_id, reason, name, match, wake_at, child_job_ids, children_mode)
     values ($1, $2, $3, $4, $5, $6, coalesce($7::timestamptz, now() + $8::double precision * interval '1 millisecond'), $9, $10)
     on conflict (job_id) do update set
       -- Waiting at the same step again (woken early, by an orphan sweep): its time stays.
       wake_at = case when job_wait.step_id = excluded.step_id then job_wait.wake_at else excluded.wake_at end,
       step_id = excluded.step_id, reason = excluded.reason, name = excluded.name, match = excluded.match,
       child_job_ids = excluded.child_job_ids, children_mode = excluded.children_mode, created_at = now()
     returning wake_at as "wakeAt"`,
    [
      job.id,
      row.tenantId,
      stepId,
      wait.reason,
      wait.name ?? null,
      wait.reason === 'EVENT' ? JSON.stringify(wait.match ?? {}) : null,
      wait.wakeAt ?? null,
      wait.wakeInMs ?? null,
      wait.childJobIds ?? null,
      wait.childrenMode ?? null,
    ],
  );
  const wakeAt = saved.rows[0]!.wakeAt;
  const until = wakeAt ? ` until ${wakeAt.toISOString()}` : '';
  await setEventMessage(client, `${describe(wait)}${until} (step ${wait.stepName})`);
  await client.query(
    `update job set status = 'PENDING', waiting_reason = $3, worker_id = null where id = $1 and worker_id = $2 and status = 'RUNNING'`,
    [job.id, workerId, wait.reason],
  );
  await queueJobsAgain(client, [
    { jobId: job.id, jobType: job.jobType, queueName: job.queueName, runAt: wakeAt ?? WAIT_UNTIL_RELEASED, priority: job.priority, maxRetries: job.maxRetries },
  ]);
  return { status: 'waiting', wakeAt };
}

/** send_event: wakes the tenant's jobs waiting for this event whose match the data contains; answers how many. */
export async function sendEvent(db: Queryable, tenantId: string, name: string, data: Record<string, unknown>): Promise<number> {
  const { rows } = await db.query<{ woken: number }>(`select send_event($1, $2::jsonb, $3::jsonb) as woken`, [
    name,
    JSON.stringify(data),
    JSON.stringify({ tenantId }),
  ]);
  return rows[0]!.woken;
}

/** signal_job: wakes the job if it waits for this signal (in the tenant; null: any); false otherwise. */
export async function signalJob(db: Queryable, tenantId: string | null, jobId: string, name: string, data: Record<string, unknown>): Promise<boolean> {
  const { rows } = await db.query<{ woken: boolean }>(`select signal_job($1, $2, $3::jsonb, $4) as woken`, [jobId, name, JSON.stringify(data), tenantId]);
  return rows[0]!.woken;
}

/** The earliest wait that ends by time after now, as a delay (ms) from now; null when none. */
export async function nextWakeInMs(db: Queryable): Promise<number | null> {
  const { rows } = await db.query<{ inMs: number | null }>(
    `select extract(epoch from min(wake_at) - now()) * 1000 as "inMs" from job_wait where wake_at > now()`,
  );
  return rows[0]?.inMs === null || rows[0]?.inMs === undefined ? null : Number(rows[0].inMs);
}
