// Job logs (src/jobs/job-logs.ts): ctx.log.info/warn/error in a handler, read
// as Job.logs (paged) and tailed live by jobLogs with `after`.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { z } from 'zod';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import type { JobHandler } from '../../src/core/handler.ts';
import { createViewerToken } from '../../src/sdk/index.ts';
import { droppedMessage, JOB_LOG_MAX_BYTES, JOB_LOG_MAX_LINES } from '../../src/jobs/job-logs.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { deferred, eventually } from '../support/wait.ts';

/** Logs three lines per attempt; fails its first attempt. */
const retriedHandler: JobHandler<Record<string, never>> = {
  jobType: 'test.log_retried',
  description: 'Logs, fails once, logs again.',
  payload: z.object({}).strict() as never,
  async handle(job, ctx) {
    ctx.log.info('starting', { try: job.retryCount });
    ctx.log.warn('halfway');
    if (job.retryCount === 0) {
      ctx.log.error('giving up this time', { reason: 'first attempt' });
      throw new Error('first attempt fails');
    }
    ctx.log.info('done', { rows: 3, nested: { ok: true } });
    return { success: true };
  },
};

const manyPayload = z.object({ count: z.number().int().min(1).max(100_000), pauseEvery: z.number().int().min(1), bytes: z.number().int().min(0).default(0) });
/** Logs `count` lines "l<n>", pausing a few ms every `pauseEvery` (so they are stored over time, in many batches). */
const manyHandler: JobHandler<z.infer<typeof manyPayload>> = {
  jobType: 'test.log_many',
  description: 'Logs count lines.',
  payload: manyPayload,
  async handle(job, ctx) {
    const pad = 'p'.repeat(job.payload.bytes);
    for (let n = 1; n <= job.payload.count; n++) {
      ctx.log.info(`l${n}${pad}`, { n });
      if (n % job.payload.pauseEvery === 0) await delay(5);
    }
    return { success: true };
  },
};

/** Logs what ctx.log refuses; reports the errors. */
const badHandler: JobHandler<Record<string, never>> = {
  jobType: 'test.log_bad',
  description: 'Logs bad lines.',
  payload: z.object({}).strict() as never,
  async handle(_job, ctx) {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const errors = [() => ctx.log.info('x', [1] as never), () => ctx.log.warn(42 as never), () => ctx.log.error('x', circular)].map((call) => {
      try {
        call();
        return null;
      } catch (error) {
        return `${(error as Error).name}: ${(error as Error).message}`;
      }
    });
    ctx.log.info('fine');
    return { success: true, resultData: { errors } };
  },
};

let db: TestDatabase;
let service: TestApp;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, {
    env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0', JOB_RETRY_BASE_DELAY_MS: '0', LOG_LEVEL: 'warn' },
    registry: new HandlerRegistry().register(retriedHandler).register(manyHandler).register(badHandler),
  });
  alice = service.client.as((await createApiKey(db.pool, { name: 'alice', tenantId: 'tenant-a', scopes: ['jobs:read', 'jobs:write'] })).key);
  bob = service.client.as((await createApiKey(db.pool, { name: 'bob', tenantId: 'tenant-b', scopes: ['jobs:read', 'jobs:write'] })).key);
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

async function createJob(client: GraphQLTestClient, jobType: string, payload: Record<string, unknown>): Promise<string> {
  const { body } = await client.send('mutation($t: String!, $p: JSON) { createJob(input: { jobType: $t, payload: $p, maxRetries: 2 }) { ... on MutationCreateJobSuccess { data { id } } ... on Error { message } } }', { t: jobType, p: payload });
  const id = (body.data as any)?.createJob?.data?.id;
  if (!id) throw new Error(`createJob failed: ${JSON.stringify(body)}`);
  return id;
}

const ended = (jobId: string) =>
  eventually(`job ${jobId} to complete`, async () => {
    const { rows } = await db.pool.query(`select status from job where id = $1`, [uuidOf(jobId)]);
    return rows[0]?.status === 'COMPLETED' ? true : undefined;
  }, 60_000);

const LOGS = 'query($id: ID!, $first: Int, $after: String) { job(id: $id) { logs(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { sequence attempt level message fields createdAt } } } } }';

async function logsPage(client: GraphQLTestClient, id: string, first: number, after?: string) {
  const { body } = await client.send(LOGS, { id, first, after });
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return (body.data as any).job?.logs ?? null;
}

