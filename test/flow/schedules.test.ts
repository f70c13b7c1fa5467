// Recurring schedules. On a clock the test moves (the Scheduler's injected
// clock): three schedulers, as three worker processes run them, make exactly
// one job per tick over 30 s of ticks; after 10 s without a scheduler, the
// missed ticks follow SKIP, RUN_ONCE and RUN_EACH. On the wall clock: a worker
// process makes the job of a tick.
import { beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/service-config.ts';
import { Scheduler } from '../../src/jobs/schedules.ts';
import { createLogger } from '../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnWorker, startTestApp, type TestApp } from '../support/app.ts';
import { CreateSchedule, DeleteSchedule, JobWithHistory, PauseSchedule, Schedules } from '../support/operations.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { eventually } from '../support/wait.ts';

const MISSED_AFTER_MS = 4000;

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false } });
});

/** Three schedulers on one clock the test sets. */
function schedulersOn(clock: { now: number }) {
  const config = loadConfig({ DATABASE_URL: db.url, SCHEDULE_MISSED_AFTER_MS: String(MISSED_AFTER_MS) });
  const deps = { pool: db.pool, registry: createTestRegistry(), config, logger: createLogger('warn'), clock: () => new Date(clock.now) };
  const schedulers = [new Scheduler(deps), new Scheduler(deps), new Scheduler(deps)];
  /** Every scheduler's pass at `at`, all at once (as workers polling at the same moment). */
  return async (at: number) => {
    clock.now = at;
    await Promise.all(schedulers.map((scheduler) => scheduler.runDue()));
  };
}

async function createEverySecond(policy: 'SKIP' | 'RUN_ONCE' | 'RUN_EACH', queueName = `every-second-${policy}`) {
  const result = await api.client.request(CreateSchedule, {
    input: {
      cron: '* * * * * *',
      missedTickPolicy: policy,
      missedTickLimit: 5,
      jobTemplate: { jobType: 'system.noop', queueName },
    },
  });
  if (result.createSchedule.__typename !== 'MutationCreateScheduleSuccess') throw new Error(JSON.stringify(result.createSchedule));
  return result.createSchedule.data;
}

interface Tick {
  tickAt: Date;
  jobId: string | null;
  createdAt: Date;
}

async function ticksOf(scheduleId: string): Promise<Tick[]> {
  const { rows } = await db.pool.query<Tick>(
    `select tick_at as "tickAt", job_id as "jobId", created_at as "createdAt" from schedule_tick where schedule_id = $1 order by tick_at`,
    [scheduleId],
  );
  return rows;
}

