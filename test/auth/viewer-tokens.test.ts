// Viewer tokens (auth/viewer-tokens.ts): what their bearer reads, how they are
// minted and refused, and that they expire with their sockets. That every
// other field, and these fields for another job, answer a viewer exactly as a
// request without a token is in the auth table (auth-and-tenants.test.ts).
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { addJob, AddJobError, createViewerToken } from '../../src/sdk/index.ts';
import { encodeCursor } from '../../src/jobs/event-log.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { deferred } from '../support/wait.ts';

const SECRET = 'test-secret-test-secret-test-secret-0123456789';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'jobwire-test';

let db: TestDatabase;
let service: TestApp;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;

const MINT = `mutation($ids: [ID!]!, $ttl: Int) { createViewerToken(input: { jobIds: $ids, expiresInSeconds: $ttl }) {
  __typename ... on MutationCreateViewerTokenSuccess { data { token expiresAt jobIds } } ... on ValidationError { field message } ... on Error { message } } }`;

async function createJob(client: GraphQLTestClient, input = '{ jobType: "system.noop" }'): Promise<string> {
  const { body } = await client.send(`mutation { createJob(input: ${input}) { ... on MutationCreateJobSuccess { data { id } } ... on Error { message } } }`);
  const id = (body.data as any)?.createJob?.data?.id;
  if (!id) throw new Error(`createJob failed: ${JSON.stringify(body)}`);
  return id;
}

async function mint(client: GraphQLTestClient, ids: string[], ttl?: number): Promise<string> {
  const { body } = await client.send(MINT, { ids, ttl });
  const token = (body.data as any)?.createViewerToken?.data?.token;
  if (!token) throw new Error(`createViewerToken failed: ${JSON.stringify(body)}`);
  return token;
}

async function completed(id: string) {
  const watch = alice.subscribe({ toString: () => 'subscription($id: ID!) { jobUpdated(id: $id) { status } }' } as never, { id } as never);
  await watch.waitFor(`job ${id} to complete`, (received: any[]) => received.some((update) => update.jobUpdated.status === 'COMPLETED'));
  watch.close();
}

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, {
    env: { AUTH_ENABLED: 'true', AUTH_JWT_SECRET: SECRET, AUTH_JWT_ISSUER: ISSUER, AUTH_JWT_AUDIENCE: AUDIENCE, AUTH_API_KEY_CACHE_MS: '0' },
  });
  alice = service.client.as((await createApiKey(db.pool, { name: 'alice', tenantId: 'tenant-a', scopes: ['jobs:read', 'jobs:write'] })).key);
  bob = service.client.as((await createApiKey(db.pool, { name: 'bob', tenantId: 'tenant-b', scopes: ['jobs:read', 'jobs:write'] })).key);
}, 120_000);

afterAll(async () => {
  await alice?.close();
  await service?.stop();
  await db?.drop();
});

