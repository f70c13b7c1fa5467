// Tags and search: tags set at create and by handlers (bounded, validated);
// jobs(filter) by tags, metadata and payload containment, createdBy and text in
// the error, paged; a tenant's search never sees another tenant's jobs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import { NonRetriableError, type JobHandler } from '../../src/core/handler.ts';
import { noopHandler } from '../../src/system/handlers.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { eventually } from '../support/wait.ts';

/** Adds the payload's tags from the handler; answers what addTags said. */
const taggerHandler: JobHandler<{ tags: string[] }> = {
  jobType: 'test.tagger',
  description: 'Adds tags to its own job.',
  payload: z.object({ tags: z.array(z.string()) }),
  async handle(job, ctx) {
    try {
      await ctx.addTags(...job.payload.tags);
      return { success: true, resultData: { added: true } };
    } catch (error) {
      return { success: true, resultData: { added: false, error: String(error) } };
    }
  },
};

/** Fails at once with the payload's message. */
const failWithHandler: JobHandler<{ message: string; customer: string }> = {
  jobType: 'test.fail_with',
  description: 'Fails (not retried) with the given message.',
  payload: z.object({ message: z.string(), customer: z.string() }),
  async handle(job) {
    throw new NonRetriableError(job.payload.message);
  },
};

/** Its payload's token is redacted for readers (as webhook.send's URL). */
const secretHandler: JobHandler<{ token: string }> = {
  jobType: 'test.secret',
  description: 'Holds a secret in its payload.',
  payload: z.object({ token: z.string() }),
  redactPayload: () => ({ token: '[redacted]' }),
  async handle() {
    return { success: true };
  },
};

let db: TestDatabase;
let service: TestApp;
let alice: GraphQLTestClient;
let bob: GraphQLTestClient;
let admin: GraphQLTestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, {
    registry: new HandlerRegistry().register(noopHandler).register(taggerHandler).register(failWithHandler).register(secretHandler),
    env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' },
  });
  const key = async (tenantId: string, scopes: Array<'jobs:read' | 'jobs:write' | 'admin'>) =>
    (await createApiKey(db.pool, { name: `${tenantId}`, tenantId, scopes })).key;
  alice = service.client.as(await key('tenant-a', ['jobs:read', 'jobs:write']));
  bob = service.client.as(await key('tenant-b', ['jobs:read', 'jobs:write']));
  admin = service.client.as(await key('ops', ['admin']));
});

afterAll(async () => {
  await service?.stop();
});

async function create(client: GraphQLTestClient, input: Record<string, unknown>) {
  const { body } = await client.send(
    `mutation($input: CreateJobInput!) { createJob(input: $input) { __typename ... on MutationCreateJobSuccess { data { id tags } } ... on ValidationError { field message } } }`,
    { input },
  );
  return (body.data as any)?.createJob ?? body;
}

async function createdId(client: GraphQLTestClient, input: Record<string, unknown>): Promise<string> {
  const answer = await create(client, input);
  if (answer.__typename !== 'MutationCreateJobSuccess') throw new Error(`create failed: ${JSON.stringify(answer)}`);
  return answer.data.id;
}

async function search(client: GraphQLTestClient, filter: Record<string, unknown>, page: { first?: number; after?: string; last?: number; before?: string } = { first: 50 }) {
  const { body } = await client.send(
    `query($filter: JobFilter, $first: Int, $after: String, $last: Int, $before: String) {
       jobs(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
         totalCount pageInfo { hasNextPage hasPreviousPage endCursor startCursor } edges { cursor node { id tags } } } }`,
    { filter, ...page },
  );
  return body as { data?: { jobs: { totalCount: number; pageInfo: any; edges: Array<{ cursor: string; node: { id: string; tags: string[] } }> } }; errors?: Array<{ message: string }> };
}

const ids = async (client: GraphQLTestClient, filter: Record<string, unknown>) => {
  const body = await search(client, filter);
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data!.jobs.edges.map((edge) => edge.node.id);
};

