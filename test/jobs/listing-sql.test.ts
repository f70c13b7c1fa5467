// `jobs` with the first page of each job's steps and events is read in one SQL
// statement (src/graphql/jobs/sql-listing.ts); any other query shape goes
// through Prisma. Every page here is asked both ways in the same API: the
// plain query (SQL), and the same query with `step { id }` on each event (a
// nested relation, which only Prisma loads), and the two answers must be the
// same JSON once that field is taken out: every Job, step and event field,
// edge cursors, pageInfo, totalCount, forward and backward pages, filters
// (Prisma's and the SQL search's), and each caller's tenant. The statement
// reads only the columns the selection reads: each field is also asked alone,
// both ways, so a field that reads a column it does not declare shows.
import pg from 'pg';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { recordingQueries, type RecordedQuery } from '../../src/testing/prisma-queries.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';

let db: TestDatabase;
let api: TestApp;
const queries: RecordedQuery[] = [];
const callers: Record<'tenantA' | 'tenantB' | 'admin', GraphQLTestClient> = {} as never;
/** Each tenant's job ids, newest first (created_at desc, id desc), as the database orders them. */
const newestFirst: Record<string, string[]> = {};

const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';
const JOB_FIELDS = `__typename id kind queueName jobType payload priority maxRetries retryCount scheduledAt status errorMessage error result progress
  progressMessage createdBy metadata tags workerId traceparent createdAt updatedAt startedAt completedAt failedAt cancelRequestedAt cancelledAt
  waitingReason timeoutMs concurrencyKey concurrencyLimit debounceKey rateLimitKey rateLimitMaxStarts rateLimitIntervalMs parentJob { id } kindDetail { title }`;

/** The listing; `viaPrisma` adds each event's step, a nested relation only Prisma loads. */
function listing(viaPrisma: boolean) {
  return `query ($first: Int, $after: String, $last: Int, $before: String, $filter: JobFilter) {
    jobs(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      totalCount ${PAGE_INFO}
      edges { cursor node { ${JOB_FIELDS}
        steps(first: 3) { ${PAGE_INFO} edges { cursor node { id name position status errorMessage result createdAt startedAt completedAt } } }
        events(first: 4) { ${PAGE_INFO} edges { cursor node { id cursor status previousStatus message createdAt ${viaPrisma ? 'step { id }' : ''} } } }
      } }
    } }`;
}

/** A listing asking `job`, `step` and `event` of each (as `listing` does); `viaPrisma` adds each event's step. */
function narrowListing(viaPrisma: boolean, job: string, step: string, event: string) {
  return `query ($first: Int, $after: String, $last: Int, $before: String, $filter: JobFilter) {
    jobs(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      edges { node { ${job}
        steps(first: 3) { edges { node { ${step} } } }
        events(first: 4) { edges { node { ${event} ${viaPrisma ? 'step { id }' : ''} } } }
      } }
    } }`;
}

type Answer = { data?: { jobs: { edges: Array<{ cursor: string; node: { id: string; steps: { edges: unknown[] }; events: { edges: Array<{ node: Record<string, unknown> }> } } }> } }; errors?: unknown };