it('lines are stored in order with their attempt, level and fields, and read page by page', async () => {
  const jobId = await createJob(alice, 'test.log_retried', {});
  await ended(jobId);
  const first = await logsPage(alice, jobId, 4);
  expect(first.totalCount).toBe(6);
  expect(first.pageInfo.hasNextPage).toBe(true);
  const second = await logsPage(alice, jobId, 4, first.pageInfo.endCursor);
  expect(second.pageInfo.hasNextPage).toBe(false);
  const lines = [...first.edges, ...second.edges].map((edge: any) => edge.node);
  expect(lines.map(({ sequence, attempt, level, message, fields }: any) => ({ sequence, attempt, level, message, fields }))).toEqual([
    { sequence: 1, attempt: 1, level: 'INFO', message: 'starting', fields: { try: 0 } },
    { sequence: 2, attempt: 1, level: 'WARN', message: 'halfway', fields: {} },
    { sequence: 3, attempt: 1, level: 'ERROR', message: 'giving up this time', fields: { reason: 'first attempt' } },
    { sequence: 4, attempt: 2, level: 'INFO', message: 'starting', fields: { try: 1 } },
    { sequence: 5, attempt: 2, level: 'WARN', message: 'halfway', fields: {} },
    { sequence: 6, attempt: 2, level: 'INFO', message: 'done', fields: { rows: 3, nested: { ok: true } } },
  ]);
  const times = lines.map((line: any) => Date.parse(line.createdAt));
  expect([...times].sort((a, b) => a - b)).toEqual(times);
  // Kept as long as the job: deleted with it.
  await db.pool.query(`delete from job where id = $1`, [uuidOf(jobId)]);
  const { rows } = await db.pool.query(`select count(*)::int as n from job_log_line where job_id = $1`, [uuidOf(jobId)]);
  expect(rows[0].n).toBe(0);
}, 120_000);

it(`past ${JOB_LOG_MAX_LINES} lines, or ${JOB_LOG_MAX_BYTES} bytes, lines are dropped and one marker line says how many`, async () => {
  const overLines = await createJob(alice, 'test.log_many', { count: JOB_LOG_MAX_LINES + 250, pauseEvery: 2000 });
  // 100 lines of ~11 KiB pass 1 MiB after 95 or so.
  const overBytes = await createJob(alice, 'test.log_many', { count: 100, pauseEvery: 10, bytes: 11 * 1024 });
  await ended(overLines);
  await ended(overBytes);
  const stats = async (jobId: string) =>
    (
      await db.pool.query(
        `select count(*)::int as n, max(sequence) as last, (array_agg(message order by sequence desc))[1] as marker, (array_agg(fields order by sequence desc))[1] as "markerFields",
                (array_agg(level order by sequence desc))[1] as "markerLevel"
           from job_log_line where job_id = $1`,
        [uuidOf(jobId)],
      )
    ).rows[0];
  const lines = await stats(overLines);
  expect(lines).toMatchObject({ n: JOB_LOG_MAX_LINES + 1, last: JOB_LOG_MAX_LINES + 1, marker: droppedMessage(250), markerFields: { droppedLineCount: 250 }, markerLevel: 'WARN' });
  const { rows: kept } = await db.pool.query(`select message from job_log_line where job_id = $1 and sequence = $2`, [uuidOf(overLines), JOB_LOG_MAX_LINES]);
  expect(kept[0].message).toBe(`l${JOB_LOG_MAX_LINES}`);
  const bytes = await stats(overBytes);
  const keptCount = bytes.n - 1;
  expect(keptCount).toBeGreaterThan(80);
  expect(keptCount).toBeLessThan(100);
  // Measured as the writer does: the message's UTF-8 bytes plus JSON.stringify(fields).
  const { rows: keptLines } = await db.pool.query(`select message, fields from job_log_line where job_id = $1 and sequence <= $2`, [uuidOf(overBytes), keptCount]);
  const keptBytes = keptLines.reduce((sum, line) => sum + Buffer.byteLength(line.message) + Buffer.byteLength(JSON.stringify(line.fields)), 0);
  expect(keptBytes).toBeLessThanOrEqual(JOB_LOG_MAX_BYTES);
  expect(keptBytes).toBeGreaterThan(JOB_LOG_MAX_BYTES - 12 * 1024);
  expect(bytes).toMatchObject({ marker: droppedMessage(100 - keptCount), markerFields: { droppedLineCount: 100 - keptCount } });
}, 120_000);

