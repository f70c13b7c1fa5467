// A webhook's URL (a Slack one is a secret) and its headers are write-only
// (issue 23, item 7): readers of the job (Job.payload) and of a schedule's
// template (Schedule.jobTemplate) see the URL's origin and the header names
// only, a redacted value sent back is refused, and no log line or error
// message names more of the URL than its origin. The worker still sends the
// real ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { spawnWorker, startTestApp, type ChildWorker, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startHttpServer } from '../support/http-server.ts';
import { eventually } from '../support/wait.ts';

let db: TestDatabase;
let api: TestApp;
let worker: ChildWorker;
let writer: GraphQLTestClient;
let reader: GraphQLTestClient;
let base: string;
/** Requests the hook server received: path and authorization header. */
const received: Array<{ path: string; authorization?: string }> = [];

const SECRET_PATH = '/services/T000/B000/XXXXsecretXXXX';
const SECRET_HEADER = 'Bearer hook-secret-123';

beforeAll(async () => {
  ({ url: base } = await startHttpServer((request, response) => {
    request.resume();
    received.push({ path: request.url!, authorization: request.headers.authorization });
    response.writeHead(request.url!.startsWith('/fail') ? 500 : 200).end('ok');
  }));
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' } });
  worker = await spawnWorker(db.url, { OUTBOUND_ALLOW_LIST: '127.0.0.1' });
  const key = async (scopes: Array<'jobs:read' | 'jobs:write'>) => (await createApiKey(db.pool, { name: scopes.join(' '), tenantId: 'hooks', scopes })).key;
  writer = api.client.as(await key(['jobs:read', 'jobs:write']));
  reader = api.client.as(await key(['jobs:read']));
});

afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

async function data(client: GraphQLTestClient, query: string, variables?: Record<string, unknown>) {
  const { body } = await client.send(query, variables);
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return body.data as any;
}

const CREATE_JOB = `mutation($input: CreateJobInput!) { createJob(input: $input) {
  __typename ... on MutationCreateJobSuccess { data { id payload } } ... on ValidationError { field message } } }`;

const payload = (path: string) => ({
  url: `${base}${path}?token=query-secret`,
  headers: { authorization: SECRET_HEADER, 'x-team': 'payments' },
  body: { text: 'deployed' },
});

describe('webhook secrets', () => {
  it('Job.payload shows the URL origin and header names only, to every reader; the worker sends the real ones', async () => {
    const created = (await data(writer, CREATE_JOB, { input: { jobType: 'webhook.send', payload: payload(SECRET_PATH), maxRetries: 0 } })).createJob;
    const redacted = { url: `${base}/[redacted]`, headers: { authorization: '[redacted]', 'x-team': '[redacted]' }, body: { text: 'deployed' } };
    expect(created.data.payload).toMatchObject(redacted);
    const id = created.data.id;
    const read = await data(reader, `query($id: ID!) { job(id: $id) { payload } jobs(first: 10) { edges { node { payload } } } }`, { id });
    expect(read.job.payload).toMatchObject(redacted);
    expect(read.jobs.edges.map((edge: any) => edge.node.payload)).toContainEqual(expect.objectContaining(redacted));
    expect(JSON.stringify(read)).not.toMatch(/secret/);

    const done = await eventually('the webhook to be delivered', async () => {
      const job = (await data(reader, `query($id: ID!) { job(id: $id) { status errorMessage } }`, { id })).job;
      return job.status === 'COMPLETED' ? job : undefined;
    });
    expect(done.errorMessage).toBeNull();
    expect(received).toContainEqual({ path: `${SECRET_PATH}?token=query-secret`, authorization: SECRET_HEADER });
  });

  it("a schedule's jobTemplate is redacted the same way", async () => {
    const created = (
      await data(
        writer,
        `mutation($input: CreateScheduleInput!) { createSchedule(input: $input) {
          __typename ... on MutationCreateScheduleSuccess { data { id jobTemplate } } ... on ValidationError { field message } } }`,
        { input: { cron: '0 0 1 1 *', timezone: 'UTC', jobTemplate: { jobType: 'webhook.send', payload: payload(SECRET_PATH) } } },
      )
    ).createSchedule;
    expect(created.__typename).toBe('MutationCreateScheduleSuccess');
    const read = await data(reader, `query($id: ID!) { schedule(id: $id) { jobTemplate } schedules { jobTemplate } }`, {
      id: created.data.id,
    });
    expect(read.schedule.jobTemplate).toMatchObject({
      jobType: 'webhook.send',
      payload: { url: `${base}/[redacted]`, headers: { authorization: '[redacted]', 'x-team': '[redacted]' } },
    });
    expect(JSON.stringify([created, read])).not.toMatch(/secret/);
    const stored = await db.pool.query(`select job_template from schedule where id::text = $1`, [created.data.id]);
    expect(JSON.stringify(stored.rows[0].job_template)).toContain(SECRET_PATH);
  });

  it('a redacted value sent back is refused, naming the field', async () => {
    const answer = (
      await data(writer, CREATE_JOB, {
        input: { jobType: 'webhook.send', payload: { url: `${base}/[redacted]`, headers: { authorization: '[redacted]' } } },
      })
    ).createJob;
    expect(answer).toMatchObject({ __typename: 'ValidationError', field: expect.stringMatching(/^payload\.(url|headers\.authorization)$/) });
    expect(answer.message).toMatch(/\[redacted\]: a value read back from the API; send the real one/);
  });

  it('neither log lines nor the error message name more of the URL than its origin', async () => {
    const failing = (await data(writer, CREATE_JOB, { input: { jobType: 'webhook.send', payload: payload(`/fail${SECRET_PATH}`), maxRetries: 0 } })).createJob;
    const failed = await eventually('the webhook to fail', async () => {
      const job = (await data(reader, `query($id: ID!) { job(id: $id) { status errorMessage } }`, { id: failing.data.id })).job;
      return job.status === 'DEAD_LETTER' ? job : undefined;
    });
    expect(failed.errorMessage).toMatch(new RegExp(`^POST ${base.replaceAll('.', '\\.')} answered 500: ok`));
    const outcomes = await eventually('the worker to log both outcomes', async () => {
      const lines = worker.logs.filter((line) => line.msg === 'webhook delivered' || line.msg === 'job failed; no retries left');
      return lines.length >= 2 ? lines : undefined;
    });
    expect(outcomes.find((line) => line.msg === 'webhook delivered')).toMatchObject({ host: new URL(base).host });
    const logged = JSON.stringify(worker.logs);
    expect(logged).not.toContain('XXXXsecretXXXX');
    expect(logged).not.toContain('query-secret');
    expect(logged).not.toContain('hook-secret-123');
  });
});
