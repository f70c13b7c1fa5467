// Gates a queued job passes before its handler runs (worker/run-job.ts calls
// passGates): a paused queue, a queue or a rate limit key at its rate limit,
// a tenant at its running-job limit and a concurrency key at its limit make the job wait.
// A waiting job has a waiting_reason (an event) and a new queue entry,
// so graphile-worker counts no attempt: the task that made it wait returns
// as done. Everything is decided in Postgres, under row and advisory locks, so
// it holds across any number of workers. Jobs that need no gate (no paused or
// limited queue, no key: the read tells) pay nothing beyond that read.
import type pg from 'pg';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { retryOnConnectionError } from '../db/retry.ts';
import type { JobRow } from '../job-state/job-row.ts';
import { markJobsRunning, readJobsRunningOn } from '../job-state/mark-running.ts';
import { tenantAtRunningLimit } from './tenant-limit.ts';
import { wakeWorkersIn } from './wake.ts';
import { countRunningWithKey, waitQueuedJob, lockQueuedJob, WAIT_UNTIL_RELEASED } from '../job-state/waiting.ts';

/** A job at its concurrency limit is looked at again after this long, unless a slot frees up first (which wakes it). */
export const CONCURRENCY_RECHECK_MS = 2000;

export interface GatedJob {
  id: string;
  jobType: string;
  queueName: string;
  priority: number;
  maxRetries: number;
  /** A concurrency key counts the RUNNING jobs of its tenant only. */
  tenantId: string;
  concurrencyKey: string | null;
  concurrencyLimit: number | null;
  /** From the worker's read: the job's queue was paused then. */
  queuePaused?: boolean;
  /** From the worker's read: the job's queue has a rate limit. */
  queueRateLimited?: boolean;
  /** From the worker's read: the job's tenant has a running-job limit (tenant-limit.ts). */
  tenantLimited?: boolean;
  /** A rate limit per key counts the starts of its tenant's jobs with the key (the starting job's limit applies). */
  rateLimitKey: string | null;
  rateLimitMaxStarts: number | null;
  rateLimitIntervalMs: number | null;
}

export function needsGate(job: GatedJob): boolean {
  return job.queuePaused === true || job.queueRateLimited === true || job.tenantLimited === true || job.concurrencyKey !== null || job.rateLimitKey !== null;
}

export type GateOutcome =
  /** Passed; RUNNING is written when the job has a concurrency key (it must count at once). */
  | { passed: true; running: JobRow | null }
  /** Waiting, or no longer this task's to run. */
  | { passed: false };

/**
 * Decides, in one transaction, whether the job may start now. `queueEntryId`
 * is the task's entry: a job queued again meanwhile is not this task's.
 */
export async function passGates(pool: pg.Pool, job: GatedJob, queueEntryId: string, workerId: string): Promise<GateOutcome> {
  // Retried through a lost connection (as the rest of the run path): each try
  // re-reads what it decides on. A lost commit that wrote RUNNING is read back.
  let attempt = 0;
  return retryOnConnectionError(async () => {
    if (attempt++ > 0) {
      const [started] = await readJobsRunningOn(pool, [job.id], workerId);
      if (started) return { passed: true, running: started };
    }
    return passGatesOnce(pool, job, queueEntryId, workerId);
  });
}

async function passGatesOnce(pool: pg.Pool, job: GatedJob, queueEntryId: string, workerId: string): Promise<GateOutcome> {
  const wakes: number[] = [];
  const outcome = await passGatesLocked(pool, job, queueEntryId, workerId, wakes);
  for (const delayMs of wakes) wakeWorkersIn(pool, delayMs);
  return outcome;
}

async function passGatesLocked(pool: pg.Pool, job: GatedJob, queueEntryId: string, workerId: string, wakes: number[]): Promise<GateOutcome> {
  if (!rateLimited(job)) return withTransaction(pool, (client) => gate(client, job, queueEntryId, workerId, wakes));
  // A rate-limited queue or key: one starter at a time, under a session lock
  // taken before the transaction begins, so that each start's now() (its
  // started_at) follows the previous start's commit and the window counts
  // exactly the starts before it. Queue before key, always in that order.
  const client = await pool.connect();
  const locks: string[] = [];
  if (job.queueRateLimited) locks.push('jobwire.rate:' + job.queueName);
  if (job.rateLimitKey !== null) locks.push('jobwire.rate-key:' + job.tenantId + ':' + job.rateLimitKey);
  try {
    for (const lock of locks) await client.query(`select pg_advisory_lock(hashtextextended($1, 0))`, [lock]);
    try {
      await client.query('begin');
      const outcome = await gate(client, job, queueEntryId, workerId, wakes);
      await client.query('commit');
      return outcome;
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      for (const lock of [...locks].reverse()) await client.query(`select pg_advisory_unlock(hashtextextended($1, 0))`, [lock]);
    }
  } finally {
    client.release();
  }
}

