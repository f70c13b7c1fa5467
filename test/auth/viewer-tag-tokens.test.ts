// Tag viewer tokens (auth/viewer-tokens.ts with `tag`): the bearer reads, lists
// and follows the jobs of its tenant that have the tag when they are read
// (a job tagged after the token was minted included), never another job, and
// writes nothing. That every other field answers it as a request without a
// token is in the auth table (auth-and-tenants.test.ts).
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import type { JobHandler } from '../../src/core/handler.ts';
import { encodeCursor } from '../../src/jobs/event-log.ts';
import { createViewerToken } from '../../src/sdk/index.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { deferred } from '../support/wait.ts';

const started = deferred<void>('test.tag_later to start', 60_000);
const gate = deferred<void>('the test to let test.tag_later tag its job', 60_000);

/** Tags its own job with the payload's tags once the test opens the gate. */
const tagLaterHandler: JobHandler<{ tags: string[] }> = {
  jobType: 'test.tag_later',
  description: 'Adds tags to its own job when the test says.',
  payload: z.object({ tags: z.array(z.string()) }) as never,
  async handle(job, ctx) {
    started.resolve();
    await gate.promise;
    await ctx.addTags(...job.payload.tags);
    return { success: true };
  },
};

let db: TestDatabase;
let service: TestApp;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;

const MINT = `mutation($ids: [ID!], $tag: String, $ttl: Int) { createViewerToken(input: { jobIds: $ids, tag: $tag, expiresInSeconds: $ttl }) {
  __typename ... on MutationCreateViewerTokenSuccess { data { token jobIds tag } } ... on ValidationError { field message } ... on Error { message } } }`;
const JOB = 'query($id: ID!) { job(id: $id) { id status tags } }';
const START = encodeCursor({ txId: '0', id: '0' });

async function createJob(client: GraphQLTestClient, input: string): Promise<string> {
  const { body } = await client.send(`mutation { createJob(input: ${input}) { ... on MutationCreateJobSuccess { data { id } } ... on Error { message } } }`);
  const id = (body.data as any)?.createJob?.data?.id;
  if (!id) throw new Error(`createJob failed: ${JSON.stringify(body)}`);
  return id;
}

async function mintTag(client: GraphQLTestClient, tag: string): Promise<string> {
  const { body } = await client.send(MINT, { tag });
  const token = (body.data as any)?.createViewerToken?.data?.token;
  if (!token) throw new Error(`createViewerToken failed: ${JSON.stringify(body)}`);
  return token;
}

async function completed(id: string) {
  const watch = alice.subscribe({ toString: () => 'subscription($id: ID!) { jobUpdated(id: $id) { status } }' } as never, { id } as never);
  await watch.waitFor(`job ${id} to complete`, (received: any[]) => received.some((update) => update.jobUpdated.status === 'COMPLETED'));
  watch.close();
}

/** What a request without a token gets for the same operation. */
const anonymous = (query: string, variables?: Record<string, unknown>) => service.client.as(undefined).send(query, variables);

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, {
    env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' },
    registry: createTestRegistry().register(tagLaterHandler),
  });
  alice = service.client.as((await createApiKey(db.pool, { name: 'alice', tenantId: 'tenant-a', scopes: ['jobs:read', 'jobs:write'] })).key);
  bob = service.client.as((await createApiKey(db.pool, { name: 'bob', tenantId: 'tenant-b', scopes: ['jobs:read', 'jobs:write'] })).key);
}, 120_000);

afterAll(async () => {
  gate.resolve();
  await alice?.close();
  await service?.stop();
  await db?.drop();
});

