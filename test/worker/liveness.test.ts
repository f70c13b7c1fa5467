// Take-over by session lock, with the default timings (the heartbeat's 30 s
// fallback cannot be what acts here): a SIGKILLed worker's job is run again by
// a live worker, recorded in its history; a worker whose handler blocks its
// event loop for 10 s keeps its job.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnWorker, startTestApp, type ChildWorker, type TestApp } from '../support/app.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createJob } from '../support/jobs.ts';
import { JobUpdated, JobWithHistory } from '../support/operations.ts';
import { createTestRegistry } from '../support/test-handlers.ts';

/** The defaults (config.ts), over the test suite's short heartbeat settings. */
const DEFAULT_TIMINGS = { WORKER_HEARTBEAT_INTERVAL_MS: '5000', WORKER_DEAD_AFTER_MS: '30000', WORKER_POLL_INTERVAL_MS: '2000' };
const WORKER_SCRIPT = ['test/support/worker-process.ts'];
const RELEASED = 'released the jobs of dead workers (their session lock was free)';

let db: TestDatabase;
let api: TestApp;
const workers: ChildWorker[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false }, registry: createTestRegistry() });
});
afterAll(async () => {
  for (const worker of workers) worker.process.kill('SIGKILL');
  await api?.stop();
  await db?.drop();
});

const startWorker = async () => {
  const worker = await spawnWorker(db.url, DEFAULT_TIMINGS, WORKER_SCRIPT);
  workers.push(worker);
  return worker;
};

it('a live worker runs again the job of a SIGKILLed one as soon as its session lock is free', async () => {
  const doomed = await startWorker();
  const job = await createJob(api.client, {
    jobType: 'test.slow_first_attempt',
    maxRetries: 3,
    payload: { firstAttemptMs: 600_000, laterAttemptsMs: 500 },
  });
  const updates = api.client.subscribe(JobUpdated, { id: job.id });
  await updates.waitFor('RUNNING on the first worker', (r) => r.some((u) => u.jobUpdated.status === 'RUNNING' && u.jobUpdated.progress > 0));
  const survivor = await startWorker();

  doomed.process.kill('SIGKILL');
  expect(await doomed.exited).toBe('SIGKILL');
  const killedAt = new Date();
  await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'), 60_000);

  const { job: done } = await api.client.request(JobWithHistory, { id: job.id });
  const events = done!.events.edges.map((e) => e.node);
  expect(events.map((e) => e.status)).toEqual(['PENDING', 'RUNNING', 'RETRYING', 'RUNNING', 'COMPLETED']);
  expect(events[2]!.message).toBe(`worker ${doomed.workerId} stopped while running the job`);
  expect(events[3]!.message).toBe(`taken over by worker ${survivor.workerId}`);
  expect(done!.result).toEqual({ attempt: 2 });
  // The session lock, not the heartbeat, told the survivor.
  expect(survivor.logs.find((line) => line.msg === RELEASED)).toMatchObject({ deadWorkers: [doomed.workerId] });

  const { rows } = await db.pool.query<{ at: Date }>(
    `select created_at as at from job_event where job_id = $1 and status = 'RUNNING' and step_id is null order by tx_id desc, id desc limit 1`,
    [uuidOf(job.id)],
  );
  // A figure for the issue note, not asserted (the machine is shared): kill → running again.
  console.log(`[worker-liveness] SIGKILL → job RUNNING again on the survivor after ${rows[0]!.at.getTime() - killedAt.getTime()} ms (default settings)`);
  updates.close();
  survivor.process.kill('SIGTERM');
  await survivor.exited;
});

it('never takes over a worker whose handler blocks its event loop for 10 s', async () => {
  const busy = await startWorker();
  const job = await createJob(api.client, { jobType: 'test.block_event_loop', maxRetries: 3, payload: { ms: 10_000 } });
  const updates = api.client.subscribe(JobUpdated, { id: job.id });
  await updates.waitFor('RUNNING', (r) => r.some((u) => u.jobUpdated.status === 'RUNNING'));
  // A live, idle worker watches the busy one for the whole block.
  const watcher = await startWorker();
  await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'), 60_000);

  const { job: done } = await api.client.request(JobWithHistory, { id: job.id });
  expect(done!.events.edges.map((e) => e.node.status)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
  expect(done!.retryCount).toBe(0);
  expect(done!.result).toEqual({ blockedMs: 10_000 });
  expect(watcher.logs.filter((line) => line.msg === RELEASED)).toEqual([]);
  expect(busy.logs.filter((line) => /lost its database session|taken over/.test(String(line.msg)))).toEqual([]);
  updates.close();
  for (const worker of [busy, watcher]) {
    worker.process.kill('SIGTERM');
    await worker.exited;
  }
}, 90_000);