/** The page read both ways: the SQL answer, after checking it equals Prisma's. */
async function bothWays(client: GraphQLTestClient, variables: Record<string, unknown>, query: (viaPrisma: boolean) => string = listing): Promise<Answer> {
  queries.length = 0;
  const sql = (await client.send<never, Record<string, unknown>>(query(false), variables)).body as Answer;
  const sqlListed = queries.filter((query) => query.operation === 'findMany').map((query) => query.model);
  queries.length = 0;
  const prisma = (await client.send<never, Record<string, unknown>>(query(true), variables)).body as Answer;
  const prismaListed = queries.filter((query) => query.operation === 'findMany').map((query) => query.model);
  // The first way reads no rows through Prisma (the page is SQL's); the second does.
  expect(sqlListed).toEqual([]);
  expect(prismaListed).toContain('Job');
  for (const edge of prisma.data?.jobs.edges ?? []) for (const event of edge.node.events.edges) delete event.node.step;
  expect(sql.errors).toBeUndefined();
  expect(sql).toEqual(prisma);
  return sql;
}

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, {
    roles: { api: true, worker: false },
    env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' },
    wrapPrisma: (prisma) => recordingQueries(prisma, queries),
  });
  const key = async (tenantId: string, scopes: Array<'jobs:read' | 'admin'>) => api.client.as((await createApiKey(db.pool, { name: tenantId, tenantId, scopes })).key);
  callers.tenantA = await key('tenant-a', ['jobs:read']);
  callers.tenantB = await key('tenant-b', ['jobs:read']);
  callers.admin = await key('ops', ['admin']);
  // Tenant A: six jobs, two created in the same microsecond (the id breaks the tie), with every column set on some.
  const { rows } = await db.pool.query<{ id: string }>(
    `insert into job (tenant_id, job_type, queue_name, created_at, payload, metadata, tags, priority, max_retries, progress, progress_message,
                      created_by, timeout_ms, concurrency_key, concurrency_limit, rate_limit_key, rate_limit_max_starts, rate_limit_interval_ms,
                      debounce_key, traceparent, scheduled_at, queue_entry_id)
     select 'tenant-a', 'system.noop', 'listing-' || (n % 2), timestamptz '2026-03-01 10:00:00.123456+00' + make_interval(secs => least(n, 5) * 1.000017),
            jsonb_build_object('n', n, 'nested', jsonb_build_object('list', jsonb_build_array(1, 2.5, 'x'))), jsonb_build_object('team', case when n % 2 = 0 then 'red' else 'blue' end),
            case when n % 3 = 0 then array['urgent', 'billing'] else array['billing'] end, n, 3 + n, 100.0 / 3 * (n % 3), case when n = 2 then 'a third' end,
            'someone@a', case when n = 1 then 30000 end, case when n = 1 then 'key-' || n end, case when n = 1 then 2 end,
            case when n = 2 then 'rate' end, case when n = 2 then 5 end, case when n = 2 then 1000 end,
            case when n = 3 then 'debounce' end, case when n = 3 then '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' end,
            case when n = 4 then timestamptz '2026-03-02 00:00:00.000001+00' end, case when n = 4 then 9007199254740993 end
       from generate_series(1, 6) as n returning id`,
  );
  const [first, second, third] = rows.map((row) => row.id) as [string, string, string];
  await db.pool.query(`update job set parent_job_id = $1 where id = $2`, [first, second]);
  // Steps in reverse of insertion (the page follows position); a failed one with a result.
  await db.pool.query(`insert into job_step (job_id, name, position) select $1::uuid, 's' || n, 7 - n from generate_series(1, 7) as n`, [first]);
  await db.pool.query(`insert into job_step (job_id, name, position, error_message, result) values ($1::uuid, 'only', 0, 'it broke', '{"partial": [1, 2]}')`, [second]);
  // A long history: status changes (with previous statuses) and many more events than a page.
  await db.pool.query(`update job set status = 'RUNNING', started_at = timestamptz '2026-03-01 10:00:01.000999+00', worker_id = 'w1' where id = any($1::uuid[])`, [[first, second, third]]);
  await db.pool.query(
    `update job set status = 'COMPLETED', completed_at = clock_timestamp(), result = '{"ok": true, "big": 12345678901234}', progress = 100 where id = $1`,
    [first],
  );
  await db.pool.query(`update job set status = 'FAILED', failed_at = clock_timestamp(), error_message = 'boom', error = '{"name": "Error", "message": "boom", "data": {"code": 7}}' where id = $1`, [second]);
  await db.pool.query(`insert into job_event (job_id, status, message) select $1::uuid, 'RUNNING', 'note ' || n from generate_series(1, 9) as n`, [third]);
  // Tenant B: three jobs, one with a step.
  const other = await db.pool.query<{ id: string }>(`insert into job (tenant_id, job_type, queue_name, tags) select 'tenant-b', 'system.noop', 'listing-0', array['billing'] from generate_series(1, 3) returning id`);
  await db.pool.query(`insert into job_step (job_id, name, position) values ($1::uuid, 'b-step', 0)`, [other.rows[0]!.id]);
  for (const tenant of ['tenant-a', 'tenant-b']) {
    newestFirst[tenant] = (await db.pool.query<{ id: string }>(`select id from job where tenant_id = $1 order by created_at desc, id desc`, [tenant])).rows.map((row) => row.id);
  }
});
afterAll(() => api?.stop());

