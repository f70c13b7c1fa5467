// The example Python worker (examples/python-worker) against a real service
// process (`serve`, no in-process worker) over the remote-worker protocol:
// the API knows the worker's job types only from what it registered (their
// JSON Schemas, in the registry); many jobs at its concurrency, a cancel learnt at a lease extension, a
// SIGKILLed worker's job run again by another within the lease bound, and
// jobwire's retry policy for failures it reports.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { CancelJob, CreateJobs, JobWithHistory } from '../support/operations.ts';
import { registerPythonJobTypes, spawnPythonWorker, spawnRemoteWorkerApi, type RemoteWorkerApi } from '../support/remote-workers.ts';
import { eventually } from '../support/wait.ts';
import { LEASE_SWEEP_INTERVAL_MS } from '../../src/remote-workers/lease-sweeper.ts';
import type { GraphQLTestClient } from '../support/app.ts';
import { uuidOf } from '../../src/testing/global-id.ts';

let db: TestDatabase;
let api: RemoteWorkerApi;
let creator: GraphQLTestClient;
let workerKey: string;
const WAITING = 'waiting: no live worker serves this job type in queue default';

beforeAll(async () => {
  db = await createTestDatabase();
  api = await spawnRemoteWorkerApi(db.url, { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' });
  creator = api.client.as((await createApiKey(db.pool, { name: 'app', tenantId: 'tenant-py', scopes: ['jobs:read', 'jobs:write'] })).key);
  workerKey = (await createApiKey(db.pool, { name: 'python', tenantId: 'tenant-py', scopes: ['worker'] })).key;
  await registerPythonJobTypes({ baseUrl: api.baseUrl, token: workerKey });
}, 90_000);

afterAll(async () => {
  await api?.stop();
});

async function createJobs(jobs: Array<{ jobType: string; payload: Record<string, unknown>; maxRetries?: number }>): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < jobs.length; start += 500) {
    const result = await creator.request(CreateJobs, { jobs: jobs.slice(start, start + 500) });
    if (result.createJobs.__typename !== 'MutationCreateJobsSuccess') throw new Error(JSON.stringify(result.createJobs));
    ids.push(...result.createJobs.data.map((job) => job.id));
  }
  return ids;
}

/** The job's row, read from the database. */
async function jobRow(id: string) {
  const { rows } = await db.pool.query(
    `select id, status, retry_count, worker_id, result, error_message, error, progress from job where id = $1`,
    [id],
  );
  return rows[0];
}

async function events(jobId: string): Promise<Array<{ status: string; previous: string | null; message: string | null; created_at: Date }>> {
  const { rows } = await db.pool.query(
    `select status, previous_status as previous, message, created_at from job_event where job_id = $1 and step_id is null order by id`,
    [jobId],
  );
  return rows;
}

it("the API checks the Python types' payloads against the JSON Schemas the worker registered", async () => {
  const refused = await creator.request(CreateJobs, { jobs: [{ jobType: 'text.word_count', payload: { text: 'fine' } }, { jobType: 'text.word_count', payload: { text: 42 } }] });
  expect(refused.createJobs).toMatchObject({ __typename: 'ValidationError', field: 'jobs.1.payload.text', message: 'jobs.1.payload.text: must be string' });
  const missing = await creator.request(CreateJobs, { jobs: [{ jobType: 'demo.slow_task', payload: { failAttempts: 1 } }] });
  expect(missing.createJobs).toMatchObject({ __typename: 'ValidationError', field: 'jobs.0.payload.seconds', message: 'jobs.0.payload.seconds: is required' });
  // Nothing was created.
  const { rows } = await db.pool.query('select count(*)::int as n from job');
  expect(rows[0].n).toBe(0);
  const { rows: types } = await db.pool.query(`select name, description, payload_schema->'required' as required from job_type where name in ('text.word_count', 'demo.slow_task') order by name`);
  expect(types).toEqual([
    { name: 'demo.slow_task', description: expect.stringContaining('example Python worker'), required: ['seconds'] },
    { name: 'text.word_count', description: expect.stringContaining('example Python worker'), required: ['text'] },
  ]);
});