describe('what a viewer token reads', () => {
  it('job(id) of its job, with its events; a parent outside the token is null, as a missing one', async () => {
    const parent = await createJob(alice);
    const child = await createJob(alice, `{ jobType: "system.noop", parentJobId: "${parent}" }`);
    await completed(child);
    const viewer = service.client.as(await mint(alice, [child]));
    const query = 'query($id: ID!) { job(id: $id) { id status parentJob { id } events { totalCount } } }';
    const { status, body } = await viewer.send(query, { id: child });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect((body.data as any).job).toMatchObject({ id: child, status: 'COMPLETED', parentJob: null });
    expect((body.data as any).job.events.totalCount).toBeGreaterThanOrEqual(3);
    // The key that made it sees the parent.
    expect(((await alice.send(query, { id: child })).body.data as any).job.parentJob).toEqual({ id: parent });
    // Its bare UUID reads the same job.
    expect(((await viewer.send(query, { id: uuidOf(child) })).body.data as any).job.id).toBe(child);
  });

  it('jobEvents without a filter follows its jobs only; jobUpdated of its job answers live', async () => {
    const other = await createJob(alice);
    await completed(other);
    const mine = await createJob(alice, '{ jobType: "system.sleep", payload: { ms: 200 } }');
    const viewer = service.client.as(await mint(alice, [mine]));
    // From the start of the log: the other job's events are there too, before this job's.
    const events = viewer.subscribe({ toString: () => 'subscription($after: String) { jobEvents(after: $after) { status job { id } } }' } as never, {
      after: encodeCursor({ txId: '0', id: '0' }),
    } as never);
    const updates = viewer.subscribe({ toString: () => 'subscription($id: ID!) { jobUpdated(id: $id) { id status } }' } as never, { id: mine } as never);
    await events.waitFor('its job to complete', (received: any[]) => received.some((event) => event.jobEvents.status === 'COMPLETED'));
    await updates.waitFor('its job to complete', (received: any[]) => received.some((update) => update.jobUpdated.status === 'COMPLETED'));
    expect(new Set((events.received as any[]).map((event) => event.jobEvents.job.id))).toEqual(new Set([mine]));
    expect((events.received as any[]).map((event) => event.jobEvents.status)).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    events.close();
    updates.close();
    await viewer.close();
  });

  it('a write, with its own job, is refused as without a token, and changes nothing', async () => {
    const mine = await createJob(alice, '{ jobType: "system.sleep", payload: { ms: 60000 } }');
    const viewer = service.client.as(await mint(alice, [mine]));
    const cancel = 'mutation($id: ID!) { cancelJob(id: $id) { __typename } }';
    const asViewer = await viewer.send(cancel, { id: mine });
    const asNobody = await service.client.as(undefined).send(cancel, { id: mine });
    expect(asViewer).toMatchObject({ status: asNobody.status, body: asNobody.body });
    expect(asViewer.body.errors?.[0]?.message).toBe('Mutation.cancelJob needs a token (Authorization: Bearer <API key or JWT>)');
    // A viewer cannot mint a token either.
    expect((await viewer.send(MINT, { ids: [mine] })).body).toEqual((await service.client.as(undefined).send(MINT, { ids: [mine] })).body);
    const row = await db.pool.query(`select cancel_requested_at, status from job where id = $1`, [uuidOf(mine)]);
    expect(row.rows[0].cancel_requested_at).toBeNull();
    await alice.send(cancel, { id: mine });
  });
});

describe('minting', () => {
  it('bad input names the field; a job of another tenant answers as a missing one; nothing is minted', async () => {
    const mine = await createJob(alice);
    const answer = async (ids: string[], ttl?: number) => (await alice.send(MINT, { ids, ttl })).body.data as any;
    expect((await answer([])).createViewerToken).toEqual({ __typename: 'ValidationError', field: 'jobIds', message: 'jobIds: at least one job (or a tag)' });
    expect((await answer(Array.from({ length: 101 }, () => randomUUID()))).createViewerToken).toMatchObject({ field: 'jobIds', message: 'jobIds: at most 100 jobs, got 101' });
    expect((await answer([mine, 'nope'])).createViewerToken).toMatchObject({ field: 'jobIds.1' });
    expect((await answer([mine], 0)).createViewerToken).toMatchObject({ field: 'expiresInSeconds', message: 'expiresInSeconds: must be a whole number of seconds from 1 to 86400, got 0' });
    expect((await answer([mine], 86_401)).createViewerToken).toMatchObject({ field: 'expiresInSeconds' });
    const missing = randomUUID();
    const others = (await bob.send(MINT, { ids: [mine] })).body.data as any;
    const none = (await bob.send(MINT, { ids: [missing] })).body.data as any;
    expect(others.createViewerToken.__typename).toBe('JobNotFoundError');
    expect(others.createViewerToken.message.replace(uuidOf(mine), '<id>')).toBe(none.createViewerToken.message.replace(missing, '<id>'));
  });

  it('a token lives as long as asked; the package call mints the same token from the app\'s own database connection', async () => {
    const mine = await createJob(alice);
    const { body } = await alice.send(MINT, { ids: [mine, mine], ttl: 60 });
    const made = (body.data as any).createViewerToken.data;
    expect(made.jobIds).toEqual([uuidOf(mine)]);
    const life = new Date(made.expiresAt).getTime() - Date.now();
    expect(life).toBeGreaterThan(50_000);
    expect(life).toBeLessThanOrEqual(60_000);
    const fromPackage = await createViewerToken(db.pool, { tenantId: 'tenant-a', jobIds: [uuidOf(mine)] });
    expect(fromPackage.token.startsWith('jwv_')).toBe(true);
    const read = await service.client.as(fromPackage.token).send('query($id: ID!) { job(id: $id) { id } }', { id: mine });
    expect((read.body.data as any).job.id).toBe(mine);
    // The package refuses another tenant's job as a missing one.
    await expect(createViewerToken(db.pool, { tenantId: 'tenant-b', jobIds: [uuidOf(mine)] })).rejects.toThrow(`no job with id ${uuidOf(mine)}`);
  });
});

