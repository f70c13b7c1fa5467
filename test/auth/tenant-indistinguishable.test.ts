// Another tenant's id answers exactly as a missing one, in content and in
// count: table-driven over every path that takes an id or a cursor (queries,
// nested connections, subscriptions), tenant B asking about tenant A's rows
// beside the same question about rows that do not exist.
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { uploadImport } from '../support/imports.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { deferred } from '../support/wait.ts';

let db: TestDatabase;
let service: TestApp;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;

/** What tenant A has and B may name: ids and cursors. */
interface Names {
  jobId: string;
  importJobId: string;
  jobCursor: string;
  importJobCursor: string;
  qaPairCursor: string;
  stepCursor: string;
  eventCursor: string;
  importErrorCursor: string;
}
let a: Names;
/** Tenant B's own rows, whose nested connections are paged with A's cursors. */
const b = { jobId: '', importJobId: '' };

const cursorOf = (kind: 'S' | 'I', id: string | number) => Buffer.from(`GPC:${kind}:${id}`).toString('base64');

/** Names of the same shapes as A's, of nothing. */
function missing(): Names {
  const likeGlobalId = (globalId: string) => Buffer.from(`${Buffer.from(globalId, 'base64').toString().split(':')[0]}:${randomUUID()}`).toString('base64');
  return {
    jobId: likeGlobalId(a.jobId),
    importJobId: likeGlobalId(a.importJobId),
    jobCursor: cursorOf('S', randomUUID()),
    importJobCursor: cursorOf('S', randomUUID()),
    qaPairCursor: cursorOf('S', randomUUID()),
    stepCursor: cursorOf('S', randomUUID()),
    eventCursor: cursorOf('I', 2 ** 40),
    importErrorCursor: cursorOf('I', 2 ** 40),
  };
}

async function createJob(client: GraphQLTestClient, input = '{ jobType: "system.noop" }') {
  const { body } = await client.send(`mutation { createJob(input: ${input}) { ... on MutationCreateJobSuccess { data { id } } ... on Error { message } } }`);
  return (body.data as any).createJob.data.id as string;
}

