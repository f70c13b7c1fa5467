// Tracing on (docs/tracing.md), with an InMemorySpanExporter registered in
// this process as an app would register its provider: a job created through
// the real HTTP API with a traceparent header gives one trace, createJob (a
// child of the header's span) → job.attempt (a child of createJob) → one
// job.step per durable step, for the in-process worker and for a remote
// worker speaking the lease protocol; a failing attempt records its error.
// An app's active span reaches the job through the sdk's addJob (SQL) and
// traceHeaders (HTTP).
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidOf } from '../../src/testing/global-id.ts';
import { contextOf } from '../../src/tracing/trace-context.ts';
import { addJob } from '../../src/enqueue/add-job.ts';
import { traceHeaders } from '../../src/sdk/index.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { newTraceparent, parentOf, recordSpans, type ReadableSpan, type SpanRecorder } from '../support/spans.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { tracedStepsHandler } from '../support/traced-handler.ts';

let db: TestDatabase;
let app: TestApp;
let spans: SpanRecorder;

beforeAll(async () => {
  spans = recordSpans();
  db = await createTestDatabase();
  app = await startTestApp(db.url, { registry: createTestRegistry().register(tracedStepsHandler) });
}, 60_000);

afterAll(async () => {
  await app?.stop();
});

const CREATE_JOB = `mutation ($input: CreateJobInput!) { createJob(input: $input) {
  __typename ... on MutationCreateJobSuccess { data { id traceparent } } ... on ValidationError { field message } } }`;

/** createJob over HTTP with the caller's trace headers; answers the job's id (UUID) and stored traceparent. */
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

