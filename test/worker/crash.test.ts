// A worker killed with SIGKILL mid-job: a live worker takes the job over
// within a minute, it completes once, and the history says what happened.
// Jobs a dead worker left without a queue entry are queued again.
import { beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnWorker, startTestApp, type ChildWorker, type TestApp } from '../support/app.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createJob, queueEntryOf, removeQueueEntry } from '../support/jobs.ts';
import { JobUpdated, JobWithHistory } from '../support/operations.ts';
import { createLogger } from '../../src/logger.ts';
import { OrphanSweep } from '../../src/worker/orphans.ts';
import { eventually } from '../support/wait.ts';

let db: TestDatabase;
let api: TestApp;
const workers: ChildWorker[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false } });
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
  // With its only worker gone the job waits for one (NO_WORKER, src/registry/) until the next registers.
  expect(events.map((e) => e.status)).toEqual(['PENDING', 'RUNNING', 'RETRYING', 'RETRYING', 'RETRYING', 'RUNNING', 'COMPLETED']);
  expect(events[2]!.message).toBe('worker shut down while running the job; re-queued');
  expect(events.slice(3, 5).map((e) => e.message)).toEqual(['waiting: no live worker serves this job type in queue default', 'no longer waiting']);
  expect(done!.retryCount).toBe(0);
  updates.close();
});

it('queues again the jobs a dead worker left without a queue entry (it died before writing their outcome); each completes once', async () => {
  // What a worker killed between graphile-worker removing the queue entries and
  // its own write of the outcomes leaves behind: a job still PENDING (taken by a
  // read, RUNNING not yet written) and one RUNNING, neither with a queue entry.
  for (const earlier of workers.splice(0)) {
    if (earlier.process.exitCode === null && earlier.process.signalCode === null) earlier.process.kill('SIGTERM');
    await earlier.exited;
  }
  const pending = await createJob(api.client, { jobType: 'system.noop' });
  const running = await createJob(api.client, { jobType: 'system.noop', maxRetries: 3 });
  await db.pool.query(`update job set status = 'RUNNING', worker_id = 'worker-killed' where id = $1`, [uuidOf(running.id)]);
  for (const job of [pending, running]) await removeQueueEntry(db.pool, uuidOf(job.id));
  const updates = [pending, running].map((job) => api.client.subscribe(JobUpdated, { id: job.id }));

  const worker = await spawnWorker(db.url);
  workers.push(worker);
  for (const stream of updates) {
    await stream.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));
    stream.close();
  }
  expect(worker.logs.some((entry) => entry.msg?.toString().startsWith('queued again jobs left without a queue entry'))).toBe(true);

  const histories = await Promise.all([pending, running].map((job) => api.client.request(JobWithHistory, { id: job.id })));
  // Created while no worker ran: it waited (NO_WORKER) until this one registered.
  expect(histories[0]!.job!.events.edges.map((e) => [e.node.status, e.node.message])).toEqual([
    ['PENDING', 'waiting: no live worker serves this job type in queue default'],
    ['PENDING', 'no longer waiting'],
    ['RUNNING', null],
    ['COMPLETED', null],
  ]);
  const events = histories[1]!.job!.events.edges.map((e) => e.node);
  expect(events.map((e) => e.status)).toEqual(['PENDING', 'RUNNING', 'RETRYING', 'RUNNING', 'COMPLETED']);
  expect(events[2]!.message).toBe('worker worker-killed stopped while running the job');
  const queued = await db.pool.query('select count(*)::int as n from graphile_worker.jobs');
  expect(queued.rows[0].n).toBe(0);
  worker.process.kill('SIGTERM');
  await worker.exited;
});

it('a stale queue entry of a running job does not take the job over from its live worker', async () => {
  // An entry the job has been queued past (as a retry leaves one behind while
  // its old holder still runs): its task must not take the job for a dead
  // worker's and run it a second time.
  for (const earlier of workers.splice(0)) {
    if (earlier.process.exitCode === null && earlier.process.signalCode === null) earlier.process.kill('SIGTERM');
    await earlier.exited;
  }
  const worker = await spawnWorker(db.url);
  workers.push(worker);
  const job = await createJob(api.client, { jobType: 'system.sleep', maxRetries: 3, payload: { ms: 1500, ticks: 15 } });
  const id = uuidOf(job.id);
  const updates = api.client.subscribe(JobUpdated, { id: job.id });
  await updates.waitFor('RUNNING with progress', (r) => r.some((u) => u.jobUpdated.status === 'RUNNING' && u.jobUpdated.progress > 0));

  const stale = await db.pool.query<{ id: string }>(`select id from graphile_worker.add_job('run_job', json_build_object('jobId', $1::uuid))`, [id]);
  await eventually('the worker to drop the stale entry', async () => {
    const { rowCount } = await db.pool.query('select 1 from graphile_worker.jobs where id = $1', [stale.rows[0]!.id]);
    return rowCount === 0 ? true : undefined;
  });
  await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));

  const { job: done } = await api.client.request(JobWithHistory, { id: job.id });
  expect(done!.events.edges.map((e) => e.node.status)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
  expect(done!.retryCount).toBe(0);
  expect(worker.logs.some((entry) => entry.msg === 'the job was queued again under another entry; this one is stale')).toBe(true);
  updates.close();
  worker.process.kill('SIGTERM');
  await worker.exited;
});

it('the orphan sweep queues a job again only when it finds it twice in a row, unchanged', async () => {
  const sweep = new OrphanSweep(db.pool, createLogger('silent'), 2000);
  const runAt = new Date(Date.now() + 3_600_000);
  const job = await createJob(api.client, { jobType: 'system.noop', scheduledAt: runAt.toISOString() });
  const id = uuidOf(job.id);
  await removeQueueEntry(db.pool, id);

  expect(await sweep.sweep()).toEqual([]);
  // Written to in between, as an outcome on its way would be: not an orphan yet.
  await db.pool.query(`update job set metadata = '{"touched": true}' where id = $1`, [id]);
  expect(await sweep.sweep()).toEqual([]);
  expect(await sweep.sweep()).toEqual([id]);
  expect((await queueEntryOf(db.pool, id))?.run_at.getTime()).toBe(runAt.getTime());
  expect(await sweep.sweep()).toEqual([]);
});

