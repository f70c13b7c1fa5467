// Output streams (src/jobs/job-streams.ts): ctx.stream(name).write(chunk) in a
// handler, read live by jobStream with `after`. The must-hold: 10,000 chunks,
// the subscriber cut and resumed at random points, arrive complete, in order, once.
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { z } from 'zod';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import type { JobHandler } from '../../src/core/handler.ts';
import { createViewerToken } from '../../src/sdk/index.ts';
import { JOB_STREAM_CHUNK_MAX_BYTES, JOB_STREAM_MAX_BYTES, JobStreamLimitError } from '../../src/jobs/job-streams.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { deferred } from '../support/wait.ts';

const COUNT = 10_000;

const writePayload = z.object({ count: z.number().int().min(1).max(100_000), every: z.number().int().min(1) });
/** Writes `count` chunks "c<n>", awaiting every `every`-th write (so they are stored over time, in many batches). */
const streamHandler: JobHandler<z.infer<typeof writePayload>> = {
  jobType: 'test.stream',
  description: 'Writes count chunks to the stream "out".',
  payload: writePayload,
  async handle(job, ctx) {
    const out = ctx.stream('out');
    for (let n = 1; n <= job.payload.count; n++) {
      const written = out.write(`c${n}`);
      if (n % job.payload.every === 0) await written;
    }
    return { success: true };
  },
};

/** Writes 64 KiB chunks until a write is refused; reports what it saw. */
const overflowHandler: JobHandler<Record<string, never>> = {
  jobType: 'test.stream_overflow',
  description: 'Writes past the bounds of a job\'s streams.',
  payload: z.object({}).strict() as never,
  async handle(_job, ctx) {
    const out = ctx.stream('big');
    const tooBig = await out.write('x'.repeat(JOB_STREAM_CHUNK_MAX_BYTES)).then(() => null, (error: JobStreamLimitError) => ({ name: error.name, limit: error.limit }));
    const chunk = 'y'.repeat(JOB_STREAM_CHUNK_MAX_BYTES - 10);
    let stored = 0;
    let refusal: { name: string; limit: string; message: string } | null = null;
    while (!refusal) {
      await out.write(chunk).then(
        () => void stored++,
        (error: JobStreamLimitError) => (refusal = { name: error.name, limit: error.limit, message: error.message }),
      );
    }
    const later = await ctx.stream('other').write('small').then(() => 'stored', (error: Error) => error.name);
    return { success: true, resultData: { tooBig, stored, refusal, later } };
  },
};

let db: TestDatabase;
let service: TestApp;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, {
    env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' },
    registry: new HandlerRegistry().register(streamHandler).register(overflowHandler),
  });
  alice = service.client.as((await createApiKey(db.pool, { name: 'alice', tenantId: 'tenant-a', scopes: ['jobs:read', 'jobs:write'] })).key);
  bob = service.client.as((await createApiKey(db.pool, { name: 'bob', tenantId: 'tenant-b', scopes: ['jobs:read', 'jobs:write'] })).key);
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

async function createJob(client: GraphQLTestClient, jobType: string, payload: Record<string, unknown>): Promise<string> {
  const { body } = await client.send('mutation($t: String!, $p: JSON) { createJob(input: { jobType: $t, payload: $p }) { ... on MutationCreateJobSuccess { data { id } } ... on Error { message } } }', { t: jobType, p: payload });
  const id = (body.data as any)?.createJob?.data?.id;
  if (!id) throw new Error(`createJob failed: ${JSON.stringify(body)}`);
  return id;
}

const STREAM = 'subscription($id: ID!, $name: String!, $after: Int) { jobStream(jobId: $id, name: $name, after: $after) { sequence chunk } }';

function connect(token: string): Client {
  return createClient({ url: service.client.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true, connectionParams: { authorization: `Bearer ${token}` } });
}