async function post(operation: string, body: unknown): Promise<any> {
  const response = await fetch(`${new URL(app.client.url).origin}/workers/v1/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (response.status !== 200) throw new Error(`${operation}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

const ofJob = (name: string, jobId: string) => (span: ReadableSpan) => span.name === name && span.attributes['jobwire.job.id'] === jobId;
const childrenOf = (parent: ReadableSpan, name: string) =>
  spans
    .spans()
    .filter((span) => span.name === name && parentOf(span) === parent.spanContext().spanId)
    .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
const exceptionOf = (span: ReadableSpan) => span.events.find((event) => event.name === 'exception')?.attributes;

/** The createJob span of a job: a SERVER span, the child of the caller's span. */
async function createSpanOf(jobId: string, caller: { traceId: string; spanId: string }) {
  const create = await spans.waitFor('the createJob span', ofJob('createJob', jobId));
  expect(create.kind).toBe(SpanKind.SERVER);
  expect(create.spanContext().traceId).toBe(caller.traceId);
  expect(parentOf(create)).toBe(caller.spanId);
  return create;
}

describe('an in-process worker', () => {
  it('traces create → attempt → steps in the caller\'s trace, the job storing the create span\'s traceparent', async () => {
    const caller = newTraceparent();
    const job = await createJob({ traceparent: caller.traceparent, tracestate: 'vendor=abc' }, { jobType: 'test.traced_steps' });

    const attempt = await spans.waitFor('the attempt span', ofJob('job.attempt', job.id));
    const create = await createSpanOf(job.id, caller);
    expect(job.traceparent).toBe(`00-${caller.traceId}-${create.spanContext().spanId}-01`);
    const { rows } = await db.pool.query('select traceparent, tracestate from job where id = $1', [job.id]);
    expect(rows[0]).toEqual({ traceparent: job.traceparent, tracestate: 'vendor=abc' });

    expect(attempt.kind).toBe(SpanKind.CONSUMER);
    expect(attempt.spanContext().traceId).toBe(caller.traceId);
    expect(parentOf(attempt)).toBe(create.spanContext().spanId);
    expect(attempt.attributes).toMatchObject({
      'jobwire.job.id': job.id,
      'jobwire.job.type': 'test.traced_steps',
      'jobwire.job.queue': 'default',
      'jobwire.job.attempt': 1,
      'jobwire.job.outcome': 'COMPLETED',
      'messaging.system': 'jobwire',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'default',
      'messaging.message.id': job.id,
    });
    expect(attempt.status.code).toBe(SpanStatusCode.UNSET);

    const steps = childrenOf(attempt, 'job.step');
    expect(steps.map((step) => step.attributes['jobwire.step.name'])).toEqual(['first', 'second']);
    expect(steps.map((step) => step.spanContext().traceId)).toEqual([caller.traceId, caller.traceId]);
    // The handler's own span, made inside a step, is that step's child.
    expect(childrenOf(steps[1]!, 'app.work')).toHaveLength(1);
  });

  it('marks a failing attempt and its step as errors, with the error recorded', async () => {
    const caller = newTraceparent();
    const job = await createJob({ traceparent: caller.traceparent }, { jobType: 'test.traced_steps', payload: { fail: true }, maxRetries: 0 });

    const attempt = await spans.waitFor('the failed attempt span', ofJob('job.attempt', job.id));
    const create = await createSpanOf(job.id, caller);
    expect(parentOf(attempt)).toBe(create.spanContext().spanId);
    expect(attempt.attributes['jobwire.job.outcome']).toBe('DEAD_LETTER');
    expect(attempt.status).toEqual({ code: SpanStatusCode.ERROR, message: 'the second step broke' });
    expect(exceptionOf(attempt)).toMatchObject({ 'exception.type': 'Error', 'exception.message': 'the second step broke' });

    const steps = childrenOf(attempt, 'job.step');
    expect(steps.map((step) => [step.attributes['jobwire.step.name'], step.status.code])).toEqual([
      ['first', SpanStatusCode.UNSET],
      ['second', SpanStatusCode.ERROR],
    ]);
    expect(exceptionOf(steps[1]!)).toMatchObject({ 'exception.message': 'the second step broke' });
  });

  it('starts a new trace for a job created without a traceparent, or with an invalid one', async () => {
    for (const headers of [{} as Record<string, string>, { traceparent: '00-not-a-trace-01' }, { traceparent: `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01` }]) {
      const job = await createJob(headers, { jobType: 'test.traced_steps' });
      const attempt = await spans.waitFor('the attempt span', ofJob('job.attempt', job.id));
      const create = spans.spans().find(ofJob('createJob', job.id))!;
      expect(parentOf(create)).toBeUndefined();
      expect(parentOf(attempt)).toBe(create.spanContext().spanId);
      expect(job.traceparent).toBe(`00-${create.spanContext().traceId}-${create.spanContext().spanId}-01`);
    }
  });
});

describe('child jobs', () => {
  it('puts a spawned child\'s attempts under the parent\'s attempt, in the caller\'s trace; the waiting run ends WAITING', async () => {
    const caller = newTraceparent();
    const parent = await createJob({ traceparent: caller.traceparent }, { jobType: 'test.workflow_parent', payload: { spawn: [{ jobType: 'test.traced_steps', payload: {} }] } });
    const parentAttempt = (outcome: string) => (span: ReadableSpan) => ofJob('job.attempt', parent.id)(span) && span.attributes['jobwire.job.outcome'] === outcome;
    const first = await spans.waitFor('the parent\'s attempt that spawned', parentAttempt('WAITING'));
    expect(first.attributes['jobwire.job.outcome']).toBe('WAITING');
    const child = await spans.waitFor('the child\'s attempt', (span) => span.name === 'job.attempt' && span.attributes['jobwire.job.type'] === 'test.traced_steps' && parentOf(span) === first.spanContext().spanId);
    expect(child.spanContext().traceId).toBe(caller.traceId);
    expect(childrenOf(child, 'job.step')).toHaveLength(2);
    // The parent's next run (once its child ended; a wait spends no retry, so it is attempt 1 again) is again the create span's child.
    const second = await spans.waitFor('the parent\'s run after the wait', parentAttempt('COMPLETED'));
    expect(parentOf(second)).toBe(parentOf(first));
    expect(second.attributes['jobwire.job.attempt']).toBe(1);
  });
});

describe('a remote worker', () => {
  const type = { name: 'remote.traced', payloadSchema: { type: 'object' } };

  beforeAll(async () => {
    await post('register', { workerId: 'traced-worker', jobTypes: [type] });
  });

  async function claimOne(jobId: string) {
    const answer = await post('claim', { workerId: 'traced-worker', jobTypes: [type.name] });
    expect(answer.jobs.map((job: { id: string }) => job.id)).toEqual([jobId]);
    return answer.jobs[0] as { id: string; traceparent: string; tracestate: string | null };
  }

  it('gets the attempt span\'s traceparent with the job; the service records the attempt from lease to report and each step', async () => {
    const caller = newTraceparent();
    const job = await createJob({ traceparent: caller.traceparent, tracestate: 'vendor=xyz' }, { jobType: type.name });
    const claimed = await claimOne(job.id);
    expect(claimed.traceparent).toMatch(new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`));
    expect(claimed.tracestate).toBe('vendor=xyz');

    // The worker's own span, made in the trace context it was handed (as an OpenTelemetry SDK in any language would).
    trace.getTracer('remote-worker').startSpan('worker.handle', {}, contextOf(claimed)).end();
    await post('step', { workerId: 'traced-worker', jobId: job.id, name: 'download', status: 'RUNNING' });
    await post('step', { workerId: 'traced-worker', jobId: job.id, name: 'download', status: 'COMPLETED', result: { bytes: 3 } });
    await post('step', { workerId: 'traced-worker', jobId: job.id, name: 'upload', status: 'COMPLETED' });
    await post('complete', { workerId: 'traced-worker', jobs: [{ jobId: job.id }] });

    const attempt = await spans.waitFor('the remote attempt span', ofJob('job.attempt', job.id));
    const create = await createSpanOf(job.id, caller);
    expect(attempt.spanContext().traceId).toBe(caller.traceId);
    expect(parentOf(attempt)).toBe(create.spanContext().spanId);
    expect(claimed.traceparent).toBe(`00-${caller.traceId}-${attempt.spanContext().spanId}-01`);
    expect(attempt.attributes).toMatchObject({
      'jobwire.job.id': job.id,
      'jobwire.job.type': type.name,
      'jobwire.job.queue': 'default',
      'jobwire.job.attempt': 1,
      'jobwire.job.outcome': 'COMPLETED',
    });
    expect(String(attempt.attributes['jobwire.worker.id'])).toContain('traced-worker');
    expect(attempt.status.code).toBe(SpanStatusCode.UNSET);

    const steps = childrenOf(attempt, 'job.step');
    expect(steps.map((step) => step.attributes['jobwire.step.name'])).toEqual(['download', 'upload']);
    expect(childrenOf(attempt, 'worker.handle')).toHaveLength(1);
  });

  it('records a failed report as the attempt\'s error', async () => {
    const caller = newTraceparent();
    const job = await createJob({ traceparent: caller.traceparent }, { jobType: type.name });
    await claimOne(job.id);
    await post('step', { workerId: 'traced-worker', jobId: job.id, name: 'download', status: 'FAILED', errorMessage: 'no route to host' });
    await post('fail', { workerId: 'traced-worker', jobId: job.id, error: { name: 'QuotaError', message: 'quota exceeded' }, retryable: false });

    const attempt = await spans.waitFor('the failed remote attempt span', ofJob('job.attempt', job.id));
    expect(parentOf(attempt)).toBe((await createSpanOf(job.id, caller)).spanContext().spanId);
    expect(attempt.attributes['jobwire.job.outcome']).toBe('FAILED');
    expect(attempt.status).toEqual({ code: SpanStatusCode.ERROR, message: 'quota exceeded' });
    expect(exceptionOf(attempt)).toMatchObject({ 'exception.type': 'QuotaError', 'exception.message': 'quota exceeded' });
    const [step] = childrenOf(attempt, 'job.step');
    expect(step?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no route to host' });
  });
});

describe('an app with its own active span', () => {
  const appTracer = () => trace.getTracer('app');

  it('enqueues with addJob in its transaction: the job stores the active span\'s traceparent; a later addJob without a span stores none', async () => {
    await createJob({}, { jobType: 'test.traced_steps' }); // the default tenant owns a job (add_job's rule)
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      const { tracedId, enqueue } = await appTracer().startActiveSpan('app.enqueue', async (span) => {
        const id = await addJob(client, 'test.traced_steps');
        span.end();
        return { tracedId: id, enqueue: span };
      });
      const untracedId = await addJob(client, 'test.traced_steps');
      await client.query('commit');

      const { rows } = await db.pool.query<{ id: string; traceparent: string | null }>('select id, traceparent from job where id = any($1::uuid[])', [[tracedId, untracedId]]);
      const stored = Object.fromEntries(rows.map((row) => [row.id, row.traceparent]));
      expect(stored).toEqual({ [tracedId]: `00-${enqueue.spanContext().traceId}-${enqueue.spanContext().spanId}-01`, [untracedId]: null });
      const attempt = await spans.waitFor('the attempt of the job added in a span', ofJob('job.attempt', tracedId));
      expect(parentOf(attempt)).toBe(enqueue.spanContext().spanId);
      expect(attempt.spanContext().traceId).toBe(enqueue.spanContext().traceId);
    } finally {
      client.release();
    }
  });

  it('sends createJob with traceHeaders(): the create span is the active span\'s child', async () => {
    const { job, caller } = await appTracer().startActiveSpan('app.request', async (span) => {
      const created = await createJob(traceHeaders(), { jobType: 'test.traced_steps' });
      span.end();
      return { job: created, caller: span.spanContext() };
    });
    const create = await createSpanOf(job.id, caller);
    expect(create.spanContext().traceId).toBe(caller.traceId);
  });
});
