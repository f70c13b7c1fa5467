// Tracing off (the default: no tracer provider registered in this process):
// the API's no-op tracer makes no span, and trace context still works as
// data. A createJob request's traceparent is stored as it came (a remote
// worker is handed it, so its own spans join the caller's trace); an invalid
// one is ignored and the job created; jobs with steps run as ever. The SQL
// path: a transaction's jobwire.traceparent setting is stored by add_job, and
// a malformed one is refused by the database, writing nothing.
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidOf } from '../../src/testing/global-id.ts';
import { AttemptSpan } from '../../src/tracing/job-spans.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { newTraceparent } from '../support/spans.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { tracedStepsHandler } from '../support/traced-handler.ts';
import { eventually } from '../support/wait.ts';

let db: TestDatabase;
let app: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  app = await startTestApp(db.url, { registry: createTestRegistry().register(tracedStepsHandler) });
}, 60_000);

afterAll(async () => {
  await app?.stop();
});

const CREATE_JOB = `mutation ($input: CreateJobInput!) { createJob(input: $input) {
  __typename ... on MutationCreateJobSuccess { data { id traceparent } } } }`;

async function createJob(headers: Record<string, string>, input: Record<string, unknown>): Promise<{ id: string; traceparent: string | null }> {
  const response = await fetch(app.client.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query: CREATE_JOB, variables: { input } }),
  });
  const body = (await response.json()) as { data?: { createJob: { __typename: string; data?: { id: string; traceparent: string | null } } } };
  if (body.data?.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(body));
  return { id: uuidOf(body.data.createJob.data!.id), traceparent: body.data.createJob.data!.traceparent };
}

const stored = async (id: string) =>
  (await db.pool.query<{ traceparent: string | null; tracestate: string | null; status: string }>('select traceparent, tracestate, status from job where id = $1', [id])).rows[0];

it('makes no span: an attempt span is the no-op one', () => {
  const caller = newTraceparent();
  const span = new AttemptSpan({ id: 'j', jobType: 't', queueName: 'q', retryCount: 0, traceparent: caller.traceparent, tracestate: null }, 'w');
  expect(span.recording).toBe(false);
  // The no-op span carries its parent's context: the job's own is what a remote worker is handed.
  expect(span.carrier({ traceparent: caller.traceparent, tracestate: null })).toEqual({ traceparent: caller.traceparent, tracestate: null });
  expect(trace.getActiveSpan()).toBeUndefined();
});

describe('createJob', () => {
  it('stores the request\'s traceparent and tracestate as they came, and the job runs its steps', async () => {
    const caller = newTraceparent();
    const job = await createJob({ traceparent: caller.traceparent, tracestate: 'vendor=abc' }, { jobType: 'test.traced_steps' });
    expect(job.traceparent).toBe(caller.traceparent);
    const done = await eventually('the job to complete', async () => {
      const row = await stored(job.id);
      return row?.status === 'COMPLETED' ? row : undefined;
    });
    expect(done).toEqual({ traceparent: caller.traceparent, tracestate: 'vendor=abc', status: 'COMPLETED' });
    const { rows } = await db.pool.query('select name, status from job_step where job_id = $1 order by started_at', [job.id]);
    expect(rows).toEqual([
      { name: 'first', status: 'COMPLETED' },
      { name: 'second', status: 'COMPLETED' },
    ]);
  });

  it('ignores a malformed traceparent (W3C: a new trace, not a refusal) and a tracestate without one', async () => {
    for (const headers of [
      { traceparent: 'garbage' } as Record<string, string>,
      { traceparent: `01-${'a'.repeat(32)}-${'b'.repeat(16)}-01` },
      { traceparent: `00-${'a'.repeat(32)}-${'0'.repeat(16)}-01` },
      { tracestate: 'vendor=abc' },
    ]) {
      const job = await createJob(headers, { jobType: 'system.noop' });
      expect(job.traceparent).toBeNull();
      expect(await stored(job.id)).toMatchObject({ traceparent: null, tracestate: null });
    }
  });
});

it('hands a remote worker the job\'s traceparent with the job', async () => {
  const post = async (operation: string, body: unknown) => {
    const response = await fetch(`${new URL(app.client.url).origin}/workers/v1/${operation}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as any;
  };
  await post('register', { workerId: 'off-worker', jobTypes: [{ name: 'remote.untraced', payloadSchema: { type: 'object' } }] });
  const caller = newTraceparent();
  const job = await createJob({ traceparent: caller.traceparent, tracestate: 'vendor=xyz' }, { jobType: 'remote.untraced' });
  const untraced = await createJob({}, { jobType: 'remote.untraced' });
  const claimed = await post('claim', { workerId: 'off-worker', limit: 10 });
  const byId = Object.fromEntries(claimed.jobs.map((each: { id: string; traceparent: string | null; tracestate: string | null }) => [each.id, [each.traceparent, each.tracestate]]));
  expect(byId).toEqual({ [job.id]: [caller.traceparent, 'vendor=xyz'], [untraced.id]: [null, null] });
  await post('complete', { workerId: 'off-worker', jobs: [{ jobId: job.id }, { jobId: untraced.id }] });
});

describe('add_job in SQL', () => {
  it('stores the transaction\'s jobwire.traceparent; a malformed one is refused and nothing is written', async () => {
    await createJob({}, { jobType: 'system.noop' }); // the default tenant owns a job (add_job's rule)
    const caller = newTraceparent();
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query(`select set_config('jobwire.traceparent', $1, true), set_config('jobwire.tracestate', 'vendor=sql', true)`, [caller.traceparent]);
      const { rows } = await client.query<{ id: string }>(`select add_job('system.noop', '{}', '{}') as id`);
      await client.query('commit');
      expect(await stored(rows[0]!.id)).toMatchObject({ traceparent: caller.traceparent, tracestate: 'vendor=sql' });

      const before = (await db.pool.query('select count(*)::int as count from job')).rows[0].count;
      await client.query('begin');
      await client.query(`select set_config('jobwire.traceparent', 'not-a-traceparent', true)`);
      await expect(client.query(`select add_job('system.noop', '{}', '{}')`)).rejects.toThrow(/job_traceparent_format/);
      await client.query('rollback');
      expect((await db.pool.query('select count(*)::int as count from job')).rows[0].count).toBe(before);
    } finally {
      client.release();
    }
  });
});