/** The UUIDs of a page's jobs (node ids are global ids of PlainJob). */
const uuids = (answer: Answer) => answer.data!.jobs.edges.map((edge) => Buffer.from(edge.node.id, 'base64').toString().split(':')[1]);

it("answers a tenant's page of jobs with their steps and events as Prisma does, newest first, each tenant its own", async () => {
  const a = await bothWays(callers.tenantA, { first: 50 });
  expect(uuids(a)).toEqual(newestFirst['tenant-a']);
  const nodes = a.data!.jobs.edges.map((edge) => edge.node);
  // Pages cut: seven steps, three listed; a long history, four events listed.
  expect(nodes.map((node) => node.steps.edges.length).sort()).toEqual([0, 0, 0, 0, 1, 3]);
  expect(Math.max(...nodes.map((node) => node.events.edges.length))).toBe(4);
  const b = await bothWays(callers.tenantB, { first: 50 });
  expect(uuids(b)).toEqual(newestFirst['tenant-b']);
  const all = await bothWays(callers.admin, { first: 50 });
  expect(new Set(uuids(all))).toEqual(new Set([...newestFirst['tenant-a']!, ...newestFirst['tenant-b']!]));
});

it('pages forward and backward by cursor as Prisma does, and a cursor of another tenant finds nothing', async () => {
  const firstPage = await bothWays(callers.tenantA, { first: 2 });
  const cursors = firstPage.data!.jobs.edges.map((edge) => edge.cursor);
  const next = await bothWays(callers.tenantA, { first: 2, after: cursors[1] });
  expect(uuids(next)).toEqual(newestFirst['tenant-a']!.slice(2, 4));
  const back = await bothWays(callers.tenantA, { last: 2, before: next.data!.jobs.edges[1]!.cursor });
  expect(uuids(back)).toEqual(newestFirst['tenant-a']!.slice(1, 3));
  await bothWays(callers.tenantA, { last: 3 });
  // Tenant B's first job as a cursor for tenant A: as a missing one.
  const theirs = (await bothWays(callers.tenantB, { first: 1 })).data!.jobs.edges[0]!.cursor;
  await bothWays(callers.tenantA, { first: 2, after: theirs });
  await bothWays(callers.tenantA, { last: 2, before: theirs });
  await bothWays(callers.admin, { first: 3, after: theirs });
});

it('filters as Prisma does, by its filters and by the SQL search', async () => {
  for (const filter of [
    { statuses: ['COMPLETED', 'FAILED'] },
    { tags: ['urgent'] },
    { queueNames: ['listing-0'], createdAfter: '2026-03-01T10:00:02Z' },
    { metadataContains: { team: 'red' } },
    { errorContains: 'boo' },
    { jobTypes: ['nothing.like.this'] },
  ]) {
    const a = await bothWays(callers.tenantA, { first: 10, filter });
    expect(a.data!.jobs.edges.length, JSON.stringify(filter)).toBeLessThan(6);
    await bothWays(callers.admin, { first: 10, filter });
  }
  const red = await bothWays(callers.tenantA, { first: 10, filter: { metadataContains: { team: 'red' } } });
  expect(red.data!.jobs.edges).toHaveLength(3);
});

