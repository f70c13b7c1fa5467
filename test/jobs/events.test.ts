// Live history: a subscriber sees every status change of a job it did not
// create, in order and once; resuming from a cursor gives exactly what follows,
// also while other transactions insert events concurrently and commit out of order.
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createJob as createJobVia } from '../support/jobs.ts';
import { eventually } from '../support/wait.ts';
import { JobEvents, JobEventStatuses, JobEventsWithJobFragment, JobUpdated } from '../support/operations.ts';
import type { CreateJobInput } from '../generated/graphql.ts';

let db: TestDatabase;
let service: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url);
});

const createJob = (input: CreateJobInput) => createJobVia(service.client, input);

/**
 * Subscribes and returns once the subscription is live. graphql-ws does not
 * acknowledge a subscribe, so the API's subscriber count shows when it is
 * registered (every earlier subscription of this file is closed by then); a
 * probe job created after that gives the tests their first events and cursors.
 */
async function liveEvents(variables: { filter?: Record<string, unknown>; after?: string }, probe: CreateJobInput) {
  const live = service.app.live!;
  await eventually('the earlier subscriptions to end', async () => (live.subscriberCount === 0 ? true : undefined));
  const subscription = service.client.subscribe(JobEvents, variables);
  await eventually('the subscription to be registered', async () => (live.subscriberCount === 1 ? true : undefined));
  const job = await createJob(probe);
  await subscription.waitFor('the probe job', (received) => received.some((e) => e.jobEvents.job.id === job.id));
  return subscription;
}

