// Recurring schedules: a cron expression (croner) in a time zone and a job
// template. A schedule belongs to the tenant of the principal that created it:
// only that tenant (and admin) sees or changes it, and its jobs carry its
// tenant and its creator as their createdBy. Every worker process runs a Scheduler; each tick becomes exactly
// one ordinary job, whatever the number of workers: due schedules are taken
// with FOR UPDATE SKIP LOCKED and schedule_tick's primary key (schedule_id,
// tick_at) refuses a second job for a tick. Ticks found later than
// SCHEDULE_MISSED_AFTER_MS (nothing ran them) follow the schedule's policy.
import { Cron } from 'croner';
import type pg from 'pg';
import { visibleTenant, type Principal } from '../auth/principal.ts';
import { tenantCondition } from '../auth/tenant-scope.ts';
import type { Config } from '../config.ts';
import { withTransaction, type Queryable } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { assertJobsExist, assertParentsExist, prepareJob, type Caller, type CreateJobInput } from './create.ts';
import { JobwireError, tenantQuotaErrorOf, ValidationError, withQuotaErrors } from '../core/errors.ts';
import { assertScheduleWithinQuota } from './tenant-quotas.ts';
import { setEventMessage } from '../job-state/job-row.ts';
import { insertJobs } from '../job-state/insert.ts';
import type { HandlerRegistry } from '../core/registry.ts';
import { afterInsertJobs, beforeInsertJobs } from '../flow/create.ts';

export const MissedTickPolicy = { SKIP: 'SKIP', RUN_ONCE: 'RUN_ONCE', RUN_EACH: 'RUN_EACH' } as const;
export type MissedTickPolicy = (typeof MissedTickPolicy)[keyof typeof MissedTickPolicy];

/** Due ticks looked at per schedule and pass; a longer backlog is skipped past (the policy's bound applies first). */
const MAX_TICKS_PER_PASS = 10_000;

export class ScheduleNotFoundError extends JobwireError {
  override name = 'ScheduleNotFoundError';
  constructor(readonly scheduleId: string) {
    super(`no schedule with id ${scheduleId}`);
  }
}

export interface ScheduleInput {
  cron?: string | null;
  timezone?: string | null;
  jobTemplate?: CreateJobInput | null;
  missedTickPolicy?: MissedTickPolicy | null;
  missedTickLimit?: number | null;
}

interface ScheduleDeps {
  pool: pg.Pool;
  registry: HandlerRegistry;
  config: Pick<Config, 'JOB_PAYLOAD_MAX_BYTES' | 'CREATE_JOBS_MAX'>;
}

/** A kind's job type that schedules may make (it writes its kind row) is made as that kind; any other as PLAIN. */
function scheduledKindOf(deps: ScheduleDeps, template: CreateJobInput) {
  const handler = deps.registry.get(template.jobType);
  return handler?.insertScheduledKindRow ? handler.kind : undefined;
}

/** The cron expression in its time zone; a bad one is a validation error naming the field. */
export function parseCron(cron: string, timezone: string): Cron {
  let parsed: Cron;
  try {
    parsed = new Cron(cron, { paused: true, timezone });
  } catch (error) {
    throw new ValidationError('cron', `"${cron}" is not a cron expression: ${(error as Error).message}`);
  }
  try {
    parsed.nextRun();
  } catch {
    throw new ValidationError('timezone', `"${timezone}" is not an IANA time zone (e.g. Europe/Berlin, UTC)`);
  }
  return parsed;
}

/** The next `count` run times after `after`. */
export function nextRunTimes(cron: string, timezone: string, count: number, after = new Date()): Date[] {
  return parseCron(cron, timezone).nextRuns(count, after);
}

/**
 * Checks a schedule as its owner (`caller`) would make its jobs: the cron
 * expression, and a template that makes a valid job now whose parentJobId and
 * dependsOn name jobs of the owner's tenant (another tenant's id is unknown).
 */