/** The listing statements the API sends while `run` runs (its pool's queries with json_agg). */
async function listingStatements(run: () => Promise<unknown>): Promise<string[]> {
  const proto = Object.hasOwn(pg.Pool.prototype, 'query') ? pg.Pool.prototype : Object.getPrototypeOf(pg.Pool.prototype);
  const spy = vi.spyOn(proto as pg.Pool, 'query');
  try {
    await run();
    const texts = spy.mock.calls.map(([config]) => (typeof config === 'string' ? config : String((config as { text?: unknown }).text)));
    return texts.filter((text) => text.includes('json_agg'));
  } finally {
    spy.mockRestore();
  }
}

it('reads only the columns the selection reads, and every column when a field computes from the row', async () => {
  const bench = (viaPrisma: boolean) => narrowListing(viaPrisma, 'id status jobType', 'name status', 'status createdAt');
  const [narrow] = await listingStatements(() => bothWays(callers.tenantA, { first: 50 }, bench));
  expect(narrow).toContain('"job_type"');
  for (const column of ['payload', 'metadata', 'result', 'error_message', "'txId'", 'message']) expect(narrow).not.toContain(column);
  // Fragments, aliases and a field that declares its columns (payload: jobType and payload).
  const fragments = (viaPrisma: boolean) =>
    `${narrowListing(viaPrisma, '...J again: kind ... on PlainJob { payload }', 'position', '... on JobEvent { previousStatus }')}
     fragment J on Job { queueName }`;
  const [withFragments] = await listingStatements(() => bothWays(callers.tenantA, { first: 50 }, fragments));
  for (const column of ['"queue_name"', '"payload"', '"job_type"', "'position'", "'previousStatus'"]) expect(withFragments).toContain(column);
  for (const column of ['metadata', 'result', "'name'", "'message'"]) expect(withFragments).not.toContain(column);
  // error computes from the row: every column of the job.
  const [every] = await listingStatements(() => bothWays(callers.tenantA, { first: 50 }, (viaPrisma) => narrowListing(viaPrisma, 'error', 'name', 'status')));
  expect(every).toContain('"metadata"');
});

it('answers each field asked alone as Prisma does', async () => {
  const jobFields = JOB_FIELDS.match(/\w+(?: \{[^}]*\})?/g)!;
  const stepFields = ['id', 'name', 'position', 'status', 'errorMessage', 'result', 'createdAt', 'startedAt', 'completedAt'];
  const eventFields = ['id', 'cursor', 'status', 'previousStatus', 'message', 'createdAt'];
  expect(jobFields).toContain('parentJob { id }');
  for (const [index, job] of jobFields.entries()) {
    const step = stepFields[index % stepFields.length]!;
    const event = eventFields[index % eventFields.length]!;
    await bothWays(callers.tenantA, { first: 50 }, (viaPrisma) => narrowListing(viaPrisma, job, step, event));
  }
  await bothWays(callers.admin, { last: 3 }, (viaPrisma) => narrowListing(viaPrisma, 'status', 'name', 'createdAt'));
});

it('answers a page asked again under an alias with other arguments as Prisma does', async () => {
  // The statement reads the page the first `steps` asks; the other aliases ask other pages, which plugin-prisma answers.
  const aliased = (viaPrisma: boolean) => `query ($first: Int) {
    jobs(first: $first) {
      edges { node { id
        steps(first: 3) { ${PAGE_INFO} edges { cursor node { name position } } }
        more: steps(first: 5) { ${PAGE_INFO} edges { cursor node { name position } } }
        tail: steps(last: 2) { ${PAGE_INFO} edges { cursor node { position } } }
        events(first: 4) { ${PAGE_INFO} edges { cursor node { status ${viaPrisma ? 'step { id }' : ''} } } }
        page: events(first: 4) { edges { cursor node { message } } }
      } }
    } }`;
  const answer = await bothWays(callers.tenantA, { first: 50 }, aliased);
  const withSteps = answer.data!.jobs.edges.map((edge) => edge.node as unknown as Record<string, { edges: unknown[] }>).find((node) => node.steps!.edges.length > 1)!;
  expect(withSteps.steps!.edges).toHaveLength(3);
  expect(withSteps.more!.edges).toHaveLength(5);
  expect(withSteps.tail!.edges).toHaveLength(2);
});