it('one job per tick with three schedulers; after 10 s without one, missed ticks follow SKIP, RUN_ONCE and RUN_EACH', async () => {
  const schedules = { SKIP: await createEverySecond('SKIP'), RUN_ONCE: await createEverySecond('RUN_ONCE'), RUN_EACH: await createEverySecond('RUN_EACH') };
  const clock = { now: Date.now() };
  const start = clock.now;
  const passAt = schedulersOn(clock);

  // 30 s of ticks, a pass every 250 ms.
  for (let at = start; at <= start + 30_000; at += 250) await passAt(at);
  for (const [policy, schedule] of Object.entries(schedules)) {
    const ticks = await ticksOf(schedule.id);
    expect(ticks.length, policy).toBeGreaterThanOrEqual(29);
    // Every second from the first tick on, once, each with its own job.
    ticks.forEach((tick, index) => expect(tick.tickAt.getTime() - ticks[0]!.tickAt.getTime()).toBe(index * 1000));
    expect(ticks.at(-1)!.tickAt.getTime()).toBeLessThanOrEqual(start + 30_000);
    expect(ticks.at(-1)!.tickAt.getTime()).toBeGreaterThan(start + 29_000);
    expect(ticks.every((tick) => tick.jobId !== null)).toBe(true);
    const jobs = await db.pool.query(`select count(*)::int as n from job where queue_name = $1`, [`every-second-${policy}`]);
    expect(jobs.rows[0].n).toBe(ticks.length);
  }
  const { job } = await api.client.request(JobWithHistory, { id: (await ticksOf(schedules.SKIP.id))[0]!.jobId! });
  expect(job!.events.edges[0]!.node.message).toMatch(new RegExp(`^created by schedule ${schedules.SKIP.id} for its tick at `));

  // 10 s with no pass, then one: its backlog is every second since the last tick.
  const pass = start + 40_000;
  const lastBefore = new Map<string, number>();
  for (const schedule of Object.values(schedules)) lastBefore.set(schedule.id, (await ticksOf(schedule.id)).length);
  await passAt(pass);

  for (const [policy, schedule] of Object.entries(schedules)) {
    const ticks = await ticksOf(schedule.id);
    const before = ticks.slice(0, lastBefore.get(schedule.id));
    const after = ticks.slice(before.length);
    const seconds: number[] = [];
    for (let at = before.at(-1)!.tickAt.getTime() + 1000; at <= pass; at += 1000) seconds.push(at);
    const missed = seconds.filter((at) => pass - at > MISSED_AFTER_MS);
    const onTime = seconds.filter((at) => pass - at <= MISSED_AFTER_MS);
    expect(missed.length, policy).toBeGreaterThanOrEqual(5);
    const expected = { SKIP: onTime, RUN_ONCE: [...missed.slice(-1), ...onTime], RUN_EACH: [...missed.slice(-5), ...onTime] }[policy]!;
    expect(after.map((tick) => tick.tickAt.getTime()), policy).toEqual(expected);
    expect(after.every((tick) => tick.jobId !== null)).toBe(true);
    const jobs = await db.pool.query(`select count(*)::int as n from job where queue_name = $1`, [`every-second-${policy}`]);
    expect(jobs.rows[0].n, policy).toBe(ticks.length);
  }

  const listed = await api.client.request(Schedules, {});
  const skip = listed.schedules.find((s) => s.id === schedules.SKIP.id)!;
  expect(skip.nextRunTimes).toHaveLength(3);
  expect(new Date(skip.nextRunTimes[1]!).getTime() - new Date(skip.nextRunTimes[0]!).getTime()).toBe(1000);
  expect(skip.recentTicks).toHaveLength(3);
  expect(skip.recentTicks[0]!.job).not.toBeNull();
});

it("a worker process's scheduler makes the job of a tick on the wall clock", async () => {
  const worker = await spawnWorker(db.url, { SCHEDULE_POLL_INTERVAL_MS: '200' });
  const schedule = await createEverySecond('SKIP', 'wall-clock');
  const tick = await eventually('a tick with its job', async () => (await ticksOf(schedule.id)).find((t) => t.jobId !== null));
  const { rows } = await db.pool.query(`select queue_name from job where id = $1`, [tick.jobId]);
  expect(rows).toEqual([{ queue_name: 'wall-clock' }]);
  worker.process.kill('SIGTERM');
  await worker.exited;
});

it('pause stops the ticks; delete removes it; bad input names the field', async () => {
  const schedule = (await api.client.request(CreateSchedule, { input: { cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', jobTemplate: { jobType: 'system.noop' } } })).createSchedule;
  if (schedule.__typename !== 'MutationCreateScheduleSuccess') throw new Error(JSON.stringify(schedule));
  const paused = await api.client.request(PauseSchedule, { id: schedule.data.id });
  expect(paused.pauseSchedule).toMatchObject({ data: { paused: true, nextRunAt: null, nextRunTimes: [] } });
  expect((await api.client.request(DeleteSchedule, { id: schedule.data.id })).deleteSchedule).toMatchObject({ data: schedule.data.id });
  expect((await api.client.request(DeleteSchedule, { id: schedule.data.id })).deleteSchedule).toMatchObject({
    __typename: 'ScheduleNotFoundError',
    scheduleId: schedule.data.id,
  });

  const badCron = await api.client.request(CreateSchedule, { input: { cron: 'every day', jobTemplate: { jobType: 'system.noop' } } });
  expect(badCron.createSchedule).toMatchObject({ __typename: 'ValidationError', field: 'cron' });
  const badZone = await api.client.request(CreateSchedule, { input: { cron: '* * * * *', timezone: 'Mars/Olympus', jobTemplate: { jobType: 'system.noop' } } });
  expect(badZone.createSchedule).toMatchObject({ __typename: 'ValidationError', field: 'timezone' });
  const badTemplate = await api.client.request(CreateSchedule, { input: { cron: '* * * * *', jobTemplate: { jobType: 'no.such' } } });
  expect(badTemplate.createSchedule).toMatchObject({ __typename: 'ValidationError', field: 'jobTemplate.jobType' });
});
