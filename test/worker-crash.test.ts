// A worker killed with SIGKILL mid-job: a live worker takes the job over
// within a minute, it completes once, and the history says what happened.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { spawnWorker, startTestApp, type ChildWorker, type TestApp } from './support/app.ts';
import { createJob } from './support/jobs.ts';
import { JobUpdated, JobWithHistory } from './support/operations.ts';

let db: TestDatabase;
let api: TestApp;
const workers: ChildWorker[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false } });
});
afterAll(async () => {
  for (const worker of workers) worker.process.kill('SIGKILL');
  await api?.stop();
  await db?.drop();
});

it('hands the job of a SIGKILLed worker to a live one, which completes it once', async () => {
  const doomed = await spawnWorker(db.url);
  workers.push(doomed);
  const job = await createJob(api.client, { jobType: 'system.sleep', maxRetries: 3, payload: { ms: 3000, ticks: 30 } });
  const updates = api.client.subscribe(JobUpdated, { id: job.id });
  await updates.waitFor('RUNNING on the first worker', (r) => r.some((u) => u.jobUpdated.status === 'RUNNING' && u.jobUpdated.progress > 0));

  doomed.process.kill('SIGKILL');
  expect(await doomed.exited).toBe('SIGKILL');
  const killedAt = Date.now();
  const survivor = await spawnWorker(db.url);
  workers.push(survivor);

  await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'), 60_000);
  expect(Date.now() - killedAt).toBeLessThan(60_000);

  const { job: done } = await api.client.request(JobWithHistory, { id: job.id });
  const events = done!.events.edges.map((e) => e.node);
  expect(events.map((e) => e.status)).toEqual(['PENDING', 'RUNNING', 'RETRYING', 'RUNNING', 'COMPLETED']);
  expect(events[2]!.message).toBe(`worker ${doomed.workerId} stopped while running the job`);
  expect(events[3]!.message).toBe(`taken over by worker ${survivor.workerId}`);
  expect(done!.retryCount).toBe(1);
  expect(done!.result).toEqual({ sleptMs: 3000 });
  updates.close();
  survivor.process.kill('SIGTERM');
  await survivor.exited;
});

it('on SIGTERM a worker aborts its running job and re-queues it without spending a retry', async () => {
  // The only worker while the job starts, so it is the one that runs it.
  const leaving = await spawnWorker(db.url);
  workers.push(leaving);
  const job = await createJob(api.client, { jobType: 'system.sleep', maxRetries: 0, payload: { ms: 2000, ticks: 20 } });
  const updates = api.client.subscribe(JobUpdated, { id: job.id });
  await updates.waitFor('RUNNING with progress', (r) => r.some((u) => u.jobUpdated.status === 'RUNNING' && u.jobUpdated.progress > 0));

  leaving.process.kill('SIGTERM');
  expect(await leaving.exited).toBe(0);
  workers.push(await spawnWorker(db.url));
  await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));

  const { job: done } = await api.client.request(JobWithHistory, { id: job.id });
  const events = done!.events.edges.map((e) => e.node);
  expect(events.map((e) => e.status)).toEqual(['PENDING', 'RUNNING', 'RETRYING', 'RUNNING', 'COMPLETED']);
  expect(events[2]!.message).toBe('worker shut down while running the job; re-queued');
  expect(done!.retryCount).toBe(0);
  updates.close();
});
