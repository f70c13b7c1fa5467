// Bad input gets a typed error naming the problem, and changes nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createJob } from '../support/jobs.ts';
import { CancelJob, CreateJob, CreateJobs, RetryJob } from '../support/operations.ts';
import type { CreateJobInput } from '../generated/graphql.ts';
import { CreateRegistryJob } from '../support/operations-registry.ts';

let db: TestDatabase;
let service: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  // No worker: nothing moves while we compare before and after.
  service = await startTestApp(db.url, { roles: { api: true, worker: false } });
});

async function snapshot() {
  const { rows } = await db.pool.query(`select
    (select count(*) from job) as jobs, (select count(*) from job_event) as events,
    (select count(*) from job_step) as steps, (select count(*) from graphile_worker._private_jobs) as queued`);
  return rows[0];
}

const valid: CreateJobInput = { jobType: 'webhook.send', payload: { url: 'http://127.0.0.1:9/hook' } };

describe('createJob rejects bad input and changes nothing', () => {
  const cases: Array<[string, CreateJobInput, string, RegExp]> = [
    ['a payload that is not an object', { ...valid, payload: [1, 2] }, 'payload', /must be a JSON object/],
    ['a payload the job type rejects', { ...valid, payload: { url: 'ftp://example.com' } }, 'payload.url', /http\(s\) URL/],
    ['negative retries', { ...valid, maxRetries: -1 }, 'maxRetries', /must not be negative/],
    ['a priority out of range', { ...valid, priority: 5000 }, 'priority', /at most 1000/],
    ['a malformed queue name', { ...valid, queueName: 'no spaces please' }, 'queueName', /letters, digits/],
    ['metadata that is not an object', { ...valid, metadata: 'x' }, 'metadata', /must be a JSON object/],
    ['an unknown parent job', { ...valid, parentJobId: '00000000-0000-4000-8000-000000000000' }, 'parentJobId', /no job with id/],
  ];
  it.each(cases)('%s', async (_name, input, field, message) => {
    const before = await snapshot();
    const result = await service.client.request(CreateJob, { input });
    expect(result.createJob).toMatchObject({ __typename: 'ValidationError', field });
    expect((result.createJob as { message: string }).message).toMatch(message);
    expect(await snapshot()).toEqual(before);
  });

  it('an unknown job type is an UnknownJobTypeError naming it and the known types (src/registry/)', async () => {
    const before = await snapshot();
    const result = await service.client.request(CreateRegistryJob, { input: { ...valid, jobType: 'email.send' } });
    expect(result.createJob).toMatchObject({ __typename: 'UnknownJobTypeError', field: 'jobType', jobType: 'email.send' });
    expect((result.createJob as { message: string }).message).toMatch(/unknown job type "email.send": no worker has registered it; known types: .*webhook.send/);
    expect(await snapshot()).toEqual(before);
  });

  it('a scheduledAt that is no date-time is refused by the DateTime scalar, naming the variable', async () => {
    const before = await snapshot();
    const response = await fetch(service.client.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: CreateJob.toString(), variables: { input: { ...valid, scheduledAt: 'next tuesday' } } }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: Array<{ message: string }> };
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors?.[0]?.message).toMatch(/scheduledAt/);
    expect(await snapshot()).toEqual(before);
  });

  it('createJobs is all-or-nothing and names the bad entry', async () => {
    const before = await snapshot();
    const result = await service.client.request(CreateJobs, { jobs: [valid, valid, { ...valid, payload: { url: 42 } }] });
    expect(result.createJobs).toMatchObject({ __typename: 'ValidationError', field: 'jobs.2.payload.url' });
    expect(await snapshot()).toEqual(before);
  });

  it('createJobs creates many in input order', async () => {
    const result = await service.client.request(CreateJobs, {
      jobs: [{ jobType: 'system.noop', priority: 1 }, { jobType: 'system.noop', priority: 2 }, { jobType: 'system.noop', priority: 3 }],
    });
    if (result.createJobs.__typename !== 'MutationCreateJobsSuccess') throw new Error(JSON.stringify(result));
    expect(result.createJobs.data.map((job) => job.priority)).toEqual([1, 2, 3]);
    expect(result.createJobs.data.every((job) => job.status === 'PENDING' && job.createdBy === 'local-dev')).toBe(true);
  });
});

