// Recurring schedules: a schedule every second for 30 s with three worker
// processes makes exactly one job per tick; after the workers were stopped for
// 10 s, the missed ticks follow each schedule's policy.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnWorker, startTestApp, type ChildWorker, type TestApp } from '../support/app.ts';
import { CreateSchedule, DeleteSchedule, JobWithHistory, PauseSchedule, Schedules } from '../support/operations.ts';
import { eventually } from '../support/wait.ts';

const MISSED_AFTER_MS = 4000;
const WORKER_ENV = { SCHEDULE_POLL_INTERVAL_MS: '200', SCHEDULE_MISSED_AFTER_MS: String(MISSED_AFTER_MS) };

let db: TestDatabase;
let api: TestApp;
let workers: ChildWorker[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false } });
});
// One after the other: processes that start at the same moment can fail graphile-migrate's lock (a known issue of startup).
const startWorkers = async () => {
  for (let i = 0; i < 3; i++) workers.push(await spawnWorker(db.url, WORKER_ENV));
};
const stopWorkers = async () => {
  for (const worker of workers) worker.process.kill('SIGTERM');
  await Promise.all(workers.map((worker) => worker.exited));
  workers = [];
};

async function createEverySecond(policy: 'SKIP' | 'RUN_ONCE' | 'RUN_EACH') {
  const result = await api.client.request(CreateSchedule, {
    input: {
      cron: '* * * * * *',
      missedTickPolicy: policy,
      missedTickLimit: 5,
      jobTemplate: { jobType: 'system.noop', queueName: `every-second-${policy}` },
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

it('one job per tick with three workers; after a 10 s stop, missed ticks follow SKIP, RUN_ONCE and RUN_EACH', async () => {
  await startWorkers();
  const schedules = { SKIP: await createEverySecond('SKIP'), RUN_ONCE: await createEverySecond('RUN_ONCE'), RUN_EACH: await createEverySecond('RUN_EACH') };

  // The assertion is about time passing: 30 s of ticks.
  await sleep(30_000);
  for (const [policy, schedule] of Object.entries(schedules)) {
    const ticks = await ticksOf(schedule.id);
    expect(ticks.length, policy).toBeGreaterThanOrEqual(25);
    // Every second from the first tick on, once, each with its own job.
    ticks.forEach((tick, index) => expect(tick.tickAt.getTime() - ticks[0]!.tickAt.getTime()).toBe(index * 1000));
    expect(ticks.every((tick) => tick.jobId !== null)).toBe(true);
    const jobs = await db.pool.query(`select count(*)::int as n from job where queue_name = $1`, [`every-second-${policy}`]);
    expect(jobs.rows[0].n).toBe(ticks.length);
  }
  const { job } = await api.client.request(JobWithHistory, { id: (await ticksOf(schedules.SKIP.id))[0]!.jobId! });
  expect(job!.events.edges[0]!.node.message).toMatch(new RegExp(`^created by schedule ${schedules.SKIP.id} for its tick at `));

  await stopWorkers();
  const lastBefore = new Map<string, number>();
  for (const schedule of Object.values(schedules)) lastBefore.set(schedule.id, (await ticksOf(schedule.id)).length);
  // The assertion is about time passing: 10 s without a worker.
  await sleep(10_000);
  const restartedAt = Date.now();
  await startWorkers();

  for (const [policy, schedule] of Object.entries(schedules)) {
    const ticks = await eventually(`ticks of ${policy} again`, async () => {
      const all = await ticksOf(schedule.id);
      return all.some((tick) => tick.createdAt.getTime() >= restartedAt + 2000) ? all : undefined;
    });
    const before = ticks.slice(0, lastBefore.get(schedule.id));
    const after = ticks.slice(before.length);
    // The first pass after the restart found the backlog; ticks more than MISSED_AFTER_MS older than it were missed.
    const pass = Math.min(...after.map((tick) => tick.createdAt.getTime()));
    const lastTickBefore = before[before.length - 1]!.tickAt.getTime();
    const seconds: number[] = [];
    for (let at = lastTickBefore + 1000; at <= after[after.length - 1]!.tickAt.getTime(); at += 1000) seconds.push(at);
    const clearlyMissed = seconds.filter((at) => pass - at > MISSED_AFTER_MS + 300);
    const clearlyOnTime = seconds.filter((at) => pass - at < MISSED_AFTER_MS - 300);
    expect(clearlyMissed.length, policy).toBeGreaterThanOrEqual(4);
    const withJob = new Set(after.filter((tick) => tick.jobId !== null).map((tick) => tick.tickAt.getTime()));
    for (const at of clearlyOnTime) expect(withJob.has(at), `${policy}: on-time tick ${new Date(at).toISOString()}`).toBe(true);
    const missedRun = clearlyMissed.filter((at) => withJob.has(at));
    if (policy === 'SKIP') expect(missedRun).toEqual([]);
    if (policy === 'RUN_EACH') {
      // One job per missed tick, bounded: the latest missedTickLimit (5) of them.
      const latest = seconds.filter((at) => pass - at > MISSED_AFTER_MS).slice(-5);
      expect(missedRun).toEqual(clearlyMissed.filter((at) => latest.includes(at)));
      expect(missedRun.length).toBeGreaterThanOrEqual(4);
    }
    if (policy === 'RUN_ONCE') expect(missedRun.length).toBeLessThanOrEqual(1);
    if (policy === 'RUN_ONCE') {
      // Exactly one job for the whole missed stretch: the latest missed tick (it may sit in the ±300 ms margin).
      const allMissed = seconds.filter((at) => pass - at > MISSED_AFTER_MS);
      expect(allMissed.filter((at) => withJob.has(at))).toEqual([allMissed[allMissed.length - 1]]);
    }
    const jobs = await db.pool.query(`select count(*)::int as n from job where queue_name = $1`, [`every-second-${policy}`]);
    expect(jobs.rows[0].n, policy).toBe(ticks.filter((tick) => tick.jobId !== null).length);
  }

  const listed = await api.client.request(Schedules, {});
  const skip = listed.schedules.find((s) => s.id === schedules.SKIP.id)!;
  expect(skip.nextRunTimes).toHaveLength(3);
  expect(new Date(skip.nextRunTimes[1]!).getTime() - new Date(skip.nextRunTimes[0]!).getTime()).toBe(1000);
  expect(skip.recentTicks).toHaveLength(3);
  expect(skip.recentTicks[0]!.job).not.toBeNull();
}, 120_000);

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