async function checkSchedule(
  db: Queryable,
  deps: ScheduleDeps,
  caller: Caller,
  schedule: Required<{ [K in keyof ScheduleInput]: NonNullable<ScheduleInput[K]> }>,
) {
  const cron = parseCron(schedule.cron, schedule.timezone);
  const next = cron.nextRun();
  if (!next) throw new ValidationError('cron', `"${schedule.cron}" never runs again`);
  if (!Number.isInteger(schedule.missedTickLimit) || schedule.missedTickLimit < 1 || schedule.missedTickLimit > 1000) {
    throw new ValidationError('missedTickLimit', 'must be 1..1000');
  }
  // The template must make a valid job now (it is checked again at each tick).
  const job = prepareJob(deps, caller, schedule.jobTemplate, { path: ['jobTemplate'], kind: scheduledKindOf(deps, schedule.jobTemplate) });
  await assertParentsExist(db, [job], () => 'jobTemplate.parentJobId');
  await assertJobsExist(db, job.tenantId, job.flow.dependsOn, (position) => `jobTemplate.dependsOn.${position}`);
  await assertScheduleWithinQuota(db, job.tenantId, cron, job.priority);
  return next;
}

export async function createSchedule(deps: ScheduleDeps, caller: Caller, input: ScheduleInput): Promise<string> {
  if (!input.cron) throw new ValidationError('cron', 'is required');
  if (!input.jobTemplate) throw new ValidationError('jobTemplate', 'is required');
  const schedule = {
    cron: input.cron,
    timezone: input.timezone ?? 'UTC',
    jobTemplate: input.jobTemplate,
    missedTickPolicy: input.missedTickPolicy ?? MissedTickPolicy.SKIP,
    missedTickLimit: input.missedTickLimit ?? 10,
  };
  const next = await checkSchedule(deps.pool, deps, caller, schedule);
  // The tenant's maxSchedules is checked by the database on insert (docs/quotas.md).
  const { rows } = await withQuotaErrors(() => deps.pool.query<{ id: string }>(
    `insert into schedule (cron, timezone, job_template, missed_tick_policy, missed_tick_limit, next_run_at, created_by, tenant_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8) returning id`,
    [
      schedule.cron,
      schedule.timezone,
      JSON.stringify(schedule.jobTemplate),
      schedule.missedTickPolicy,
      schedule.missedTickLimit,
      next,
      caller.principalId,
      caller.tenantId,
    ],
  ));
  return rows[0]!.id;
}

interface ScheduleRow {
  id: string;
  cron: string;
  timezone: string;
  jobTemplate: CreateJobInput;
  missedTickPolicy: MissedTickPolicy;
  missedTickLimit: number;
  paused: boolean;
  pausedReason: string | null;
  nextRunAt: Date | null;
  tenantId: string;
  createdBy: string;
}

const SCHEDULE_COLUMNS = `s.id, s.cron, s.timezone, s.job_template as "jobTemplate", s.missed_tick_policy as "missedTickPolicy",
  s.missed_tick_limit as "missedTickLimit", s.paused, s.paused_reason as "pausedReason", s.next_run_at as "nextRunAt",
  s.tenant_id as "tenantId", s.created_by as "createdBy"`;

/**
 * Why a schedule's creator can no longer make its jobs, or null: an API key
 * (created_by `key:<id>`) revoked, expired, deleted, without jobs:write, or of
 * another tenant without admin. (A JWT's subject cannot be checked: it holds no
 * state here, so its schedules run on.)
 */
const CREATOR_LOST = `case
    when s.created_by not like 'key:%' then null
    when k.id is null then 'was deleted'
    when k.revoked_at is not null then 'is revoked'
    when k.expires_at <= clock_timestamp() then 'has expired'
    when not (k.scopes && array['jobs:write', 'admin']) then 'lacks the scope jobs:write'
    when k.tenant_id <> s.tenant_id and not ('admin' = any(k.scopes)) then 'is of another tenant'
  end`;

/** Locks a schedule of the caller's tenant (any tenant for admin); another tenant's answers as a missing one. */
async function lockSchedule(db: Queryable, caller: Caller, id: string): Promise<ScheduleRow> {
  const { rows } = await db.query<ScheduleRow>(`select ${SCHEDULE_COLUMNS} from schedule s where id = $1 and ${tenantCondition('s', 2)} for update`, [
    id,
    visibleTenant(caller),
  ]);
  if (!rows[0]) throw new ScheduleNotFoundError(id);
  return rows[0];
}

/** The principal a schedule's jobs are created as: its creator, in its tenant. */
function scheduleOwner(schedule: Pick<ScheduleRow, 'tenantId' | 'createdBy'>): Principal {
  return { principalId: schedule.createdBy, tenantId: schedule.tenantId, scopes: new Set(), expiresAt: null };
}