const rowCount = async () => Number((await db.pool.query('select count(*) from job')).rows[0].count);

async function settled(id: string) {
  return eventually(`job ${id} to end`, async () => {
    const { rows } = await db.pool.query(`select status, tags, result, error_message from job where id = $1`, [uuidOf(id)]);
    return ['COMPLETED', 'FAILED', 'DEAD_LETTER'].includes(rows[0]?.status) ? rows[0] : undefined;
  });
}

describe('tags', () => {
  it('are set at create, read back, and duplicates are dropped', async () => {
    const answer = await create(alice, { jobType: 'system.noop', tags: ['customer:42', 'nightly', 'customer:42'] });
    expect(answer.data.tags).toEqual(['customer:42', 'nightly']);
  });

  it('bad tags are refused naming the tag, and no job is created', async () => {
    const before = await rowCount();
    expect(await create(alice, { jobType: 'system.noop', tags: ['ok', 'has space'] })).toEqual({
      __typename: 'ValidationError',
      field: 'tags.1',
      message: 'tags.1: must be 1-64 letters, digits or _.:=/- and start with a letter or digit',
    });
    expect(await create(alice, { jobType: 'system.noop', tags: ['x'.repeat(65)] })).toMatchObject({ field: 'tags.0' });
    expect(await create(alice, { jobType: 'system.noop', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) })).toEqual({
      __typename: 'ValidationError',
      field: 'tags',
      message: 'tags: must have at most 20 tags',
    });
    const schedule = await alice.send(`mutation { createSchedule(input: { cron: "0 0 1 1 *", jobTemplate: { jobType: "system.noop", tags: ["-bad"] } }) { __typename ... on ValidationError { field } } }`);
    expect((schedule.body.data as any).createSchedule).toEqual({ __typename: 'ValidationError', field: 'jobTemplate.tags.0' });
    expect(await rowCount()).toBe(before);
  });

  it('the database refuses what the API refuses (a raw insert too)', async () => {
    await expect(db.pool.query(`insert into job (job_type, tags) values ('system.noop', '{"has space"}')`)).rejects.toThrow(/job_tags_check/);
  });

  it('a handler adds tags (ctx.addTags); beyond 20 in all it adds none and says why', async () => {
    const id = await createdId(alice, { jobType: 'test.tagger', payload: { tags: ['found:yes', 'from-create'] }, tags: ['from-create'] });
    expect((await settled(id)).tags).toEqual(['from-create', 'found:yes']);
    expect(await ids(alice, { tags: ['found:yes', 'from-create'] })).toEqual([id]);

    const full = await createdId(alice, {
      jobType: 'test.tagger',
      payload: { tags: ['one-more', 'and-another'] },
      tags: Array.from({ length: 19 }, (_, i) => `t${i}`),
    });
    const row = await settled(full);
    expect(row.tags).toHaveLength(19);
    expect(row.result).toEqual({ added: false, error: 'ValidationError: tags: a job has at most 20 tags; adding one-more, and-another would make 21' });

    const bad = await createdId(alice, { jobType: 'test.tagger', payload: { tags: ['fine', 'not fine'] } });
    const badRow = await settled(bad);
    expect(badRow.tags).toEqual([]);
    expect(badRow.result.error).toMatch(/tags\.1: must be 1-64 letters/);
  });
});

