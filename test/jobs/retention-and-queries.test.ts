// Retention purges old finished jobs with their steps and events, in batches;
// listing jobs with steps and events costs the same queries for 5 or 50 jobs.
import { beforeAll, expect, it } from 'vitest';
import { purgeFinishedJobs } from '../../src/jobs/retention.ts';
import { recordingQueries, type RecordedQuery } from '../../src/testing/prisma-queries.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { JobsPage, Queues } from '../support/operations.ts';

let db: TestDatabase;
let api: TestApp;
/** Every Prisma query the API makes. */
const queries: RecordedQuery[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false }, wrapPrisma: (prisma) => recordingQueries(prisma, queries) });
});

/** Jobs driven through the status machine by SQL, finished `daysAgo` days ago. */
async function finishedJobs(count: number, status: 'COMPLETED' | 'CANCELLED', daysAgo: number) {
  const { rows } = await db.pool.query<{ id: string }>(
    `insert into job (job_type, queue_name, created_at) select 'system.noop', 'retention', now() - make_interval(days => $2)
       from generate_series(1, $1) returning id`,
    [count, daysAgo + 1],
  );
  const ids = rows.map((row) => row.id);
  await db.pool.query(`insert into job_step (job_id, name, position) select id, 'only', 0 from unnest($1::uuid[]) as id`, [ids]);
  if (status === 'COMPLETED') {
    await db.pool.query(`update job set status = 'RUNNING' where id = any($1)`, [ids]);
    await db.pool.query(`update job set status = 'COMPLETED' where id = any($1)`, [ids]);
    await db.pool.query(`update job set started_at = now() - make_interval(days => $2), completed_at = now() - make_interval(days => $2) where id = any($1)`, [ids, daysAgo]);
  } else {
    await db.pool.query(`update job set status = 'CANCELLED' where id = any($1)`, [ids]);
    await db.pool.query(`update job set cancelled_at = now() - make_interval(days => $2) where id = any($1)`, [ids, daysAgo]);
  }
  return ids;
}

it('purges finished jobs older than the cutoff with their steps and events, and nothing else', async () => {
  const old = [...(await finishedJobs(1500, 'COMPLETED', 40)), ...(await finishedJobs(10, 'CANCELLED', 31))];
  const recent = await finishedJobs(5, 'COMPLETED', 3);
  const { rows: pending } = await db.pool.query<{ id: string }>(
    `insert into job (job_type, queue_name, created_at) values ('system.noop', 'retention', now() - interval '90 days') returning id`,
  );

  const deleted = await purgeFinishedJobs(db.pool, new Date(Date.now() - 30 * 86_400_000));
  expect(deleted).toBe(old.length);
  const left = await db.pool.query<{ id: string }>(`select id from job where queue_name = 'retention'`);
  expect(left.rows.map((row) => row.id).sort()).toEqual([...recent, pending[0]!.id].sort());
  const orphans = await db.pool.query(
    `select (select count(*) from job_event where job_id = any($1)) as events, (select count(*) from job_step where job_id = any($1)) as steps`,
    [old],
  );
  expect(orphans.rows[0]).toEqual({ events: '0', steps: '0' });
});

it('lists jobs with their steps and events in a fixed set of queries, however many jobs', async () => {
  await db.pool.query(`insert into job (job_type, queue_name) select 'system.noop', 'listing' from generate_series(1, 60)`);
  // Each job: one step; two events (the job's PENDING and its step's).
  await db.pool.query(`insert into job_step (job_id, name, position) select id, 'only', 0 from job where queue_name = 'listing'`);

  const queriesFor = async (first: number) => {
    queries.length = 0;
    const page = await api.client.request(JobsPage, { filter: { queueNames: ['listing'] }, first });
    expect(page.jobs.edges).toHaveLength(first);
    expect(page.jobs.edges.every((edge) => edge.node.steps.edges.length === 1 && edge.node.events.edges.length === 2)).toBe(true);
    // totalCount and edges resolve side by side: their order is not fixed.
    return [...queries].sort((x, y) => `${x.model}.${x.operation}`.localeCompare(`${y.model}.${y.operation}`));
  };
  // The count through Prisma; the jobs with each job's first page of steps and
  // events in one SQL statement (src/graphql/jobs/sql-listing.ts): no query per
  // job (an N+1 through Prisma would add one per row).
  const forFive = await queriesFor(5);
  expect(forFive).toEqual([{ model: 'Job', operation: 'count' }]);
  expect(await queriesFor(50)).toEqual(forFive);
});