/**
 * Changes what is given; a new cron or time zone counts from now. The
 * template is checked as the schedule's owner would make it (its tenant), also
 * when an admin of another tenant updates it.
 */
export async function updateSchedule(deps: ScheduleDeps, caller: Caller, id: string, input: ScheduleInput): Promise<void> {
  await withTransaction(deps.pool, async (client) => {
    const current = await lockSchedule(client, caller, id);
    const schedule = {
      cron: input.cron ?? current.cron,
      timezone: input.timezone ?? current.timezone,
      jobTemplate: input.jobTemplate ?? current.jobTemplate,
      missedTickPolicy: input.missedTickPolicy ?? current.missedTickPolicy,
      missedTickLimit: input.missedTickLimit ?? current.missedTickLimit,
    };
    const next = await checkSchedule(client, deps, scheduleOwner(current), schedule);
    const retimed = schedule.cron !== current.cron || schedule.timezone !== current.timezone;
    await client.query(
      `update schedule set cron = $2, timezone = $3, job_template = $4, missed_tick_policy = $5, missed_tick_limit = $6,
              next_run_at = case when paused then null when $7 then $8 else next_run_at end, updated_at = now()
        where id = $1`,
      [id, schedule.cron, schedule.timezone, JSON.stringify(schedule.jobTemplate), schedule.missedTickPolicy, schedule.missedTickLimit, retimed, next],
    );
  });
}

/** Idempotent. A paused schedule makes no job; its ticks meanwhile are not run later. */
export async function pauseSchedule(pool: pg.Pool, caller: Caller, id: string): Promise<void> {
  await withTransaction(pool, async (client) => {
    await lockSchedule(client, caller, id);
    await client.query(`update schedule set paused = true, next_run_at = null, updated_at = now() where id = $1 and not paused`, [id]);
  });
}

/**
 * Idempotent. Runs from the next tick after now. A schedule the scheduler
 * paused because its creator lost the right (pausedReason) runs as the caller
 * from now on: the caller becomes its creator.
 */
export async function resumeSchedule(pool: pg.Pool, caller: Caller, id: string): Promise<void> {
  await withTransaction(pool, async (client) => {
    const schedule = await lockSchedule(client, caller, id);
    if (!schedule.paused) return;
    const next = parseCron(schedule.cron, schedule.timezone).nextRun();
    await client.query(
      `update schedule set paused = false, next_run_at = $2, updated_at = now(),
              created_by = case when paused_reason is null then created_by else $3 end, paused_reason = null
        where id = $1`,
      [id, next, caller.principalId],
    );
  });
}

/** Its jobs stay (they are ordinary jobs); its tick records go. */
export async function deleteSchedule(pool: pg.Pool, caller: Caller, id: string): Promise<void> {
  const { rowCount } = await pool.query(`delete from schedule s where id = $1 and ${tenantCondition('s', 2)}`, [id, visibleTenant(caller)]);
  if (!rowCount) throw new ScheduleNotFoundError(id);
}

/** Which due ticks get a job: all on time, and the missed ones per policy (oldest first). */
export function ticksToRun(due: readonly Date[], now: Date, missedAfterMs: number, policy: MissedTickPolicy, limit: number): Date[] {
  const missed = due.filter((tick) => now.getTime() - tick.getTime() > missedAfterMs);
  const onTime = due.slice(missed.length);
  const runMissed =
    policy === MissedTickPolicy.RUN_EACH ? missed.slice(-limit) : policy === MissedTickPolicy.RUN_ONCE ? missed.slice(-1) : [];
  return [...runMissed, ...onTime];
}

export interface SchedulerDeps extends ScheduleDeps {
  logger: Logger;
  config: ScheduleDeps['config'] & Pick<Config, 'SCHEDULE_POLL_INTERVAL_MS' | 'SCHEDULE_MISSED_AFTER_MS'>;
  /**
   * What time it is for the ticks. Default: the database's clock, one clock for
   * every worker; tests pass their own to step through minutes of ticks at once.
   */
  clock?: () => Date;
}

/** One per worker process: makes the jobs of due ticks. */
export class Scheduler {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();

  constructor(private readonly deps: SchedulerDeps) {}