describe('a tag token', () => {
  it("reads, lists and follows its tenant's jobs with the tag, and answers any other job as without a token", async () => {
    const mine = await createJob(alice, '{ jobType: "system.noop", tags: ["customer:42"] }');
    const otherTag = await createJob(alice, '{ jobType: "system.noop", tags: ["customer:7"] }');
    const otherTenant = await createJob(bob, '{ jobType: "system.noop", tags: ["customer:42"] }');
    await Promise.all([completed(mine), completed(otherTag)]);
    const minted = (await alice.send(MINT, { tag: 'customer:42', ttl: 60 })).body.data as any;
    expect(minted.createViewerToken.data).toMatchObject({ jobIds: [], tag: 'customer:42' });
    const viewer = service.client.as(minted.createViewerToken.data.token);

    expect((await viewer.send(JOB, { id: mine })).body).toEqual({ data: { job: { id: mine, status: 'COMPLETED', tags: ['customer:42'] } } });
    for (const id of [otherTag, otherTenant]) {
      const asViewer = await viewer.send(JOB, { id });
      expect(asViewer).toMatchObject({ status: (await anonymous(JOB, { id })).status, body: (await anonymous(JOB, { id })).body });
      expect(asViewer.body.errors?.[0]?.message).toBe('Query.job needs a token (Authorization: Bearer <API key or JWT>)');
    }
    // Listing: its tag's jobs only, through Prisma and through the search's SQL alike; a filter narrows, never widens.
    const list = async (filter: string) => ((await viewer.send(`{ jobs${filter} { totalCount edges { node { id } } } }`)).body.data as any).jobs;
    expect(await list('')).toEqual({ totalCount: 1, edges: [{ node: { id: mine } }] });
    expect(await list('(filter: { payloadContains: {} })')).toEqual({ totalCount: 1, edges: [{ node: { id: mine } }] });
    expect(await list('(filter: { tags: ["customer:7"] })')).toEqual({ totalCount: 0, edges: [] });

    // Subscriptions: jobUpdated of its job; jobEvents of another job refused; jobEvents without a filter: its tag's jobs only.
    const updates = viewer.subscribe({ toString: () => 'subscription($id: ID!) { jobUpdated(id: $id) { id status } }' } as never, { id: mine } as never);
    await updates.waitFor('its job', (received: any[]) => received.some((update) => update.jobUpdated.status === 'COMPLETED'));
    updates.close();
    const refused = viewer.subscribe({ toString: () => 'subscription($id: ID!) { jobEvents(filter: { jobIds: [$id] }) { status } }' } as never, { id: otherTag } as never);
    await expect(refused.waitFor('an error', () => false, 10_000)).rejects.toThrow('Subscription.jobEvents needs a token (Authorization: Bearer <API key or JWT>)');
    refused.close();
    const events = viewer.subscribe({ toString: () => 'subscription($after: String) { jobEvents(after: $after) { status job { id } } }' } as never, { after: START } as never);
    await events.waitFor('its job to complete', (received: any[]) => received.some((event) => event.jobEvents.status === 'COMPLETED'));
    expect(new Set((events.received as any[]).map((event) => event.jobEvents.job.id))).toEqual(new Set([mine]));
    events.close();

    // Writes are refused as without a token, and change nothing.
    const cancel = 'mutation($id: ID!) { cancelJob(id: $id) { __typename } }';
    expect((await viewer.send(cancel, { id: mine })).body).toEqual((await anonymous(cancel, { id: mine })).body);
    const create = 'mutation { createJob(input: { jobType: "system.noop", tags: ["customer:42"] }) { __typename } }';
    expect((await viewer.send(create)).body).toEqual((await anonymous(create)).body);
    expect((await viewer.send(MINT, { tag: 'customer:42' })).body).toEqual((await anonymous(MINT, { tag: 'customer:42' })).body);
    expect((await db.pool.query(`select count(*)::int as n from job where 'customer:42' = any(tags)`)).rows[0].n).toBe(2);
    await viewer.close();
  });

  it('reads a job tagged after it was minted, from then on: live events from the tagging, the whole history on replay', async () => {
    const token = await mintTag(alice, 'order:9');
    const viewer = service.client.as(token);
    // Another tenant's job with the tag: never seen.
    const foreign = await createJob(bob, '{ jobType: "system.noop", tags: ["order:9"] }');
    // From the log's head now: events after it reach the subscription in log order (replayed, then live), none skipped.
    const head = (await db.pool.query(`select tx_id::text as "txId", id::text as id from job_event order by tx_id desc, id desc limit 1`)).rows[0];
    const live = viewer.subscribe({ toString: () => 'subscription($after: String) { jobEvents(after: $after) { status job { id } } }' } as never, { after: encodeCursor(head) } as never);
    const has = (id: string, status: string) => (received: any[]) => received.some((event) => event.jobEvents.job.id === id && event.jobEvents.status === status);
    const later = await createJob(alice, '{ jobType: "test.tag_later", payload: { tags: ["order:9"] } }');
    // A job tagged from the start, created after: once the viewer has its PENDING, it has been offered later's PENDING (earlier in the log), untagged then.
    const marker = await createJob(alice, '{ jobType: "system.noop", tags: ["order:9"] }');
    await live.waitFor("the marker job's PENDING", has(marker, 'PENDING'));
    await started.promise;
    const before = await viewer.send(JOB, { id: later });
    expect(before.body).toEqual((await anonymous(JOB, { id: later })).body);

    gate.resolve();
    await completed(later);
    expect((await viewer.send(JOB, { id: later })).body).toEqual({ data: { job: { id: later, status: 'COMPLETED', tags: ['order:9'] } } });
    await live.waitFor('its COMPLETED event', has(later, 'COMPLETED'));
    const laterStatuses = (live.received as any[]).filter((event) => event.jobEvents.job.id === later).map((event) => event.jobEvents.status);
    expect(new Set((live.received as any[]).map((event) => event.jobEvents.job.id))).toEqual(new Set([marker, later]));
    expect(laterStatuses).not.toContain('PENDING');
    expect(laterStatuses).toContain('COMPLETED');
    live.close();
    // Replayed from the start of the log, its whole history: the job has the tag now.
    const replay = viewer.subscribe({ toString: () => 'subscription($after: String) { jobEvents(after: $after) { status job { id } } }' } as never, { after: START } as never);
    await replay.waitFor('its COMPLETED event', has(later, 'COMPLETED'));
    expect((replay.received as any[]).filter((event) => event.jobEvents.job.id === later).map((event) => event.jobEvents.status)[0]).toBe('PENDING');
    expect(new Set((replay.received as any[]).map((event) => event.jobEvents.job.id))).toEqual(new Set([marker, later]));
    expect((replay.received as any[]).map((event) => event.jobEvents.job.id)).not.toContain(foreign);
    replay.close();
    await viewer.close();
  });
});