it("lists each job's first page of steps and events in their order, the rest of a long history left in the database", async () => {
  const { rows } = await db.pool.query<{ id: string }>(`insert into job (job_type, queue_name) select 'system.noop', 'history' from generate_series(1, 3) returning id`);
  const [long, short] = rows.map((row) => row.id);
  expect(rows).toHaveLength(3);
  // Positions in reverse of insertion: the page follows position, not insertion.
  await db.pool.query(`insert into job_step (job_id, name, position) select $1::uuid, 's' || n, 15 - n from generate_series(1, 15) as n`, [long]);
  await db.pool.query(`insert into job_step (job_id, name, position) values ($1::uuid, 'only', 0)`, [short]);
  await db.pool.query(`insert into job_event (job_id, status, message) select $1::uuid, 'PENDING', 'e' || n from generate_series(1, 5000) as n`, [long]);
  const query = `{ jobs(first: 10, filter: { queueNames: ["history"] }) { edges { node { id
    steps(first: 4) { pageInfo { hasNextPage } edges { node { name position } } }
    events(first: 3) { pageInfo { hasNextPage } edges { node { message step { name } } } } } } } }`;
  type Page = { hasNextPage: boolean };
  const { body } = await api.client.send<{ jobs: { edges: Array<{ node: { id: string; steps: { pageInfo: Page; edges: Array<{ node: { name: string; position: number } }> }; events: { pageInfo: Page; edges: Array<{ node: { message: string | null; step: { name: string } | null } }> } } }> } }, never>(query);
  expect(body.errors).toBeUndefined();
  // Node ids are global ids: each job is told apart by its steps.
  const nodes = body.data!.jobs.edges.map((edge) => edge.node);
  expect(nodes.map((node) => node.steps.edges.length).sort()).toEqual([0, 1, 4]);
  const first = nodes.find((node) => node.steps.edges.length === 4)!;
  expect(first.steps.edges.map((edge) => edge.node)).toEqual([
    { name: 's15', position: 0 },
    { name: 's14', position: 1 },
    { name: 's13', position: 2 },
    { name: 's12', position: 3 },
  ]);
  expect(first.steps.pageInfo.hasNextPage).toBe(true);
  // The job's history in its order (its own and its steps' PENDING, then the inserted ones), as the database has it.
  const oldest = await db.pool.query(
    `select e.message, case when s.name is null then null else json_build_object('name', s.name) end as step
       from job_event e left join job_step s on s.id = e.step_id where e.job_id = $1 order by e.tx_id, e.id limit 3`,
    [long],
  );
  expect(first.events.edges.map((edge) => edge.node)).toEqual(oldest.rows);
  expect(first.events.pageInfo.hasNextPage).toBe(true);
  const second = nodes.find((node) => node.steps.edges.length === 1)!;
  expect(second.steps).toEqual({ pageInfo: { hasNextPage: false }, edges: [{ node: { name: 'only', position: 0 } }] });
  expect(second.events.pageInfo.hasNextPage).toBe(false);
  const third = nodes.find((node) => node.steps.edges.length === 0)!;
  expect(third.steps).toEqual({ pageInfo: { hasNextPage: false }, edges: [] });
});

it('counts jobs per status for a queue', async () => {
  const stats = await api.client.request(Queues, { queueName: 'listing' });
  expect(stats.queueStats).toMatchObject({ queueName: 'listing', pendingCount: 60, runningCount: 0, completedCount: 0, deadLetterCount: 0 });
  expect((await api.client.request(Queues, { queueName: 'nothing-here' })).queueStats.pendingCount).toBe(0);
});

it('counts a SCHEDULED job whose time has come as pending, one still to come as scheduled', async () => {
  await db.pool.query(
    `insert into job (job_type, queue_name, status, scheduled_at)
     values ('system.noop', 'due', 'SCHEDULED', now() - interval '1 minute'), ('system.noop', 'due', 'SCHEDULED', now() + interval '1 hour')`,
  );
  const stats = await api.client.request(Queues, { queueName: 'due' });
  expect(stats.queueStats).toMatchObject({ queueName: 'due', pendingCount: 1, scheduledCount: 1 });
});
