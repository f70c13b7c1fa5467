// The job-type registry and routing (src/registry/, docs/job-type-registry.md),
// on one real database: an API process that hosts no job type, and in-process
// workers with disjoint job types. Payloads of types the API does not host are
// checked against the JSON Schema their worker registered; a type nobody
// registered is refused; each worker runs only its own types; a type with no
// live worker waits with NO_WORKER and runs once a worker for it starts.
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { JobHandler } from '../../src/worker/handler.ts';
import { HandlerRegistry } from '../../src/worker/registry.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { CreateRegistryJob, CreateRegistryJobs, JobTypesWithWorkers, RegistryJob } from '../support/operations-registry.ts';
import { JobEvents } from '../support/operations.ts';
import { eventually } from '../support/wait.ts';
import { uuidOf } from '../../src/testing/global-id.ts';

const alphaPayload = z.object({ items: z.array(z.object({ amount: z.number() })), note: z.string().optional() }).strict();
// Each worker gets its own handlers, labelled: job.result.ranBy says which worker ran a job
// (job.worker_id is cleared when a job completes).
const alphaHandler = (ranBy: string): JobHandler<z.infer<typeof alphaPayload>> => ({
  jobType: 'test.alpha',
  description: 'Sums the amounts.',
  payload: alphaPayload,
  result: z.object({ total: z.number() }),
  defaults: { queueName: 'alpha', maxRetries: 2 },
  async handle(job) {
    return { success: true, resultData: { ranBy, total: job.payload.items.reduce((sum, item) => sum + item.amount, 0) } };
  },
});
const betaHandler = (ranBy: string): JobHandler<{ n: number }> => ({
  jobType: 'test.beta',
  description: 'Echoes n.',
  payload: z.object({ n: z.number().int() }),
  async handle(job) {
    return { success: true, resultData: { ranBy, n: job.payload.n } };
  },
});
const gammaHandler: JobHandler<Record<string, unknown>> = {
  jobType: 'test.gamma',
  description: 'A date: a payload zod cannot print whole.',
  payload: z.object({ at: z.date().optional(), label: z.string() }),
  async handle() {
    return { success: true };
  },
};
const registryOf = (...handlers: JobHandler<any>[]) => {
  const registry = new HandlerRegistry();
  for (const handler of handlers) registry.register(handler);
  return registry;
};

let db: TestDatabase;
let api: TestApp;
let alphaWorker: TestApp;
const workerEnv = { WORKER_CONCURRENCY: '8', WORKER_LOCAL_QUEUE_SIZE: '50' };

beforeAll(async () => {
  db = await createTestDatabase();
  // The API hosts no job type: every payload it takes is checked against the registry.
  api = await startTestApp(db.url, { roles: { api: true, worker: false }, registry: new HandlerRegistry() });
  alphaWorker = await startTestApp(db.url, { roles: { api: false, worker: true }, registry: registryOf(alphaHandler('alpha')), env: workerEnv });
});

/** A job's row by its global id; ranBy: the label of the worker whose handler ran it. */
const jobRow = async (globalId: string) =>
  (
    await db.pool.query<{ status: string; waiting_reason: string | null; ran_by: string | null }>(
      `select status, waiting_reason, result->>'ranBy' as ran_by from job where id = $1`,
      [uuidOf(globalId)],
    )
  ).rows[0]!;