it('a message that is not a string or fields that are not a JSON object throw a TypeError naming the call; nothing of them is stored', async () => {
  const jobId = await createJob(alice, 'test.log_bad', {});
  await ended(jobId);
  const { rows } = await db.pool.query(`select result from job where id = $1`, [uuidOf(jobId)]);
  expect(rows[0].result.errors).toEqual([
    'TypeError: ctx.log.info: fields must be an object of JSON values, got an array',
    'TypeError: ctx.log.warn: message must be a string, got number',
    expect.stringMatching(/^TypeError: ctx\.log\.error: fields must be JSON \(.*circular/i),
  ]);
  const page = await logsPage(alice, jobId, 10);
  expect(page.edges.map((edge: any) => edge.node.message)).toEqual(['fine']);
}, 60_000);

const TAIL = 'subscription($id: ID!, $after: Int) { jobLogs(jobId: $id, after: $after) { sequence attempt level message fields } }';

function connect(token: string): Client {
  return createClient({ url: service.client.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { authorization: `Bearer ${token}` } });
}

it('jobLogs tails the lines live; cut and resumed with after, none is missed or seen twice', async () => {
  const COUNT = 3000;
  const jobId = await createJob(alice, 'test.log_many', { count: COUNT, pauseEvery: 20 });
  // A viewer token of this job reads its logs (viewer-readable, as jobStream).
  const { token } = await createViewerToken(db.pool, { tenantId: 'tenant-a', jobIds: [uuidOf(jobId)] });
  const received: Array<{ sequence: number; message: string }> = [];
  const cuts: number[] = [];
  while (received.length < COUNT) {
    const after = received.at(-1)?.sequence ?? 0;
    const cutAfter = 1 + Math.floor(Math.random() * 700);
    const client = connect(token);
    const session = deferred<'cut' | 'done'>(`lines after ${after} (cuts so far: ${cuts.join(', ')})`, 60_000);
    let taken = 0;
    client.subscribe<{ jobLogs: { sequence: number; message: string } }>(
      { query: TAIL, variables: { id: jobId, after } },
      {
        next: (value) => {
          if (value.errors) return session.reject(new Error(JSON.stringify(value.errors)));
          received.push(value.data!.jobLogs);
          if (received.length >= COUNT) session.resolve('done');
          else if (++taken >= cutAfter) session.resolve('cut');
        },
        error: (error) => session.reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => undefined,
      },
    );
    const outcome = await session.promise;
    client.terminate();
    await client.dispose();
    if (outcome === 'cut') cuts.push(received.at(-1)!.sequence);
  }
  expect(cuts.length, `cut at ${cuts.join(', ')}`).toBeGreaterThanOrEqual(2);
  // The same token reads them page by page too: Job.logs is part of the job.
  expect((await logsPage(service.client.as(token), jobId, 1)).totalCount).toBe(COUNT);
  expect(received.map((line) => line.sequence)).toEqual(Array.from({ length: COUNT }, (_, index) => index + 1));
  expect(received.map((line) => line.message)).toEqual(Array.from({ length: COUNT }, (_, index) => `l${index + 1}`));
}, 300_000);

it("another tenant's job answers as a missing one, for Job.logs and jobLogs; a bad after names the argument", async () => {
  const jobId = await createJob(alice, 'test.log_retried', {});
  await ended(jobId);
  expect((await logsPage(alice, jobId, 10)).totalCount).toBe(6);
  const { body } = await bob.send(LOGS, { id: jobId, first: 10 });
  expect(body.errors).toBeUndefined();
  expect((body.data as any).job).toBeNull();
  const errorOf = async (client: GraphQLTestClient, variables: Record<string, unknown>) => {
    const subscription = client.subscribe({ toString: () => TAIL } as never, variables as never);
    const message = await subscription.waitFor('an error', () => false, 10_000).then(() => '', (error: Error) => error.message);
    subscription.close();
    return message;
  };
  const missing = randomUUID();
  const other = await errorOf(bob, { id: jobId });
  expect(other).toMatch(/no job with id/);
  expect(other.replace(uuidOf(jobId), '<id>')).toBe((await errorOf(bob, { id: missing })).replace(missing, '<id>'));
  expect(await errorOf(alice, { id: jobId, after: -1 })).toMatch(/after: must be 0 or a sequence received, got -1/);
  await bob.close();
});