describe('minting a tag token', () => {
  it('bad input names the field and mints nothing; the package call mints one from the database connection', async () => {
    const mine = await createJob(alice, '{ jobType: "system.noop", tags: ["customer:99"] }');
    const answer = async (variables: Record<string, unknown>) => ((await alice.send(MINT, variables)).body.data as any).createViewerToken;
    expect(await answer({ ids: [mine], tag: 'customer:99' })).toEqual({ __typename: 'ValidationError', field: 'tag', message: 'tag: give jobIds or tag, not both' });
    expect(await answer({ tag: 'no spaces' })).toEqual({
      __typename: 'ValidationError',
      field: 'tag',
      message: 'tag: must be a tag (1-64 letters, digits or _.:=/-, starting with a letter or digit), got "no spaces"',
    });
    expect(await answer({})).toMatchObject({ field: 'jobIds', message: 'jobIds: at least one job (or a tag)' });
    expect(await answer({ tag: 'customer:99', ttl: 0 })).toMatchObject({ field: 'expiresInSeconds' });

    const fromPackage = await createViewerToken(db.pool, { tenantId: 'tenant-a', tag: 'customer:99' });
    expect(fromPackage).toMatchObject({ jobIds: [], tag: 'customer:99', tenantId: 'tenant-a' });
    const read = await service.client.as(fromPackage.token).send(JOB, { id: uuidOf(mine) });
    expect((read.body.data as any).job.id).toBe(mine);
    // The same tag in another tenant reads nothing of tenant A.
    const foreign = await createViewerToken(db.pool, { tenantId: 'tenant-b', tag: 'customer:99' });
    expect((await service.client.as(foreign.token).send(JOB, { id: mine })).body.errors?.[0]?.message).toBe('Query.job needs a token (Authorization: Bearer <API key or JWT>)');
  });
});