it('completes 1,000 jobs with concurrency 10', async () => {
  const ids = await createJobs(Array.from({ length: 1000 }, (_, n) => ({ jobType: 'text.word_count', payload: { text: `job ${n} has five words` } })));
  const worker = spawnPythonWorker({ baseUrl: api.baseUrl, token: workerKey, workerId: 'py-bulk', concurrency: 10, jobTypes: ['text.word_count'] });
  await eventually(
    'all 1,000 jobs COMPLETED',
    async () => {
      const { rows } = await db.pool.query(`select count(*)::int as n from job where job_type = 'text.word_count' and status = 'COMPLETED'`);
      return rows[0].n === 1000 ? true : undefined;
    },
    180_000,
  );
  expect(await worker.stop('SIGTERM')).toBe(0);
  const summary = await worker.waitFor('the worker to unregister', (line) => line.event === 'unregistered');
  expect(summary).toMatchObject({ completed: 1000, failed: 0, lost: 0, requeued: 0 });
  // Ten at a time, never more.
  expect(summary.peakConcurrency).toBe(10);
  const sample = await jobRow(uuidOf(ids[7]!));
  expect(sample).toMatchObject({ status: 'COMPLETED', retry_count: 0, result: { words: 5 }, worker_id: null });
  const { rows } = await db.pool.query(`select count(distinct job_id)::int as n from job_event where status = 'COMPLETED'`);
  expect(rows[0].n).toBeGreaterThanOrEqual(1000);
}, 240_000);

it('a job cancelled while it runs is told so at its next lease extension and ends CANCELLED', async () => {
  const [relayId] = await createJobs([{ jobType: 'demo.slow_task', payload: { seconds: 120 } }]);
  const id = uuidOf(relayId!);
  const worker = spawnPythonWorker({ baseUrl: api.baseUrl, token: workerKey, workerId: 'py-cancel', leaseSeconds: 3, jobTypes: ['demo.slow_task'] });
  await worker.waitFor('the job to start', (line) => line.event === 'job-started' && line.jobId === id);
  // Progress arrives with the lease extensions: the job is running there.
  await eventually('progress from an extension', async () => ((await jobRow(id)).progress > 0 ? true : undefined));
  const cancel = await creator.request(CancelJob, { id: relayId! });
  expect(cancel.cancelJob.__typename).toBe('MutationCancelJobSuccess');
  expect((await jobRow(id)).status).toBe('RUNNING');
  const stopping = await worker.waitFor('the worker to learn of the cancel', (line) => line.event === 'job-stopping' && line.jobId === id);
  expect(stopping).toMatchObject({ reason: 'CANCELLED', at: 'lease-extension' });
  await worker.waitFor('the handler to stop', (line) => line.event === 'job-cancelled' && line.jobId === id);
  expect(await jobRow(id)).toMatchObject({ status: 'CANCELLED', worker_id: null });
  const last = (await events(id)).at(-1)!;
  expect(last).toMatchObject({ status: 'CANCELLED', previous: 'RUNNING', message: 'cancelled; worker remote:tenant-py:py-cancel told at its lease extension' });
  // The queue entry went with the attempt.
  const { rows } = await db.pool.query(`select count(*)::int as n from graphile_worker._private_jobs where payload->>'jobId' = $1`, [id]);
  expect(rows[0].n).toBe(0);
  expect(await worker.stop('SIGTERM')).toBe(0);
}, 60_000);

