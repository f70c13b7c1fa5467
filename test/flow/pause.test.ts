// Pausing a queue: none of its jobs starts while others run, the pause outlives
// the workers, it is pushed live, and resumed, all its jobs complete.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import { spawnWorker, type ChildWorker, type TestApp } from '../support/app.ts';
import { createFlowJob, startApiAndTwoWorkers } from '../support/flow.ts';
import { FlowJobEvents, PauseQueue, QueueUpdated, ResumeQueue } from '../support/operations.ts';

let db: TestDatabase;
let api: TestApp;
let workers: ChildWorker[] = [];

beforeAll(async () => {
  ({ db, api, workers } = await startApiAndTwoWorkers());
});
const WAITING = 'waiting: queue paused-q is paused';

it('a paused queue starts none of its jobs while another queue runs; resumed, all complete', async () => {
  const live = api.client.subscribe(QueueUpdated, { queueName: 'paused-q' });
  await live.waitFor('the current state', (r) => r.length === 1);
  expect(live.received[0]!.queueUpdated.paused).toBe(false);

  const paused = await api.client.request(PauseQueue, { queueName: 'paused-q' });
  expect(paused.pauseQueue).toEqual({ __typename: 'MutationPauseQueueSuccess', data: { queueName: 'paused-q', paused: true, pendingCount: 0 } });
  await live.waitFor('paused, pushed live', (r) => r.some((u) => u.queueUpdated.paused));

  const events = api.client.subscribe(FlowJobEvents, { filter: { queueNames: ['paused-q', 'other-q'] } });
  const waiting = [];
  for (let i = 0; i < 5; i++) waiting.push(await createFlowJob(api.client, { jobType: 'system.noop', queueName: 'paused-q' }));
  const others = [];
  for (let i = 0; i < 5; i++) others.push(await createFlowJob(api.client, { jobType: 'system.sleep', queueName: 'other-q', payload: { ms: 100, ticks: 1 } }));
  const waitingIds = new Set(waiting.map((j) => j.id));
  const otherIds = new Set(others.map((j) => j.id));
  await events.waitFor('every job of the paused queue waiting, with its reason', (r) =>
    r.filter((e) => waitingIds.has(e.jobEvents.job.id) && e.jobEvents.message === WAITING).length === 5,
  );
  await events.waitFor('the other queue done', (r) =>
    r.filter((e) => otherIds.has(e.jobEvents.job.id) && e.jobEvents.status === 'COMPLETED').length === 5,
  );

  // The assertion is about time passing: 5 s in which none of them starts.
  await sleep(5000);
  const { rows } = await db.pool.query(
    `select status, waiting_reason, started_at from job where queue_name = 'paused-q'`,
  );
  expect(rows).toHaveLength(5);
  for (const row of rows) expect(row).toEqual({ status: 'PENDING', waiting_reason: 'QUEUE_PAUSED', started_at: null });

  // Kept across restarts: a new job of the queue waits on new workers too.
  for (const worker of workers) worker.process.kill('SIGTERM');
  await Promise.all(workers.map((worker) => worker.exited));
  workers = [await spawnWorker(db.url), await spawnWorker(db.url)];
  const late = await createFlowJob(api.client, { jobType: 'system.noop', queueName: 'paused-q' });
  waitingIds.add(late.id);
  await events.waitFor('the new job waiting on the new workers', (r) =>
    r.some((e) => e.jobEvents.job.id === late.id && e.jobEvents.message === WAITING),
  );

  const resumed = await api.client.request(ResumeQueue, { queueName: 'paused-q' });
  expect(resumed.resumeQueue).toMatchObject({ data: { queueName: 'paused-q', paused: false } });
  await live.waitFor('resumed, pushed live', (r) => r.length >= 3 && !r[r.length - 1]!.queueUpdated.paused);
  await events.waitFor('all six jobs of the resumed queue COMPLETED', (r) =>
    r.filter((e) => waitingIds.has(e.jobEvents.job.id) && e.jobEvents.status === 'COMPLETED').length === 6,
  );
  const resumedEvents = events.received.filter((e) => waitingIds.has(e.jobEvents.job.id) && e.jobEvents.message?.startsWith('queue paused-q resumed'));
  expect(resumedEvents).toHaveLength(6);
  live.close();
  events.close();
});

it('a bad queue name is a validation error naming it', async () => {
  const result = await api.client.request(PauseQueue, { queueName: ' bad name' });
  expect(result.pauseQueue).toMatchObject({ __typename: 'ValidationError', field: 'queueName' });
});