describe('search', () => {
  const a: Record<string, string> = {};
  const b: Record<string, string> = {};

  beforeAll(async () => {
    a.acme = await createdId(alice, { jobType: 'system.noop', tags: ['customer:acme', 'eu'], metadata: { customer: { id: 'acme', plan: 'pro' }, region: 'eu' } });
    a.acmeUs = await createdId(alice, { jobType: 'system.noop', tags: ['customer:acme', 'us'], metadata: { customer: { id: 'acme', plan: 'pro' }, region: 'us' } });
    a.other = await createdId(alice, { jobType: 'system.noop', tags: ['customer:zeta'], metadata: { customer: { id: 'zeta' } } });
    a.failed = await createdId(alice, { jobType: 'test.fail_with', payload: { message: 'Upstream TIMEOUT after 30 s (100% of budget)', customer: 'acme' } });
    // Tenant B's jobs look the same: only the tenant tells them apart.
    b.acme = await createdId(bob, { jobType: 'system.noop', tags: ['customer:acme', 'eu'], metadata: { customer: { id: 'acme', plan: 'pro' }, region: 'eu' } });
    b.failed = await createdId(bob, { jobType: 'test.fail_with', payload: { message: 'Upstream TIMEOUT after 30 s (100% of budget)', customer: 'acme' } });
    await Promise.all([...Object.values(a), ...Object.values(b)].map(settled));
  });

  it('by tags: jobs with every one of the given tags', async () => {
    expect(await ids(alice, { tags: ['customer:acme'] })).toEqual([a.acmeUs, a.acme]);
    expect(await ids(alice, { tags: ['customer:acme', 'eu'] })).toEqual([a.acme]);
    expect(await ids(alice, { tags: ['customer:acme', 'nowhere'] })).toEqual([]);
  });

  it('by metadata containment (nested objects too) and with other filters', async () => {
    expect(await ids(alice, { metadataContains: { customer: { id: 'acme' } } })).toEqual([a.acmeUs, a.acme]);
    expect(await ids(alice, { metadataContains: { customer: { id: 'acme' }, region: 'eu' } })).toEqual([a.acme]);
    expect(await ids(alice, { metadataContains: { customer: { id: 'acme' } }, tags: ['us'] })).toEqual([a.acmeUs]);
    expect(await ids(alice, { metadataContains: { customer: { id: 'acme' } }, statuses: ['FAILED'] })).toEqual([]);
    expect(await ids(alice, { metadataContains: {} })).toHaveLength(Number((await db.pool.query(`select count(*) from job where tenant_id = 'tenant-a'`)).rows[0].count));
  });

  it('by payload containment, by createdBy and by text in the error (any case, wildcards literal)', async () => {
    expect(await ids(alice, { payloadContains: { customer: 'acme' } })).toEqual([a.failed]);
    expect(await ids(alice, { errorContains: 'timeout AFTER' })).toEqual([a.failed]);
    expect(await ids(alice, { errorContains: '100%' })).toEqual([a.failed]);
    expect(await ids(alice, { errorContains: '1_0' })).toEqual([]);
    const { rows } = await db.pool.query(`select created_by from job where id = $1`, [uuidOf(a.acme)]);
    expect(await ids(alice, { createdBy: [rows[0].created_by], metadataContains: { region: 'eu' } })).toEqual([a.acme]);
    expect(await ids(alice, { createdBy: ['someone-else'], metadataContains: { region: 'eu' } })).toEqual([]);
  });

  it('pages through SQL-searched jobs forward and backward with counts, as the unfiltered list does', async () => {
    const filter = { metadataContains: {} };
    const all = await ids(alice, filter);
    const first = (await search(alice, filter, { first: 2 })).data!.jobs;
    expect(first.totalCount).toBe(all.length);
    expect(first.edges.map((edge) => edge.node.id)).toEqual(all.slice(0, 2));
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await search(alice, filter, { first: 2, after: first.pageInfo.endCursor })).data!.jobs;
    expect(second.edges.map((edge) => edge.node.id)).toEqual(all.slice(2, 4));
    const back = (await search(alice, filter, { last: 2, before: second.pageInfo.startCursor })).data!.jobs;
    expect(back.edges.map((edge) => edge.node.id)).toEqual(all.slice(0, 2));
    // The same pages as the Prisma path (no SQL-only filter).
    const plain = (await search(alice, {}, { first: 2, after: first.pageInfo.endCursor })).data!.jobs;
    expect(plain.edges.map((edge) => edge.node.id)).toEqual(all.slice(2, 4));
  });

  it("a payload its job type redacts is not searchable (containment would reveal it)", async () => {
    const secret = await createdId(alice, { jobType: 'test.secret', payload: { token: 's3cr3t' }, metadata: { holds: 'secret' } });
    expect(await ids(alice, { payloadContains: { token: 's3cr3t' } })).toEqual([]);
    expect(await ids(alice, { payloadContains: {}, metadataContains: { holds: 'secret' } })).toEqual([]);
    expect(await ids(alice, { metadataContains: { holds: 'secret' } })).toEqual([secret]);
    const count = (await alice.send(`query { bulkJobCount(action: CANCEL, filter: { payloadContains: { token: "s3cr3t" } }) { ... on QueryBulkJobCountSuccess { data { count } } } }`)).body.data as any;
    expect(count.bulkJobCount.data.count).toBe(0);
  });

  it('bad search input is refused naming the field', async () => {
    expect((await search(alice, { errorContains: 'ab' })).errors?.[0]?.message).toBe('filter.errorContains: must be at least 3 characters');
    expect((await search(alice, { metadataContains: ['acme'] })).errors?.[0]?.message).toBe('filter.metadataContains: must be a JSON object');
    expect((await search(alice, { payloadContains: { big: 'x'.repeat(5000) } })).errors?.[0]?.message).toBe('filter.payloadContains: must be at most 4096 bytes of JSON');
    expect((await search(alice, { tags: ['no spaces please'] })).errors?.[0]?.message).toMatch(/^filter\.tags\.0: must be 1-64 letters/);
  });

  it("a tenant's search never sees another tenant's jobs; admin sees both", async () => {
    const filters = [
      { tags: ['customer:acme'] },
      { metadataContains: { customer: { id: 'acme' } } },
      { payloadContains: { customer: 'acme' } },
      { errorContains: 'timeout' },
      { metadataContains: {}, tags: ['eu'] },
    ];
    for (const filter of filters) {
      const bobs = await ids(bob, filter);
      expect(bobs.every((id) => Object.values(b).includes(id)), JSON.stringify(filter)).toBe(true);
      expect(bobs.length, JSON.stringify(filter)).toBeGreaterThan(0);
      const alices = await ids(alice, filter);
      expect(alices.some((id) => Object.values(b).includes(id)), JSON.stringify(filter)).toBe(false);
      const all = await ids(admin, filter);
      expect(all.length).toBe(bobs.length + alices.length);
    }
    expect((await search(bob, { metadataContains: {} })).data!.jobs.totalCount).toBe(Object.keys(b).length);
    // A cursor of tenant A's job pages nothing of A's for tenant B.
    const aliceFirst = (await search(alice, { metadataContains: {} }, { first: 1 })).data!.jobs;
    const bobAfter = (await search(bob, { metadataContains: {} }, { first: 50, after: aliceFirst.pageInfo.endCursor })).data!.jobs;
    expect(bobAfter.edges.filter((edge) => !Object.values(b).includes(edge.node.id))).toEqual([]);
  });

  it('bulk mutations select by the same search fields, within the tenant', async () => {
    const count = async (client: GraphQLTestClient, filter: Record<string, unknown>) =>
      ((await client.send(`query($f: JobFilter!) { bulkJobCount(action: RETRY, filter: $f) { ... on QueryBulkJobCountSuccess { data { count } } } }`, { f: filter })).body.data as any)
        .bulkJobCount.data.count;
    expect(await count(alice, { errorContains: 'timeout' })).toBe(1);
    expect(await count(alice, { errorContains: 'no such text' })).toBe(0);
    expect(await count(alice, { payloadContains: { customer: 'acme' }, tags: ['eu'] })).toBe(0);
    expect(await count(admin, { payloadContains: { customer: 'acme' } })).toBe(2);
  });
});