async function waitForEnd(client: GraphQLTestClient, id: string) {
  for (;;) {
    const { body } = await client.send(`query($id: ID!) { job(id: $id) { status } }`, { id });
    if (['COMPLETED', 'FAILED', 'DEAD_LETTER'].includes((body.data as any).job.status)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const edgeCursor = async (client: GraphQLTestClient, query: string, variables: Record<string, unknown>, path: (data: any) => any) =>
  path((await client.send(query, variables)).body.data).edges[0].cursor as string;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, { env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' } });
  const key = async (tenantId: string) => (await createApiKey(db.pool, { name: tenantId, tenantId, scopes: ['jobs:read', 'jobs:write'] })).key;
  alice = service.client.as(await key('tenant-a'));
  bob = service.client.as(await key('tenant-b'));

  // Interleaved, so that B has rows on both sides of each of A's in every
  // order (a cursor of A's would page to some of them if it were taken).
  await createJob(bob);
  await createJob(bob);
  const aJobId = await createJob(alice);
  b.jobId = await createJob(bob);
  // Pothos skips the cursor's own row (skip: 1), so a leak shows only with two
  // or more rows past it: three pairs and three bad rows per file.
  const csv = (name: string) =>
    `question,answer\n${[1, 2, 3].map((n) => `Question ${n} of ${name}?,Answer ${n}\n`).join('')}${',no question\n'.repeat(3)}`;
  const upload = async (client: GraphQLTestClient, name: string) => {
    const id = ((await uploadImport(client, { name, content: csv(name) })) as any).data.id as string;
    await waitForEnd(client, id);
    return id;
  };
  await upload(bob, 'b1.csv');
  await upload(bob, 'b2.csv');
  const aImportJobId = await upload(alice, 'a.csv');
  b.importJobId = await upload(bob, 'b3.csv');
  await waitForEnd(alice, aJobId);
  await waitForEnd(bob, b.jobId);
  // Steps (no built-in plain job type has any): A's job one, B's four.
  await db.pool.query(`insert into job_step (job_id, name, position) select $1, 'step ' || n, n from generate_series(0, 3) n`, [uuidOf(b.jobId)]);
  await db.pool.query(`insert into job_step (job_id, name, position) values ($1, 'only', 0)`, [uuidOf(aJobId)]);

  a = {
    jobId: aJobId,
    importJobId: aImportJobId,
    jobCursor: await edgeCursor(alice, `{ jobs(first: 1) { edges { cursor } } }`, {}, (data) => data.jobs),
    importJobCursor: await edgeCursor(alice, `{ importJobs(first: 1) { edges { cursor } } }`, {}, (data) => data.importJobs),
    qaPairCursor: await edgeCursor(alice, `{ qaPairs(first: 1) { edges { cursor } } }`, {}, (data) => data.qaPairs),
    stepCursor: await edgeCursor(alice, `query($id: ID!) { job(id: $id) { steps(first: 1) { edges { cursor } } } }`, { id: aJobId }, (data) => data.job.steps),
    eventCursor: await edgeCursor(alice, `query($id: ID!) { job(id: $id) { events(first: 1) { edges { cursor } } } }`, { id: aJobId }, (data) => data.job.events),
    importErrorCursor: await edgeCursor(alice, `query($id: ID!) { importJob(id: $id) { errors(first: 1) { edges { cursor } } } }`, { id: aImportJobId }, (data) => data.importJob.errors),
  };
}, 120_000);

afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

/** Answers with A's ids and cursors, and any UUID, replaced: another tenant's name and a missing one compare equal. */
function normalised(value: unknown, names: Names): string {
  let text = JSON.stringify(value);
  for (const name of Object.values(names)) text = text.split(name).join('<name>');
  return text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>');
}

const PAGE = 'totalCount edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';
const NESTED_PAGE = 'edges { cursor } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';

const QUERY_ROWS: Array<{ path: string; document: string; variables: (names: Names) => Record<string, unknown> }> = [
  { path: 'job(id)', document: 'query($id: ID!) { job(id: $id) { id status } }', variables: (n) => ({ id: n.jobId }) },
  { path: 'node(id)', document: 'query($id: ID!) { node(id: $id) { id } }', variables: (n) => ({ id: n.jobId }) },
  { path: 'nodes(ids)', document: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: (n) => ({ ids: [n.jobId, n.importJobId] }) },
  { path: 'importJob(id)', document: 'query($id: ID!) { importJob(id: $id) { id } }', variables: (n) => ({ id: n.importJobId }) },
  { path: 'jobs(after)', document: `query($c: String) { jobs(first: 5, after: $c) { ${PAGE} } }`, variables: (n) => ({ c: n.jobCursor }) },
  { path: 'jobs(before)', document: `query($c: String) { jobs(last: 5, before: $c) { ${PAGE} } }`, variables: (n) => ({ c: n.jobCursor }) },
  { path: 'importJobs(after)', document: `query($c: String) { importJobs(first: 5, after: $c) { edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage } } }`, variables: (n) => ({ c: n.importJobCursor }) },
  { path: 'qaPairs(after)', document: `query($c: String) { qaPairs(first: 5, after: $c) { edges { cursor node { question } } pageInfo { hasNextPage hasPreviousPage } } }`, variables: (n) => ({ c: n.qaPairCursor }) },
  {
    path: 'job(own).steps(after)',
    document: `query($id: ID!, $c: String) { job(id: $id) { steps(first: 5, after: $c) { ${NESTED_PAGE} } } }`,
    variables: (n) => ({ id: b.jobId, c: n.stepCursor }),
  },
  {
    path: 'job(own).events(after)',
    document: `query($id: ID!, $c: String) { job(id: $id) { events(first: 5, after: $c) { ${NESTED_PAGE} } } }`,
    variables: (n) => ({ id: b.jobId, c: n.eventCursor }),
  },
  {
    path: 'jobs { events(after) }',
    document: `query($c: String) { jobs(first: 5) { edges { node { events(first: 5, after: $c) { ${NESTED_PAGE} } } } } }`,
    variables: (n) => ({ c: n.eventCursor }),
  },
  {
    path: 'importJob(own).errors(after)',
    document: `query($id: ID!, $c: String) { importJob(id: $id) { errors(first: 5, after: $c) { ${NESTED_PAGE} } } }`,
    variables: (n) => ({ id: b.importJobId, c: n.importErrorCursor }),
  },
];

describe("queries: another tenant's id or cursor answers as a missing one", () => {
  for (const row of QUERY_ROWS) {
    it(row.path, async () => {
      const other = await bob.send(row.document, row.variables(a));
      const unknown = missing();
      const none = await bob.send(row.document, row.variables(unknown));
      expect(other.status).toBe(none.status);
      expect(normalised(other.body, a)).toEqual(normalised(none.body, unknown));
    });
  }
});

/** Every message of one subscription, as sent (data and errors). */
function record(client: Client, query: string, variables: Record<string, unknown>) {
  const messages: unknown[] = [];
  const unsubscribe = client.subscribe({ query, variables }, { next: (message) => void messages.push(message), error: (error) => void messages.push({ error }), complete: () => undefined });
  return { messages, unsubscribe };
}

describe("subscriptions: another tenant's job sends what a missing one sends, as often", () => {
  const SUBSCRIPTION_ROWS: Array<{ path: string; document: string; variables: (jobId: string) => Record<string, unknown> }> = [
    { path: 'jobUpdated(id)', document: 'subscription($id: ID!) { jobUpdated(id: $id) { id status progress } }', variables: (id) => ({ id }) },
    { path: 'jobEvents(filter: { jobIds })', document: 'subscription($id: ID!) { jobEvents(filter: { jobIds: [$id] }) { cursor status } }', variables: (id) => ({ id }) },
    {
      path: 'jobEvents(filter: { jobIds }, after: the origin)',
      document: `subscription($id: ID!, $after: String) { jobEvents(filter: { jobIds: [$id] }, after: $after) { cursor status } }`,
      variables: (id) => ({ id, after: Buffer.from('event:0:0').toString('base64url') }),
    },
  ];

  it('while the other tenant\'s job runs and moves (progress, statuses)', async () => {
    const socket = createClient({ url: service.client.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${bob.token}` } });
    // A job of A's that changes often: 20 progress reports, then COMPLETED.
    const running = await createJob(alice, '{ jobType: "system.sleep", payload: { ms: 2000, ticks: 20 } }');
    const unknownId = Buffer.from(`PlainJob:${randomUUID()}`).toString('base64');
    const subscriptions = SUBSCRIPTION_ROWS.map((row) => ({
      row,
      other: record(socket, row.document, row.variables(running)),
      unknown: record(socket, row.document, row.variables(unknownId)),
    }));
    await waitForEnd(alice, running);
    // A point after which everything about A's job has been sent: B's own job,
    // created after A's ended, seen COMPLETED by B's own subscription on the same socket.
    const own = await createJob(bob);
    const ownDone = deferred<void>("bob's own job to complete");
    const ownSubscription = socket.subscribe(
      { query: 'subscription($id: ID!) { jobUpdated(id: $id) { status } }', variables: { id: own } },
      { next: (message) => void ((message.data as any)?.jobUpdated?.status === 'COMPLETED' && ownDone.resolve()), error: (error) => ownDone.reject(error as Error), complete: () => undefined },
    );
    await ownDone.promise;
    ownSubscription();
    for (const { row, other, unknown } of subscriptions) {
      const replaced = (messages: unknown[], id: string) => JSON.stringify(messages).split(uuidOf(id)).join('<id>').split(id).join('<id>');
      expect(replaced(other.messages, running), row.path).toEqual(replaced(unknown.messages, unknownId));
      other.unsubscribe();
      unknown.unsubscribe();
    }
    await socket.dispose();
  });
});