describe('registration', () => {
  it('a worker registers its types at start: schema, result schema, defaults, and itself as a live server; jobTypes lists them', async () => {
    const { jobTypes } = await api.client.request(JobTypesWithWorkers);
    const alpha = jobTypes.find((type) => type.jobType === 'test.alpha');
    expect(alpha).toMatchObject({
      description: 'Sums the amounts.',
      kind: 'PLAIN',
      hosted: false,
      defaults: { queueName: 'alpha', maxRetries: 2, priority: 0, timeoutMs: null, concurrencyLimit: null },
      liveWorkerCount: 1,
      workers: [{ workerId: alphaWorker.app.worker!.workerId, queueNames: null, live: true }],
    });
    expect(alpha!.payloadSchema).toMatchObject({
      type: 'object',
      properties: { items: { type: 'array', items: { type: 'object', properties: { amount: { type: 'number' } } } } },
      required: ['items'],
      additionalProperties: false,
    });
    expect(alpha!.resultSchema).toMatchObject({ type: 'object', properties: { total: { type: 'number' } } });
    expect(alpha!.registeredAt).not.toBeNull();
    // Its heartbeat keeps it seen.
    const before = new Date(alpha!.workers[0]!.lastSeenAt).getTime();
    await eventually('a later last_seen_at', async () => {
      const { rows } = await db.pool.query<{ seen: Date }>(`select last_seen_at as seen from worker_job_type where job_type = 'test.alpha'`);
      return rows[0]!.seen.getTime() > before ? true : undefined;
    });
  });

  it('a schema zod cannot print whole is registered with the unprintable parts open, and says so', async () => {
    const worker = await startTestApp(db.url, { roles: { api: false, worker: true }, registry: registryOf(gammaHandler) });
    const { rows } = await db.pool.query<{ payload_schema: Record<string, unknown> }>(`select payload_schema from job_type where name = 'test.gamma'`);
    expect(rows[0]!.payload_schema).toMatchObject({ properties: { at: {}, label: { type: 'string' } } });
    expect(rows[0]!.payload_schema.$comment).toContain('at: Date cannot be represented in JSON Schema');
    const created = await api.client.request(CreateRegistryJob, { input: { jobType: 'test.gamma', payload: { label: 7 } } });
    expect(created.createJob).toMatchObject({ __typename: 'ValidationError', field: 'payload.label', message: 'payload.label: must be string' });
    await worker.stop();
  });
});

describe('creating jobs of types the API does not host', () => {
  it("a bad payload is refused naming its path, from the registered schema; nothing is created", async () => {
    const count = async () => (await db.pool.query<{ n: number }>(`select count(*)::int as n from job`)).rows[0]!.n;
    const before = await count();
    const bad = await api.client.request(CreateRegistryJob, {
      input: { jobType: 'test.alpha', payload: { items: [{ amount: 1 }, { amount: 2 }, { amount: 'three' }] } },
    });
    expect(bad.createJob).toEqual({ __typename: 'ValidationError', field: 'payload.items.2.amount', message: 'payload.items.2.amount: must be number' });
    const missing = await api.client.request(CreateRegistryJobs, { jobs: [{ jobType: 'test.alpha', payload: { items: [] } }, { jobType: 'test.alpha', payload: {} }] });
    expect(missing.createJobs).toMatchObject({ __typename: 'ValidationError', field: 'jobs.1.payload.items', message: 'jobs.1.payload.items: is required' });
    const extra = await api.client.request(CreateRegistryJob, { input: { jobType: 'test.alpha', payload: { items: [], colour: 'red' } } });
    expect(extra.createJob).toMatchObject({ __typename: 'ValidationError', field: 'payload.colour' });
    expect(await count()).toBe(before);

    const good = await api.client.request(CreateRegistryJob, { input: { jobType: 'test.alpha', payload: { items: [{ amount: 1 }, { amount: 2 }] } } });
    // The registered defaults apply.
    expect(good.createJob).toMatchObject({ __typename: 'MutationCreateJobSuccess', data: { jobType: 'test.alpha', queueName: 'alpha', maxRetries: 2, waitingReason: null } });
  });

  it('a type nobody registered is an UnknownJobTypeError naming it and the known types', async () => {
    const answer = await api.client.request(CreateRegistryJob, { input: { jobType: 'test.nobody', payload: {} } });
    expect(answer.createJob).toMatchObject({ __typename: 'UnknownJobTypeError', field: 'jobType', jobType: 'test.nobody' });
    if (answer.createJob.__typename !== 'UnknownJobTypeError') throw new Error('expected UnknownJobTypeError');
    expect(answer.createJob.knownJobTypes).toContain('test.alpha');
    expect(answer.createJob.message).toContain('unknown job type "test.nobody"');
  });

  it('with ALLOW_UNKNOWN_JOB_TYPES it is created, unchecked, and waits with NO_WORKER', async () => {
    const lenient = await startTestApp(db.url, { roles: { api: true, worker: false }, registry: new HandlerRegistry(), env: { ALLOW_UNKNOWN_JOB_TYPES: 'true' } });
    const answer = await lenient.client.request(CreateRegistryJob, { input: { jobType: 'test.nobody', payload: { anything: true } } });
    expect(answer.createJob).toMatchObject({ __typename: 'MutationCreateJobSuccess', data: { status: 'PENDING', waitingReason: 'NO_WORKER' } });
    await lenient.stop();
  });
});

