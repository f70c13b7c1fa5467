// Live history: a subscriber sees every status change of a job it did not
// create, in order and once; resuming from a cursor gives exactly what follows,
// also while other transactions insert events concurrently and commit out of order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { CreateJob, JobEvents, JobUpdated } from './support/operations.ts';

let db: TestDatabase;
let service: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url);
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

async function createJob(input: Parameters<typeof service.client.request<unknown, { input: any }>>[1]['input']) {
  const result = await service.client.request(CreateJob, { input });
  if (result.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(result.createJob));
  return result.createJob.data;
}

describe('jobEvents', () => {
  it('shows PENDING → RUNNING → COMPLETED of a job created by someone else, in order, each once', async () => {
    const watcher = service.client.subscribe(JobEvents, { filter: { jobTypes: ['system.sleep'] } });
    // Subscribed first: the create below is another client's request.
    await watcher.waitFor('the subscription to start', () => true).catch(() => undefined);
    const job = await createJob({ jobType: 'system.sleep', payload: { ms: 50, ticks: 2 } });

    const events = await watcher.waitFor('COMPLETED', (received) => received.some((e) => e.jobEvents.status === 'COMPLETED'));
    const ofJob = events.filter((e) => e.jobEvents.job.id === job.id).map((e) => e.jobEvents);
    expect(ofJob.map((e) => e.status)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    expect(ofJob.map((e) => e.previousStatus)).toEqual([null, 'PENDING', 'RUNNING']);
    expect(new Set(ofJob.map((e) => e.id)).size).toBe(3);
    watcher.close();
  });

  it('replays exactly the events after a cursor, then continues live', async () => {
    const live = service.client.subscribe(JobEvents, {});
    const jobs = [];
    for (let i = 0; i < 3; i++) jobs.push(await createJob({ jobType: 'system.noop', payload: {} }));
    const all = await live.waitFor('3 jobs to complete', (received) => received.filter((e) => e.jobEvents.status === 'COMPLETED').length >= 3);
    const cursors = all.map((e) => e.jobEvents.cursor);
    const middle = 4;

    const resumed = service.client.subscribe(JobEvents, { after: cursors[middle] });
    const replayed = await resumed.waitFor('the replay', (received) => received.length >= cursors.length - middle - 1);
    expect(replayed.map((e) => e.jobEvents.cursor)).toEqual(cursors.slice(middle + 1));

    // ...and live events follow the replay without a gap.
    const next = await createJob({ jobType: 'system.noop', payload: {} });
    await resumed.waitFor('the new job to complete', (received) => received.some((e) => e.jobEvents.job.id === next.id && e.jobEvents.status === 'COMPLETED'));
    await live.waitFor('the new job on the first subscription', (received) =>
      received.some((e) => e.jobEvents.job.id === next.id && e.jobEvents.status === 'COMPLETED'),
    );
    expect(resumed.received.map((e) => e.jobEvents.cursor)).toEqual(live.received.map((e) => e.jobEvents.cursor).slice(middle + 1));
    live.close();
    resumed.close();
  });

  it('delivers events that commit out of id order once each, and a cursor never passes them', async () => {
    const watcher = service.client.subscribe(JobEvents, { filter: { queueNames: ['out-of-order'] } });
    // A cursor seen before any of the jobs below exist.
    const earlier = await createJob({ jobType: 'system.noop', payload: {}, queueName: 'out-of-order' });
    const seen = [...(await watcher.waitFor('the earlier job to complete', (r) => r.some((e) => e.jobEvents.job.id === earlier.id && e.jobEvents.status === 'COMPLETED')))];
    const cursorBefore = seen.at(-1)!.jobEvents.cursor;

    // This transaction takes its event id first and commits last.
    const slow = new pg.Client({ connectionString: db.url });
    await slow.connect();
    await slow.query('begin');
    await slow.query(`insert into job (job_type, queue_name, status, scheduled_at) values ('system.noop', 'out-of-order', 'SCHEDULED', now() + interval '1 day')`);
    // Meanwhile 20 other transactions insert and commit events with higher ids.
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.pool.query(`insert into job (job_type, queue_name, status, scheduled_at) values ('system.noop', 'out-of-order', 'SCHEDULED', now() + interval '1 day')`),
      ),
    );
    await slow.query('commit');
    await slow.end();

    const events = await watcher.waitFor('21 more events', (r) => r.length >= seen.length + 21);
    const ids = events.map((e) => e.jobEvents.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(events).toHaveLength(seen.length + 21);

    // Resuming from the earlier cursor replays all 21, the late commit included.
    const resumed = service.client.subscribe(JobEvents, { filter: { queueNames: ['out-of-order'] }, after: cursorBefore });
    const replayed = await resumed.waitFor('the replay', (r) => r.length >= 21);
    expect(replayed.map((e) => e.jobEvents.id).sort()).toEqual(ids.slice(seen.length).sort());
    watcher.close();
    resumed.close();
  });

  it('rejects a malformed cursor with a message naming it', async () => {
    const bad = service.client.subscribe(JobEvents, { after: 'not-a-cursor' });
    await expect(bad.waitFor('an error', () => false, 5000)).rejects.toThrow(/after: is not an event cursor/);
  });
});

describe('jobUpdated', () => {
  it('sends the current state, then progress rising to COMPLETED', async () => {
    const job = await createJob({ jobType: 'system.sleep', payload: { ms: 300, ticks: 5 }, scheduledAt: new Date(Date.now() + 500).toISOString() });
    const updates = service.client.subscribe(JobUpdated, { id: job.id });
    const received = await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));
    expect(received[0]!.jobUpdated.status).toBe('SCHEDULED');
    const progress = received.map((u) => u.jobUpdated.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(100);
    updates.close();
  });
});