  start() {
    this.#timer = setInterval(() => {
      this.#running = this.#running.then(async () => void (await this.runDue())).catch((error) => this.deps.logger.warn({ err: error }, 'running due schedules failed'));
    }, this.deps.config.SCHEDULE_POLL_INTERVAL_MS);
    this.#timer.unref();
  }

  async stop() {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  /** Makes the jobs of the due ticks of the schedules no other worker is handling; returns how many. */
  async runDue(): Promise<number> {
    return withTransaction(this.deps.pool, async (client) => {
      const { rows } = await client.query<ScheduleRow & { now: Date; creatorLost: string | null }>(
        `select ${SCHEDULE_COLUMNS}, coalesce($1::timestamptz, clock_timestamp()) as now, ${CREATOR_LOST} as "creatorLost"
           from schedule s left join api_key k on s.created_by like 'key:%' and k.id = substr(s.created_by, 5)
          where not s.paused and s.next_run_at <= coalesce($1::timestamptz, clock_timestamp())
          order by s.next_run_at limit 20
            for update of s skip locked`,
        [this.deps.clock?.() ?? null],
      );
      let made = 0;
      for (const schedule of rows) {
        if (schedule.creatorLost) await this.#pauseForCreator(client, schedule, schedule.creatorLost);
        else made += await this.#runSchedule(client, schedule);
      }
      return made;
    });
  }

  /** A schedule whose creator lost the right makes no job: it is paused, saying why, until someone who holds the right resumes it. */
  async #pauseForCreator(client: pg.PoolClient, schedule: ScheduleRow, lost: string) {
    const reason = `its creator ${schedule.createdBy} ${lost}; resumeSchedule runs it as the caller`;
    await client.query(`update schedule set paused = true, next_run_at = null, paused_reason = $2, updated_at = now() where id = $1`, [schedule.id, reason]);
    this.deps.logger.warn({ scheduleId: schedule.id, createdBy: schedule.createdBy }, `schedule paused: ${reason}`);
  }

  async #runSchedule(client: pg.PoolClient, schedule: ScheduleRow & { now: Date }): Promise<number> {
    const cron = parseCron(schedule.cron, schedule.timezone);
    const due: Date[] = [schedule.nextRunAt!];
    for (let tick = cron.nextRun(schedule.nextRunAt!); tick && tick <= schedule.now && due.length < MAX_TICKS_PER_PASS; tick = cron.nextRun(tick)) {
      due.push(tick);
    }
    const run = ticksToRun(due, schedule.now, this.deps.config.SCHEDULE_MISSED_AFTER_MS, schedule.missedTickPolicy, schedule.missedTickLimit);
    const caller = scheduleOwner(schedule);
    let made = 0;
    for (const tick of run) {
      const recorded = await client.query(
        `insert into schedule_tick (schedule_id, tick_at) values ($1, $2) on conflict do nothing`,
        [schedule.id, tick],
      );
      if (!recorded.rowCount) continue; // another worker made this tick's job
      try {
        await client.query('savepoint schedule_tick');
        const job = prepareJob(this.deps, caller, schedule.jobTemplate, { path: ['jobTemplate'], kind: scheduledKindOf(this.deps, schedule.jobTemplate) });
        await setEventMessage(client, `created by schedule ${schedule.id} for its tick at ${tick.toISOString()}`);
        await assertParentsExist(client, [job], () => 'jobTemplate.parentJobId');
        const { toInsert } = await beforeInsertJobs(client, [job], (_index, name) => `jobTemplate.${name}`);
        await insertJobs(client, toInsert);
        for (const made of toInsert) await this.deps.registry.get(made.jobType)?.insertScheduledKindRow?.(client, made);
        await afterInsertJobs(client, toInsert);
        await setEventMessage(client, '');
        await client.query(`update schedule_tick set job_id = $3 where schedule_id = $1 and tick_at = $2`, [schedule.id, tick, job.id]);
        await client.query('release savepoint schedule_tick');
        made++;
      } catch (error) {
        // The template no longer makes a valid job (e.g. its job type is gone), or the tenant's quota refused it: the tick is recorded without one.
        await client.query('rollback to savepoint schedule_tick');
        const quota = tenantQuotaErrorOf(error);
        this.deps.logger.warn(
          { err: quota ?? error, scheduleId: schedule.id, tenantId: schedule.tenantId, tickAt: tick, ...(quota ? { limit: quota.limit, limitValue: quota.value } : {}) },
          'a schedule tick could not create its job',
        );
      }
    }
    const next = cron.nextRun(schedule.now);
    await client.query(`update schedule set next_run_at = $2 where id = $1`, [schedule.id, next]);
    return made;
  }
}