describe('routing', () => {
  it('a type with no live worker waits with NO_WORKER (in the job and in jobEvents) and completes once a worker for it starts', async () => {
    // Registered once, then its worker leaves: the type is known, no one serves it.
    const first = await startTestApp(db.url, { roles: { api: false, worker: true }, registry: registryOf(betaHandler('beta-first')) });
    await first.stop();

    const subscribers = api.app.live!.subscriberCount;
    const events = api.client.subscribe(JobEvents, { filter: { jobTypes: ['test.beta'], queueNames: ['nobody-yet'] } });
    await eventually('the subscription to be registered', async () => (api.app.live!.subscriberCount > subscribers ? true : undefined));
    const created = await api.client.request(CreateRegistryJob, { input: { jobType: 'test.beta', payload: { n: 7 }, queueName: 'nobody-yet' } });
    if (created.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(created.createJob));
    const id = created.createJob.data.id;
    expect(created.createJob.data).toMatchObject({ status: 'PENDING', waitingReason: 'NO_WORKER' });
    await events.waitFor('the created event', (received) => received.length >= 1);
    expect(events.received[0]!.jobEvents).toMatchObject({ status: 'PENDING', message: 'waiting: no live worker serves this job type in queue nobody-yet' });
    // The alpha worker is running meanwhile: it does not take the job.
    expect((await api.client.request(RegistryJob, { id })).job).toMatchObject({ status: 'PENDING', waitingReason: 'NO_WORKER', workerId: null });
    expect(await jobRow(id)).toMatchObject({ status: 'PENDING', ran_by: null });

    const beta = await startTestApp(db.url, { roles: { api: false, worker: true }, registry: registryOf(betaHandler('beta-second')) });
    await events.waitFor('COMPLETED', (received) => received.some((event) => event.jobEvents.status === 'COMPLETED'));
    expect(events.received.map((event) => [event.jobEvents.status, event.jobEvents.message])).toEqual([
      ['PENDING', 'waiting: no live worker serves this job type in queue nobody-yet'],
      ['PENDING', 'no longer waiting'],
      ['RUNNING', null],
      ['COMPLETED', null],
    ]);
    expect(await jobRow(id)).toMatchObject({ status: 'COMPLETED', waiting_reason: null, ran_by: 'beta-second' });
    await beta.stop();
  });

  it('when the last worker serving a type stops, its queued jobs wait with NO_WORKER', async () => {
    const beta = await startTestApp(db.url, { roles: { api: false, worker: true }, registry: registryOf(betaHandler('beta-stopping')) });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const created = await api.client.request(CreateRegistryJob, { input: { jobType: 'test.beta', payload: { n: 1 }, scheduledAt: later } });
    if (created.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(created.createJob));
    const id = created.createJob.data.id;
    expect(await jobRow(id)).toMatchObject({ status: 'SCHEDULED', waiting_reason: null });
    await beta.stop();
    expect(await jobRow(id)).toMatchObject({ status: 'SCHEDULED', waiting_reason: 'NO_WORKER' });
    const { rows } = await db.pool.query<{ message: string }>(`select message from job_event where job_id = $1 order by id`, [uuidOf(id)]);
    expect(rows.map((row) => row.message)).toEqual([null, 'waiting: no live worker serves this job type in queue default']);
  });

  it('two workers with disjoint types, 1,000 jobs of each: each worker runs only its own', async () => {
    const beta = await startTestApp(db.url, { roles: { api: false, worker: true }, registry: registryOf(betaHandler('beta')), env: workerEnv });
    const batch = (jobType: string, from: number) =>
      Array.from({ length: 500 }, (_, i) => ({
        jobType,
        payload: jobType === 'test.alpha' ? { items: [{ amount: from + i }] } : { n: from + i },
        metadata: { batch: 'thousand' },
      }));
    for (const from of [0, 500]) {
      for (const jobType of ['test.alpha', 'test.beta']) {
        const answer = await api.client.request(CreateRegistryJobs, { jobs: batch(jobType, from) });
        expect(answer.createJobs.__typename).toBe('MutationCreateJobsSuccess');
      }
    }
    const done = await eventually(
      'every job COMPLETED',
      async () => {
        const { rows } = await db.pool.query<{ job_type: string; status: string; ran_by: string | null; n: number }>(
          `select job_type, status, result->>'ranBy' as ran_by, count(*)::int as n from job where metadata->>'batch' = 'thousand'
            group by 1, 2, 3 order by 1, 2, 3`,
        );
        return rows.every((row) => row.status === 'COMPLETED') ? rows : undefined;
      },
      120_000,
    );
    expect(done).toEqual([
      { job_type: 'test.alpha', status: 'COMPLETED', ran_by: 'alpha', n: 1000 },
      { job_type: 'test.beta', status: 'COMPLETED', ran_by: 'beta', n: 1000 },
    ]);
    // The events agree: every RUNNING of these jobs followed a take by the worker of its type (no failure, no retry).
    const { rows } = await db.pool.query<{ status: string; n: number }>(
      `select e.status, count(*)::int as n from job_event e join job on job.id = e.job_id
        where job.metadata->>'batch' = 'thousand' group by 1 order by e.status::text`,
    );
    expect(rows).toEqual([
      { status: 'COMPLETED', n: 2000 },
      { status: 'PENDING', n: 2000 },
      { status: 'RUNNING', n: 2000 },
    ]);
    await beta.stop();
  });

  it('a worker restricted to queues takes only jobs of its types in those queues', async () => {
    const restricted = await startTestApp(db.url, {
      roles: { api: false, worker: true },
      registry: registryOf(betaHandler('beta-blue')),
      env: { WORKER_QUEUES: 'blue' },
    });
    const make = async (queueName: string) => {
      const answer = await api.client.request(CreateRegistryJob, { input: { jobType: 'test.beta', payload: { n: 2000 }, queueName } });
      if (answer.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(answer.createJob));
      return answer.createJob.data;
    };
    const blue = await make('blue');
    const green = await make('green');
    expect(green.waitingReason).toBe('NO_WORKER');
    await eventually('the blue job COMPLETED', async () => ((await jobRow(blue.id)).status === 'COMPLETED' ? true : undefined));
    expect(await jobRow(blue.id)).toMatchObject({ ran_by: 'beta-blue' });
    // An unrestricted beta worker takes the green one (a queue new to it when it started? no: it learns every queue in use).
    const everyQueue = await startTestApp(db.url, { roles: { api: false, worker: true }, registry: registryOf(betaHandler('beta-every-queue')) });
    await eventually('the green job COMPLETED', async () => ((await jobRow(green.id)).status === 'COMPLETED' ? true : undefined));
    expect(await jobRow(green.id)).toMatchObject({ ran_by: 'beta-every-queue', waiting_reason: null });
    // A queue that appears while it runs reaches it at once (JOB_TASK_CHANNEL), not at a restart.
    const fresh = await make('violet');
    expect(fresh.waitingReason).toBeNull();
    await eventually('the violet job COMPLETED', async () => ((await jobRow(fresh.id)).status === 'COMPLETED' ? true : undefined));
    expect(await jobRow(fresh.id)).toMatchObject({ ran_by: 'beta-every-queue' });
    await everyQueue.stop();
    await restricted.stop();
  });

  it('a queue entry written before routing (task run_job) still runs, on a worker that serves its type', async () => {
    const beta = await startTestApp(db.url, { roles: { api: false, worker: true }, registry: registryOf(betaHandler('beta-legacy')) });
    const created = await api.client.request(CreateRegistryJob, { input: { jobType: 'test.beta', payload: { n: 3000 }, scheduledAt: new Date(Date.now() + 3_600_000).toISOString() } });
    if (created.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(created.createJob));
    const id = created.createJob.data.id;
    // As a process of the previous version wrote it: a run_job entry, due now.
    await db.pool.query(
      `update job set queue_entry_id = (select id from graphile_worker.add_job('run_job', json_build_object('jobId', $1::uuid))) where id = $1`,
      [uuidOf(id)],
    );
    await eventually('the job COMPLETED', async () => ((await jobRow(id)).status === 'COMPLETED' ? true : undefined));
    expect(await jobRow(id)).toMatchObject({ ran_by: 'beta-legacy' });
    await beta.stop();
  });
});