describe('a viewer token from the create itself', () => {
  const CREATE = `mutation($input: CreateJobInput!, $viewerToken: CreateJobViewerTokenInput) { createJob(input: $input, viewerToken: $viewerToken) {
    __typename ... on MutationCreateJobSuccess { created data { id } viewerToken { token expiresAt jobIds tag } } ... on ValidationError { field message } } }`;
  const READ = 'query($id: ID!) { job(id: $id) { id } }';

  it('createJob with viewerToken answers a token that reads that job only; without it, null; a bad life is refused and creates nothing', async () => {
    const other = await createJob(alice);
    const { body } = await alice.send(CREATE, { input: { jobType: 'system.noop' }, viewerToken: { expiresInSeconds: 120 } });
    const answer = (body.data as any).createJob;
    expect(answer.__typename).toBe('MutationCreateJobSuccess');
    const id = answer.data.id as string;
    expect(answer.viewerToken).toMatchObject({ jobIds: [uuidOf(id)], tag: null });
    const life = new Date(answer.viewerToken.expiresAt).getTime() - Date.now();
    expect(life).toBeGreaterThan(100_000);
    expect(life).toBeLessThanOrEqual(120_000);
    const viewer = service.client.as(answer.viewerToken.token);
    expect((await viewer.send(READ, { id })).body).toEqual({ data: { job: { id } } });
    expect((await viewer.send(READ, { id: other })).body).toEqual((await service.client.as(undefined).send(READ, { id: other })).body);

    const plain = (await alice.send(CREATE, { input: { jobType: 'system.noop' } })).body.data as any;
    expect(plain.createJob.viewerToken).toBeNull();

    const before = (await db.pool.query(`select count(*)::int as n from job`)).rows[0].n;
    const refused = (await alice.send(CREATE, { input: { jobType: 'system.noop' }, viewerToken: { expiresInSeconds: 0 } })).body.data as any;
    expect(refused.createJob).toEqual({
      __typename: 'ValidationError',
      field: 'viewerToken.expiresInSeconds',
      message: 'viewerToken.expiresInSeconds: must be a whole number of seconds from 1 to 86400, got 0',
    });
    expect((await db.pool.query(`select count(*)::int as n from job`)).rows[0].n).toBe(before);
  });

  it('an idempotent createJob answers a token of the job that holds the key', async () => {
    const input = { jobType: 'system.noop', idempotencyKey: `viewer-${randomUUID()}` };
    const first = ((await alice.send(CREATE, { input })).body.data as any).createJob;
    const again = ((await alice.send(CREATE, { input, viewerToken: {} })).body.data as any).createJob;
    expect(again).toMatchObject({ created: false, data: { id: first.data.id }, viewerToken: { jobIds: [uuidOf(first.data.id)] } });
    const read = await service.client.as(again.viewerToken.token).send(READ, { id: first.data.id });
    expect((read.body.data as any).job.id).toBe(first.data.id);
  });

  it("the package's addJob with viewerToken answers the job's id and a token that reads it", async () => {
    const { id, viewerToken } = await addJob(db.pool, 'system.noop', {}, { tenantId: 'tenant-a', viewerToken: { expiresInSeconds: 60 } });
    expect(viewerToken).toMatchObject({ jobIds: [id], tag: null, tenantId: 'tenant-a' });
    const read = await service.client.as(viewerToken.token).send(READ, { id });
    expect(uuidOf((read.body.data as any).job.id)).toBe(id);
    // A bad life is refused before anything is written.
    const before = (await db.pool.query(`select count(*)::int as n from job`)).rows[0].n;
    const error = await addJob(db.pool, 'system.noop', {}, { tenantId: 'tenant-a', viewerToken: { expiresInSeconds: 86_401 } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AddJobError);
    expect(error).toMatchObject({ field: 'options.viewerToken.expiresInSeconds' });
    expect((await db.pool.query(`select count(*)::int as n from job`)).rows[0].n).toBe(before);
  });
});

describe('refused tokens', () => {
  it('an altered, foreign-signed or expired viewer token answers 401 naming why, as an API key or JWT would', async () => {
    const mine = await createJob(alice);
    const other = await createJob(alice);
    const token = await mint(alice, [mine]);
    const [header, payload, signature] = token.slice('jwv_'.length).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const widened = Buffer.from(JSON.stringify({ ...claims, jobs: [...claims.jobs, uuidOf(other)] })).toString('base64url');
    const query = 'query($id: ID!) { job(id: $id) { id } }';
    const altered = await service.client.as(`jwv_${header}.${widened}.${signature}`).send(query, { id: other });
    expect(altered.status).toBe(401);
    expect(altered.body.errors?.[0]?.message).toBe('invalid token (signature or format)');
    // Signed with the identity provider's secret (a valid JWT there): not a viewer token.
    const foreign = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const asForeign = await service.client.as(`jwv_${foreign}`).send(query, { id: mine });
    expect(asForeign.status).toBe(401);
    expect(asForeign.body.errors?.[0]?.message).toBe('invalid token (signature or format)');
    // Nor does a viewer token pass for an identity provider's JWT without its prefix.
    const bare = await service.client.as(token.slice('jwv_'.length)).send(query, { id: mine });
    expect(bare.status).toBe(401);
  });

  it('a token made to live 2 s closes its socket 4401 "token expired", and is refused over HTTP afterwards', async () => {
    const mine = await createJob(alice, '{ jobType: "system.sleep", payload: { ms: 60000 } }');
    const token = await mint(alice, [mine], 2);
    const closed = deferred<{ code: number; reason: string }>('the socket to close when its token expires', 10_000);
    const acked = deferred<void>('connection_ack');
    const client = createClient({
      url: service.client.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
      on: { connected: () => acked.resolve(), closed: (event) => closed.resolve({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason }) },
      onNonLazyError: () => undefined,
    });
    await acked.promise;
    const updates: unknown[] = [];
    client.subscribe({ query: 'subscription($id: ID!) { jobUpdated(id: $id) { status } }', variables: { id: mine } }, { next: (value) => void updates.push(value), error: () => undefined, complete: () => undefined });
    expect(await closed.promise).toEqual({ code: 4401, reason: 'Unauthorized: token expired' });
    expect(updates.length).toBeGreaterThanOrEqual(1);
    await client.dispose();
    const after = await service.client.as(token).send('query($id: ID!) { job(id: $id) { id } }', { id: mine });
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0]?.message).toBe('token expired');
    await alice.send('mutation($id: ID!) { cancelJob(id: $id) { __typename } }', { id: mine });
  });
});