it('a worker SIGKILLed mid-job loses its lease; another worker runs the job again within the lease bound', async () => {
  const leaseSeconds = 2;
  const [relayId] = await createJobs([{ jobType: 'demo.slow_task', payload: { seconds: 2 }, maxRetries: 3 }]);
  const id = uuidOf(relayId!);
  const first = spawnPythonWorker({ baseUrl: api.baseUrl, token: workerKey, workerId: 'py-doomed', leaseSeconds, jobTypes: ['demo.slow_task'] });
  await first.waitFor('the first worker to start the job', (line) => line.event === 'job-started' && line.jobId === id);
  // Its durable step recorded: the second attempt gets it back instead of running it again.
  await eventually('the step prepare to be recorded', async () => {
    const { rows } = await db.pool.query(`select 1 from job_step where job_id = $1 and name = 'prepare' and status = 'COMPLETED'`, [id]);
    return rows.length === 1 ? true : undefined;
  });
  // Killed mid-job: nothing more reaches the service from it.
  expect(await first.stop('SIGKILL')).toBe('SIGKILL');
  expect(first.lines.filter((line) => line.jobId === id).map((line) => line.event)).toEqual(['job-started']);
  const { rows: lease } = await db.pool.query(`select last_heartbeat_at + make_interval(secs => lease_seconds) as ends from worker where id = 'remote:tenant-py:py-doomed'`);
  expect(lease).toHaveLength(1);
  const second = spawnPythonWorker({ baseUrl: api.baseUrl, token: workerKey, workerId: 'py-heir', leaseSeconds, jobTypes: ['demo.slow_task'] });

  const started = await second.waitFor('the second worker to run the job', (line) => line.event === 'job-started' && line.jobId === id);
  expect(started).toMatchObject({ attempt: 2, workerId: 'py-heir' });
  await second.waitFor('the second worker to complete it', (line) => line.event === 'job-completed' && line.jobId === id);
  expect(await jobRow(id)).toMatchObject({ status: 'COMPLETED', retry_count: 1, result: { attempt: 2, preparedOnAttempt: 1, seconds: 2 } });

  const history = await events(id);
  // Created while no worker served demo.slow_task: it waited (NO_WORKER) until the first one registered.
  expect(history.map((event) => event.status)).toEqual(['PENDING', 'PENDING', 'RUNNING', 'RETRYING', 'RUNNING', 'COMPLETED']);
  expect(history.slice(0, 2).map((event) => event.message)).toEqual([WAITING, 'no longer waiting']);
  // One attempt spent, and the events say why, as for a dead in-process worker.
  expect(history[3]!.message).toBe('worker remote:tenant-py:py-doomed stopped while running the job');
  expect(history[4]!.message).toBe('taken over by worker remote:tenant-py:py-heir');
  // Within the lease bound: not before the killed worker's lease ended, and no later than a sweep and a claim poll after it.
  const leaseEnd = (lease[0].ends as Date).getTime();
  const takenOver = history[3]!.created_at.getTime();
  expect(takenOver).toBeGreaterThanOrEqual(leaseEnd);
  expect(takenOver - leaseEnd).toBeLessThanOrEqual(2 * LEASE_SWEEP_INTERVAL_MS + 2000);
  expect(await second.stop('SIGTERM')).toBe(0);
}, 60_000);

it('failures follow the retry policy: retryable ones retry then dead-letter, a non-retryable one fails at once, durable steps are not redone', async () => {
  const [deadRelay, fatalRelay, recoversRelay] = await createJobs([
    { jobType: 'demo.slow_task', payload: { seconds: 0, failAttempts: 99 }, maxRetries: 2 },
    { jobType: 'demo.slow_task', payload: { seconds: 0, failAttempts: 99, fatal: true }, maxRetries: 5 },
    { jobType: 'demo.slow_task', payload: { seconds: 0, failAttempts: 1 }, maxRetries: 3 },
  ]);
  const [dead, fatal, recovers] = [deadRelay, fatalRelay, recoversRelay].map((relay) => uuidOf(relay!));
  const worker = spawnPythonWorker({ baseUrl: api.baseUrl, token: workerKey, workerId: 'py-failing', concurrency: 3, jobTypes: ['demo.slow_task'] });
  const settled = async (jobId: string) =>
    eventually(`job ${jobId} to settle`, async () => {
      const row = await jobRow(jobId);
      return ['COMPLETED', 'FAILED', 'DEAD_LETTER'].includes(row.status) ? row : undefined;
    });

  expect(await settled(dead!)).toMatchObject({
    status: 'DEAD_LETTER',
    retry_count: 2,
    error_message: 'attempt 3 failed as asked (after 3 attempts)',
    error: { name: 'RuntimeError', message: 'attempt 3 failed as asked' },
  });
  // Each waited for a worker first (NO_WORKER, then "no longer waiting").
  expect((await events(dead!)).map((event) => event.status)).toEqual(['PENDING', 'PENDING', 'RUNNING', 'RETRYING', 'RUNNING', 'RETRYING', 'RUNNING', 'DEAD_LETTER']);

  expect(await settled(fatal!)).toMatchObject({ status: 'FAILED', retry_count: 0, error: { name: 'NonRetryableError', message: 'attempt 1 failed as asked' } });
  expect((await events(fatal!)).map((event) => event.status)).toEqual(['PENDING', 'PENDING', 'RUNNING', 'FAILED']);

  // The step "prepare" completed on attempt 1; attempt 2 got its stored result instead of running it again.
  expect(await settled(recovers!)).toMatchObject({ status: 'COMPLETED', retry_count: 1, result: { attempt: 2, preparedOnAttempt: 1 } });
  const { rows: steps } = await db.pool.query(`select name, status, result from job_step where job_id = $1`, [recovers]);
  expect(steps).toEqual([{ name: 'prepare', status: 'COMPLETED', result: { preparedOnAttempt: 1 } }]);
  const stepEvents = await db.pool.query(`select count(*)::int as n from job_event e join job_step s on s.id = e.step_id where s.job_id = $1 and e.status = 'COMPLETED'`, [recovers]);
  expect(stepEvents.rows[0].n).toBe(1);
  expect(await worker.stop('SIGTERM')).toBe(0);
}, 90_000);