/** `wakes`: when the job waits for a known moment, the milliseconds until then (to wake the workers after the commit, see wake.ts). */
async function gate(client: Queryable, job: GatedJob, queueEntryId: string, workerId: string, wakes: number[]): Promise<GateOutcome> {
  if ((await lockQueuedJob(client, job.id)) !== queueEntryId) return { passed: false };
  // Shared lock: a resume waits for this wait to commit, then releases it.
  const paused = await client.query(`select 1 from paused_queue where queue_name = $1 for share`, [job.queueName]);
  if (paused.rowCount) {
    await waitQueuedJob(client, job, 'QUEUE_PAUSED', WAIT_UNTIL_RELEASED);
    return { passed: false };
  }
  // The tenant's running limit: under the tenant's lock until commit, with RUNNING written below;
  // looked at before the rate windows, so a job it holds records no start.
  if (job.tenantLimited && (await tenantAtRunningLimit(client, job.tenantId))) {
    const jitter = Math.random() * CONCURRENCY_RECHECK_MS * 0.2;
    await waitQueuedJob(client, job, 'TENANT_RUNNING_LIMIT', new Date(Date.now() + CONCURRENCY_RECHECK_MS + jitter));
    return { passed: false };
  }
  // The key's window is looked at first and recorded last, so that a job held
  // by either limit records a start in neither.
  if (job.rateLimitKey !== null) {
    const freeAt = await keyWindowFreeAt(client, job);
    if (freeAt) {
      await waitQueuedJob(client, job, 'KEY_RATE_LIMIT', freeAt.at);
      wakes.push(freeAt.inMs);
      return { passed: false };
    }
  }
  if (job.queueRateLimited) {
    const freeAt = await takeRateLimitedStart(client, job.queueName);
    if (freeAt) {
      await waitQueuedJob(client, job, 'RATE_LIMIT', freeAt.at);
      wakes.push(freeAt.inMs);
      return { passed: false };
    }
  }
  if (job.rateLimitKey !== null) await recordKeyStart(client, job);
  if (job.concurrencyKey === null) {
    // A rate-limited start is written RUNNING now: its started_at is the start the window counted (a tenant-limited one: it counts at once).
    if (!rateLimited(job) && !job.tenantLimited) return { passed: true, running: null };
    const [running] = await markJobsRunning(client, [job.id], workerId);
    return running ? { passed: true, running } : { passed: false };
  }
  // One starter per key (of a tenant) at a time; RUNNING is written before the lock goes.
  await client.query(`select pg_advisory_xact_lock(hashtextextended('jobwire.concurrency:' || $1 || ':' || $2, 0))`, [
    job.tenantId,
    job.concurrencyKey,
  ]);
  if ((await countRunningWithKey(client, job.tenantId, job.concurrencyKey)) >= job.concurrencyLimit!) {
    const jitter = Math.random() * CONCURRENCY_RECHECK_MS * 0.2;
    await waitQueuedJob(client, job, 'CONCURRENCY_LIMIT', new Date(Date.now() + CONCURRENCY_RECHECK_MS + jitter));
    return { passed: false };
  }
  const [running] = await markJobsRunning(client, [job.id], workerId);
  return running ? { passed: true, running } : { passed: false };
}

/**
 * Records a start of the queue if its window has room (null), else answers
 * when the window's oldest start leaves it. Called under the queue's lock.
 */
async function takeRateLimitedStart(client: Queryable, queueName: string): Promise<{ at: Date; inMs: number } | null> {
  const { rows } = await client.query<{ maxStarts: number; intervalMs: number; starts: number; oldest: Date | null; now: Date }>(
    `select l.max_starts as "maxStarts", l.interval_ms as "intervalMs", count(s.started_at)::int as starts, min(s.started_at) as oldest, now() as now
       from queue_rate_limit as l
       left join queue_rate_limit_start as s
         on s.queue_name = l.queue_name and s.started_at > now() - l.interval_ms * interval '1 millisecond'
      where l.queue_name = $1
      group by l.queue_name`,
    [queueName],
  );
  const limit = rows[0];
  if (!limit) return null; // the limit was removed since the read
  if (limit.starts >= limit.maxStarts) {
    const at = new Date(limit.oldest!.getTime() + limit.intervalMs + Math.random() * limit.intervalMs * 0.1);
    return { at, inMs: at.getTime() - limit.now.getTime() };
  }
  await client.query(
    `with pruned as (
       delete from queue_rate_limit_start where queue_name = $1 and started_at <= now() - $2 * interval '1 millisecond'
     )
     insert into queue_rate_limit_start (queue_name, started_at) values ($1, now())`,
    [queueName, limit.intervalMs],
  );
  return null;
}

function rateLimited(job: GatedJob): boolean {
  return job.queueRateLimited === true || job.rateLimitKey !== null;
}

/**
 * When the window of the job's rate limit key has no room: when its oldest
 * start leaves it (the starting job's limit applies). Called under the key's lock.
 */
async function keyWindowFreeAt(client: Queryable, job: GatedJob): Promise<{ at: Date; inMs: number } | null> {
  const { rows } = await client.query<{ starts: number; oldest: Date | null; now: Date }>(
    `select count(*)::int as starts, min(started_at) as oldest, now() as now
       from rate_limit_key_start
      where tenant_id = $1 and rate_limit_key = $2 and started_at > now() - $3 * interval '1 millisecond'`,
    [job.tenantId, job.rateLimitKey, job.rateLimitIntervalMs],
  );
  const window = rows[0]!;
  if (window.starts < job.rateLimitMaxStarts!) return null;
  const intervalMs = job.rateLimitIntervalMs!;
  const at = new Date(window.oldest!.getTime() + intervalMs + Math.random() * intervalMs * 0.1);
  return { at, inMs: at.getTime() - window.now.getTime() };
}

/** Records a start of the job's rate limit key, pruning the starts older than its interval. */
async function recordKeyStart(client: Queryable, job: GatedJob): Promise<void> {
  await client.query(
    `with pruned as (
       delete from rate_limit_key_start
        where tenant_id = $1 and rate_limit_key = $2 and started_at <= now() - $3 * interval '1 millisecond'
     )
     insert into rate_limit_key_start (tenant_id, rate_limit_key, started_at) values ($1, $2, now())`,
    [job.tenantId, job.rateLimitKey, job.rateLimitIntervalMs],
  );
}
