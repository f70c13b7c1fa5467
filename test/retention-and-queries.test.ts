// Retention purges old finished jobs with their steps and events, in batches;
// listing jobs with steps and events costs the same statements for 5 or 50 jobs.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { purgeFinishedJobs } from '../src/jobs/retention.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { JobsPage, Queues } from './support/operations.ts';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false } });
});
afterAll(async () => {
  await api?.stop();
  await db?.drop();
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

it('lists jobs with their steps and events in a fixed number of SQL statements', async () => {
  await db.pool.query(`insert into job (job_type, queue_name) select 'system.noop', 'listing' from generate_series(1, 60)`);
  // Each job: one step; two events (the job's PENDING and its step's).
  await db.pool.query(`insert into job_step (job_id, name, position) select id, 'only', 0 from job where queue_name = 'listing'`);

  const statements: string[] = [];
  const original = pg.Client.prototype.query;
  const counted = async (first: number) => {
    statements.length = 0;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text ?? '';
      // Not counted: live delivery's reads and the process's database probe (availability.ts), which run on their own.
      if (!/jobwire_event|job_event_settled_before|LISTEN|jobwire_availability_probe/i.test(text)) statements.push(text);
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    try {
      const page = await api.client.request(JobsPage, { filter: { queueNames: ['listing'] }, first });
      expect(page.jobs.edges).toHaveLength(first);
      expect(page.jobs.edges.every((edge) => edge.node.steps.edges.length === 1 && edge.node.events.edges.length === 2)).toBe(true);
    } finally {
      pg.Client.prototype.query = original;
    }
    return statements.length;
  };
  const forFive = await counted(5);
  const forFifty = await counted(50);
  expect(forFifty).toBe(forFive);
  expect(forFive).toBeLessThanOrEqual(6);
});

it('counts jobs per status for a queue', async () => {
  const stats = await api.client.request(Queues, { queueName: 'listing' });
  expect(stats.queueStats).toMatchObject({ queueName: 'listing', pendingCount: 60, runningCount: 0, completedCount: 0, deadLetterCount: 0 });
  expect((await api.client.request(Queues, { queueName: 'nothing-here' })).queueStats.pendingCount).toBe(0);
});