it(`${COUNT} chunks, the subscriber cut and resumed at random points, arrive complete, in order, once`, async () => {
  const jobId = await createJob(alice, 'test.stream', { count: COUNT, every: 25 });
  // An end user's view: a viewer token of this job.
  const { token } = await createViewerToken(db.pool, { tenantId: 'tenant-a', jobIds: [uuidOf(jobId)] });
  const received: Array<{ sequence: number; chunk: unknown }> = [];
  const cuts: number[] = [];
  while (received.length < COUNT) {
    const after = received.at(-1)?.sequence ?? 0;
    // Cut after a random number of chunks (1..1500), or run to the end.
    const cutAfter = 1 + Math.floor(Math.random() * 1500);
    const client = connect(token);
    const session = deferred<'cut' | 'done'>(`chunks after ${after} (cuts so far: ${cuts.join(', ')})`, 60_000);
    let taken = 0;
    client.subscribe<{ jobStream: { sequence: number; chunk: unknown } }>(
      { query: STREAM, variables: { id: jobId, name: 'out', after } },
      {
        next: (value) => {
          if (value.errors) return session.reject(new Error(JSON.stringify(value.errors)));
          received.push(value.data!.jobStream);
          if (received.length >= COUNT) session.resolve('done');
          else if (++taken >= cutAfter) session.resolve('cut');
        },
        error: (error) => session.reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => undefined,
      },
    );
    const outcome = await session.promise;
    // Abruptly: no complete message, chunks in flight are lost with the socket.
    client.terminate();
    await client.dispose();
    if (outcome === 'cut') cuts.push(received.at(-1)!.sequence);
  }
  expect(cuts.length, `cut at ${cuts.join(', ')}`).toBeGreaterThanOrEqual(3);
  expect(received.map((chunk) => chunk.sequence)).toEqual(Array.from({ length: COUNT }, (_, index) => index + 1));
  expect(received.map((chunk) => chunk.chunk)).toEqual(Array.from({ length: COUNT }, (_, index) => `c${index + 1}`));
  const stored = await db.pool.query(`select count(*)::int as n, max(sequence) as last from job_stream_chunk where job_id = $1 and stream_name = 'out'`, [uuidOf(jobId)]);
  expect(stored.rows[0]).toEqual({ n: COUNT, last: COUNT });
}, 300_000);

it('past its bounds a write is refused with JobStreamLimitError naming the bound, and so is every later one; what was stored stays', async () => {
  const jobId = await createJob(alice, 'test.stream_overflow', {});
  const watch = alice.subscribe({ toString: () => 'subscription($id: ID!) { jobUpdated(id: $id) { status result } }' } as never, { id: jobId } as never);
  const [done] = (await watch.waitFor('the job to end', (received: any[]) => received.some((update) => update.jobUpdated.status === 'COMPLETED'))).filter(
    (update: any) => update.jobUpdated.status === 'COMPLETED',
  ) as any[];
  watch.close();
  const result = done.jobUpdated.result;
  expect(result.tooBig).toEqual({ name: 'JobStreamLimitError', limit: 'JOB_STREAM_CHUNK_MAX_BYTES' });
  expect(result.refusal).toMatchObject({ name: 'JobStreamLimitError', limit: 'JOB_STREAM_MAX_BYTES' });
  expect(result.later).toBe('JobStreamLimitError');
  const { rows } = await db.pool.query(`select count(*)::int as n, sum(octet_length(chunk::text))::int as bytes from job_stream_chunk where job_id = $1`, [uuidOf(jobId)]);
  expect(rows[0].n).toBe(result.stored);
  expect(rows[0].bytes).toBeLessThanOrEqual(JOB_STREAM_MAX_BYTES);
  expect(rows[0].bytes).toBeGreaterThan(JOB_STREAM_MAX_BYTES - JOB_STREAM_CHUNK_MAX_BYTES);
}, 120_000);

it("another tenant's job answers as a missing one; a bad name or after names the argument", async () => {
  const jobId = await createJob(alice, 'test.stream', { count: 3, every: 1 });
  const errorOf = async (client: GraphQLTestClient, variables: Record<string, unknown>) => {
    const subscription = client.subscribe({ toString: () => STREAM } as never, variables as never);
    const message = await subscription.waitFor('an error', () => false, 10_000).then(() => '', (error: Error) => error.message);
    subscription.close();
    return message;
  };
  const missing = randomUUID();
  const other = await errorOf(bob, { id: jobId, name: 'out' });
  expect(other).toMatch(/no job with id/);
  expect(other.replace(uuidOf(jobId), '<id>')).toBe((await errorOf(bob, { id: missing, name: 'out' })).replace(missing, '<id>'));
  expect(await errorOf(alice, { id: jobId, name: 'not a name' })).toMatch(/name: must be 1-64 of/);
  expect(await errorOf(alice, { id: jobId, name: 'out', after: -1 })).toMatch(/after: must be 0 or a sequence received, got -1/);
  await bob.close();
});