describe('cancelJob and retryJob', () => {
  it('answer JobNotFoundError for an unknown id', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    expect((await service.client.request(CancelJob, { id })).cancelJob).toMatchObject({ __typename: 'JobNotFoundError', jobId: id });
    expect((await service.client.request(RetryJob, { id })).retryJob).toMatchObject({ __typename: 'JobNotFoundError', jobId: id });
  });

  it('answer ValidationError for something that is not a job id', async () => {
    expect((await service.client.request(CancelJob, { id: 'hello' })).cancelJob).toMatchObject({ __typename: 'ValidationError', field: 'id' });
  });

  it('retrying a job that is still queued answers JobStillActiveError and changes nothing', async () => {
    const job = await createJob(service.client, valid);
    const before = await snapshot();
    const result = await service.client.request(RetryJob, { id: job.id });
    expect(result.retryJob).toMatchObject({ __typename: 'JobStillActiveError', jobId: uuidOf(job.id), action: 'retry', status: 'PENDING' });
    expect(await snapshot()).toEqual(before);
  });
});

describe('the database enforces the status machine', () => {
  it('rejects an illegal transition whatever the code path', async () => {
    const job = await createJob(service.client, valid);
    const id = uuidOf(job.id);
    await expect(db.pool.query(`update job set status = 'COMPLETED' where id = $1`, [id])).rejects.toMatchObject({
      code: 'JW001',
      message: expect.stringMatching(/cannot go from PENDING to COMPLETED/),
    });
    await expect(
      db.pool.query(`update job set status = 'COMPLETED', started_at = now() + interval '1 minute' where id = $1`, [id]),
    ).rejects.toMatchObject({ code: 'JW001' });
    await expect(db.pool.query(`update job set status = 'FAILED', error_message = 'x' where id = $1`, [id])).rejects.toMatchObject({
      code: 'JW001',
      message: expect.stringMatching(/cannot go from PENDING to FAILED/),
    });
  });

  it('lets a queued job complete in one write only through RUNNING, with both events', async () => {
    const { rows } = await db.pool.query(`insert into job (job_type) values ('system.noop') returning id, created_at`);
    const { id } = rows[0];
    const started = await db.pool.query(`select clock_timestamp()::text as at`);
    await db.pool.query(`update job set status = 'COMPLETED', started_at = $2 where id = $1`, [id, started.rows[0].at]);
    const job = await db.pool.query(`select status, started_at = $2::timestamptz as started, completed_at >= started_at as ordered from job where id = $1`, [
      id,
      started.rows[0].at,
    ]);
    expect(job.rows[0]).toEqual({ status: 'COMPLETED', started: true, ordered: true });
    const events = await db.pool.query(
      `select previous_status, status, created_at = $2::timestamptz as dated_start from job_event where job_id = $1 order by id`,
      [id, started.rows[0].at],
    );
    expect(events.rows).toEqual([
      { previous_status: null, status: 'PENDING', dated_start: false },
      { previous_status: 'PENDING', status: 'RUNNING', dated_start: true },
      { previous_status: 'RUNNING', status: 'COMPLETED', dated_start: false },
    ]);
  });

  it('requires a reason for FAILED and keeps completed_at after started_at', async () => {
    await expect(
      db.pool.query(`insert into job (job_type, status) values ('system.noop', 'RUNNING')`),
    ).rejects.toMatchObject({ code: 'JW001' });
    const { rows } = await db.pool.query(`insert into job (job_type) values ('system.noop') returning id`);
    await db.pool.query(`update job set status = 'RUNNING' where id = $1`, [rows[0].id]);
    await expect(db.pool.query(`update job set status = 'FAILED' where id = $1`, [rows[0].id])).rejects.toMatchObject({
      constraint: 'job_failure_has_reason',
    });

    await db.pool.query(`update job set status = 'COMPLETED' where id = $1`, [rows[0].id]);
    const times = `select status, started_at, completed_at, completed_at >= started_at as ordered from job where id = $1`;
    const completed = (await db.pool.query(times, [rows[0].id])).rows[0];
    expect(completed).toMatchObject({ status: 'COMPLETED', ordered: true });
    await expect(
      db.pool.query(`update job set completed_at = started_at - interval '1 second' where id = $1`, [rows[0].id]),
    ).rejects.toMatchObject({ constraint: 'job_completed_after_started' });
    await expect(
      db.pool.query(`update job set started_at = completed_at + interval '1 second' where id = $1`, [rows[0].id]),
    ).rejects.toMatchObject({ constraint: 'job_completed_after_started' });
    expect((await db.pool.query(times, [rows[0].id])).rows[0]).toEqual(completed);
  });

  it('keeps job_event append-only', async () => {
    await expect(db.pool.query(`update job_event set message = 'rewritten'`)).rejects.toMatchObject({ code: 'JW003' });
  });
});

describe('selections', () => {
  it('createJob answers a client that selects only __typename', async () => {
    const response = await fetch(service.client.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation { createJob(input: { jobType: "system.noop" }) { __typename } }' }),
    });
    expect(await response.json()).toEqual({ data: { createJob: { __typename: 'MutationCreateJobSuccess' } } });
  });
});