it('keeps the GraphQL view in step: a job run remotely reads as any other', async () => {
  const [relayId] = await createJobs([{ jobType: 'text.word_count', payload: { text: 'one two three' } }]);
  const worker = spawnPythonWorker({ baseUrl: api.baseUrl, token: workerKey, workerId: 'py-view', jobTypes: ['text.word_count'] });
  const id = uuidOf(relayId!);
  await worker.waitFor('the job to complete', (line) => line.event === 'job-completed' && line.jobId === id);
  const { job } = await creator.request(JobWithHistory, { id: relayId! });
  expect(job).toMatchObject({ status: 'COMPLETED', result: { words: 3 } });
  // It waited for a worker (NO_WORKER) until this one registered.
  expect(job!.events.edges.map((edge) => edge.node.status)).toEqual(['PENDING', 'PENDING', 'RUNNING', 'COMPLETED']);
  expect((await events(id)).slice(0, 2).map((event) => event.message)).toEqual([WAITING, 'no longer waiting']);
  expect(await worker.stop('SIGTERM')).toBe(0);
}, 60_000);

it("the job context from Python: tags, child jobs and a wait for them, a stream, logs and a durable nap, each wait ending the attempt", async () => {
  const [relayId] = await createJobs([{ jobType: 'demo.report', payload: { texts: ['one two', 'three four five'], napSeconds: 0.3 } }]);
  const id = uuidOf(relayId!);
  // Concurrency 1: the parent's waits free the only slot, and its children run in it.
  const worker = spawnPythonWorker({ baseUrl: api.baseUrl, token: workerKey, workerId: 'py-context', concurrency: 1, jobTypes: ['demo.report', 'text.word_count'] });
  await worker.waitFor('the report to complete', (line) => line.event === 'job-completed' && line.jobId === id);
  expect(await jobRow(id)).toMatchObject({ status: 'COMPLETED', retry_count: 0, result: { words: 5, counts: [2, 3] } });
  expect(worker.lines.filter((line) => line.event === 'job-waiting' && line.jobId === id).map((line) => line.step)).toEqual(['counts', 'nap']);

  const { rows: children } = await db.pool.query(`select status, result, created_by from job where parent_job_id = $1 order by payload->>'text'`, [id]);
  expect(children).toEqual([
    { status: 'COMPLETED', result: { words: 2 }, created_by: `job:${id}` },
    { status: 'COMPLETED', result: { words: 3 }, created_by: `job:${id}` },
  ]);
  const { rows: chunks } = await db.pool.query(`select stream_name, sequence, chunk from job_stream_chunk where job_id = $1 order by sequence`, [id]);
  expect(chunks).toEqual([
    { stream_name: 'counts', sequence: 1, chunk: { text: 0, words: 2 } },
    { stream_name: 'counts', sequence: 2, chunk: { text: 1, words: 3 } },
  ]);
  const { rows: lines } = await db.pool.query(`select attempt, level, message, fields from job_log_line where job_id = $1 order by sequence`, [id]);
  expect(lines).toEqual([
    { attempt: 1, level: 'INFO', message: 'report started', fields: { texts: 2 } },
    { attempt: 1, level: 'INFO', message: 'counts published', fields: { total: 5 } },
    { attempt: 1, level: 'INFO', message: 'report done after its nap', fields: { total: 5 } },
  ]);
  const { rows: tags } = await db.pool.query(`select tags from job where id = $1`, [id]);
  expect(tags[0].tags).toEqual(['report', 'texts:2']);
  // Each wait ended the attempt without spending one: PENDING (CHILDREN), then PENDING (TIMER).
  const history = (await events(id)).slice(2).map((event) => [event.status, event.message]);
  expect(history).toEqual([
    ['RUNNING', null],
    ['PENDING', 'waiting for all of 2 child jobs (step counts)'],
    ['PENDING', 'child jobs finished (all of 2)'],
    ['RUNNING', null],
    ['PENDING', expect.stringMatching(/^sleeping until \S+ \(step nap\)$/)],
    ['RUNNING', null],
    ['COMPLETED', null],
  ]);
  expect(await worker.stop('SIGTERM')).toBe(0);
  const summary = await worker.waitFor('the worker to unregister', (line) => line.event === 'unregistered');
  expect(summary).toMatchObject({ completed: 3, waiting: 2, failed: 0, lost: 0 });
}, 60_000);