describe('jobEvents', () => {
  it('shows PENDING → RUNNING → COMPLETED of a job created by someone else, in order, each once', async () => {
    const watcher = await liveEvents({ filter: { jobTypes: ['system.sleep'] } }, { jobType: 'system.sleep', payload: { ms: 0 } });
    // The create below is another client's request (HTTP), not this subscriber's.
    const job = await createJob({ jobType: 'system.sleep', payload: { ms: 50, ticks: 2 } });

    const events = await watcher.waitFor('COMPLETED', (received) =>
      received.some((e) => e.jobEvents.job.id === job.id && e.jobEvents.status === 'COMPLETED'),
    );
    const ofJob = events.filter((e) => e.jobEvents.job.id === job.id).map((e) => e.jobEvents);
    expect(ofJob.map((e) => e.status)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    expect(ofJob.map((e) => e.previousStatus)).toEqual([null, 'PENDING', 'RUNNING']);
    expect(new Set(ofJob.map((e) => e.id)).size).toBe(3);
    watcher.close();
  });

  it('replays exactly the events after a cursor, then continues live', async () => {
    const live = await liveEvents({ filter: { queueNames: ['replay'] } }, { jobType: 'system.noop', queueName: 'replay' });
    const jobs = await Promise.all([1, 2, 3].map(() => createJob({ jobType: 'system.noop', queueName: 'replay' })));
    const all = await live.waitFor('3 jobs to complete', (received) =>
      jobs.every((job) => received.some((e) => e.jobEvents.job.id === job.id && e.jobEvents.status === 'COMPLETED')),
    );
    const cursors = all.map((e) => e.jobEvents.cursor);
    const middle = 4;

    const resumed = service.client.subscribe(JobEvents, { filter: { queueNames: ['replay'] }, after: cursors[middle] });
    const replayed = await resumed.waitFor('the replay', (received) => received.length >= cursors.length - middle - 1);
    expect(replayed.map((e) => e.jobEvents.cursor)).toEqual(cursors.slice(middle + 1));

    // ...and live events follow the replay without a gap.
    const next = await createJob({ jobType: 'system.noop', queueName: 'replay' });
    await resumed.waitFor('the new job to complete', (received) => received.some((e) => e.jobEvents.job.id === next.id && e.jobEvents.status === 'COMPLETED'));
    await live.waitFor('the new job on the first subscription', (received) =>
      received.some((e) => e.jobEvents.job.id === next.id && e.jobEvents.status === 'COMPLETED'),
    );
    expect(resumed.received.map((e) => e.jobEvents.cursor)).toEqual(live.received.map((e) => e.jobEvents.cursor).slice(middle + 1));
    live.close();
    resumed.close();
  });

  it('delivers events that commit out of id order once each, and a cursor never passes them', async () => {
    // Its probe job gives a cursor seen before any of the jobs below exist.
    const earlier = { jobType: 'system.noop', queueName: 'out-of-order' };
    const watcher = await liveEvents({ filter: { queueNames: ['out-of-order'] } }, earlier);
    const seen = [...(await watcher.waitFor('the probe job to complete', (r) => r.some((e) => e.jobEvents.status === 'COMPLETED')))];
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

  it("reads the events' job rows only while a subscriber selects `job` (here through a fragment)", async () => {
    const live = service.app.live!;
    // LiveEvents' loadJobs (a constructor parameter), counted.
    const reader = live as unknown as { loadJobs: (jobIds: string[]) => Promise<Array<{ id: string }>> };
    const loadJobs = reader.loadJobs;
    let loads = 0;
    reader.loadJobs = (jobIds) => (loads++, loadJobs(jobIds));
    try {
      await eventually('the earlier subscriptions to end', async () => (live.subscriberCount === 0 ? true : undefined));
      const filter = { queueNames: ['events-without-jobs'] };
      const statuses = service.client.subscribe(JobEventStatuses, { filter });
      await eventually('the subscription to be registered', async () => (live.subscriberCount === 1 ? true : undefined));
      await createJob({ jobType: 'system.sleep', queueName: 'events-without-jobs', payload: { ms: 0 } });
      await statuses.waitFor('COMPLETED', (received) => received.filter((e) => e.jobEvents.status === 'COMPLETED').length === 1);
      expect(statuses.received.map((e) => e.jobEvents.status)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
      expect(loads).toBe(0);

      const withJob = service.client.subscribe(JobEventsWithJobFragment, { filter });
      await eventually('the second subscription to be registered', async () => (live.subscriberCount === 2 ? true : undefined));
      const second = await createJob({ jobType: 'system.sleep', queueName: 'events-without-jobs', payload: { ms: 0 } });
      const events = await withJob.waitFor('COMPLETED', (received) => received.some((e) => e.jobEvents.status === 'COMPLETED'));
      expect(events.map((e) => [e.jobEvents.status, e.jobEvents.job.id])).toEqual([
        ['PENDING', second.id],
        ['RUNNING', second.id],
        ['COMPLETED', second.id],
      ]);
      expect(loads).toBeGreaterThan(0);
      await statuses.waitFor('the second COMPLETED', (received) => received.filter((e) => e.jobEvents.status === 'COMPLETED').length === 2);
      statuses.close();
      withJob.close();
    } finally {
      reader.loadJobs = loadJobs;
    }
  });

  it('rejects a malformed cursor with a message naming it', async () => {
    const bad = service.client.subscribe(JobEvents, { after: 'not-a-cursor' });
    await expect(bad.waitFor('an error', () => false, 5000)).rejects.toThrow(/after: is not an event cursor/);
  });
});

describe('jobUpdated', () => {
  it('sends the current state, then progress rising to COMPLETED', async () => {
    // Progress 20, 40, 60, 80, 100, one step every 250 ms.
    const job = await createJob({ jobType: 'system.sleep', payload: { ms: 1250, ticks: 5 }, scheduledAt: new Date(Date.now() + 2000).toISOString() });
    const updates = service.client.subscribe(JobUpdated, { id: job.id });
    const received = await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));
    expect(received[0]!.jobUpdated).toMatchObject({ status: 'SCHEDULED', progress: 0 });
    expect(received.at(-1)!.jobUpdated).toMatchObject({ status: 'COMPLETED', progress: 100 });
    // Updates that change only the status repeat the progress; the values seen
    // one after another rise strictly, through values reported on the way.
    const progress = received.map((u) => u.jobUpdated.progress).filter((value, i, all) => i === 0 || value !== all[i - 1]);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!, `progress seen: ${progress.join(', ')}`).toBeGreaterThan(progress[i - 1]!);
    const onTheWay = progress.filter((value) => value > 0 && value < 100);
    expect(onTheWay.every((value) => [20, 40, 60, 80].includes(value)), `progress seen: ${progress.join(', ')}`).toBe(true);
    expect(onTheWay.length, `progress seen: ${progress.join(', ')}`).toBeGreaterThanOrEqual(2);
  });
});

describe('a dropped LISTEN connection', () => {
  it('loses no event: the API reconnects and reads the log from where it was', async () => {
    const watcher = await liveEvents({ filter: { queueNames: ['reconnect'] } }, { jobType: 'system.noop', queueName: 'reconnect' });
    const { rowCount } = await db.pool.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'jobwire-listener'`);
    expect(rowCount).toBeGreaterThan(0);
    // Created while the API has no LISTEN connection.
    const jobs = await Promise.all([1, 2, 3].map(() => createJob({ jobType: 'system.noop', queueName: 'reconnect' })));
    const received = await watcher.waitFor('the 3 jobs to complete', (r) =>
      jobs.every((job) => r.some((e) => e.jobEvents.job.id === job.id && e.jobEvents.status === 'COMPLETED')),
    );
    const ids = received.filter((e) => jobs.some((job) => job.id === e.jobEvents.job.id)).map((e) => e.jobEvents.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(9);
    watcher.close();
  });
});
