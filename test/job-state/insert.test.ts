// insertJobs writes each job's queue entry into graphile-worker's table itself
// (src/job-state/queue-entry.ts, NEW_JOB_ENTRIES), not through add_jobs: the
// entry add_jobs would write, its jobs:insert wake-up, and a task that the
// statement's snapshot does not show yet.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { beforeAll, expect, it } from 'vitest';
import { NO_FLOW_OPTIONS } from '../../src/core/flow-options.ts';
import { JobKind } from '../../src/generated/prisma/enums.ts';
import { insertJobs, type NewJob } from '../../src/job-state/insert.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});

const newJob = (overrides: Partial<NewJob> = {}): NewJob => ({
  id: randomUUID(),
  kind: JobKind.PLAIN,
  queueName: 'insert-test',
  jobType: 'system.noop',
  payload: {},
  priority: 0,
  maxRetries: 2,
  scheduledAt: null,
  parentJobId: null,
  createdBy: null,
  tenantId: 'default',
  metadata: {},
  steps: [],
  flow: NO_FLOW_OPTIONS,
  ...overrides,
});

it('writes the entry add_jobs would (task, payload, attempts, priority, due now) and wakes workers once per statement with its count', async () => {
  const listening = new pg.Client({ connectionString: db.url });
  await listening.connect();
  const heard: string[] = [];
  listening.on('notification', (message) => message.channel === 'jobs:insert' && heard.push(message.payload ?? ''));
  await listening.query('listen "jobs:insert"');
  try {
    const jobs = [newJob({ priority: 5 }), newJob({ priority: 5 })];
    const rows = await insertJobs(db.pool, jobs);
    const { rows: entries } = await db.pool.query(
      `select e.id::text, t.identifier, e.payload::jsonb as payload, e.max_attempts, e.priority, e.key, e.job_queue_id, e.flags,
              e.run_at <= now() as due, e.attempts, e.locked_at
         from graphile_worker._private_jobs e join graphile_worker._private_tasks t on t.id = e.task_id
        where e.id = any($1::bigint[]) order by e.id`,
      [rows.map((row) => row.queue_entry_id)],
    );
    expect(entries.map((entry) => entry.payload.jobId).sort()).toEqual(jobs.map((job) => job.id).sort());
    for (const entry of entries) {
      expect(entry).toMatchObject({ identifier: 'job:system.noop:insert-test', max_attempts: 12, priority: -5, key: null, job_queue_id: null, flags: null, due: true, attempts: 0, locked_at: null });
    }
    await expect.poll(() => heard.length).toBe(1);
    expect(JSON.parse(heard[0]!)).toMatchObject({ count: 2 });
  } finally {
    await listening.end();
  }
});

it("a create of a task that another transaction is still writing waits for it and uses its task, as add_jobs' separate statements did", async () => {
  const jobType = `system.noop`;
  const queueName = `insert-race-${randomUUID().slice(0, 8)}`;
  // The first create of the new task, still open: it has written the task (announceNewTasks), not committed it.
  const first = await db.pool.connect();
  await first.query('begin');
  await insertJobs(first, [newJob({ queueName })]);
  // The second create in this process now takes the one-statement path (the task is known here); its snapshot lacks the task.
  const second = insertJobs(db.pool, [newJob({ queueName })]);
  await expect
    .poll(async () => (await db.pool.query(`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`)).rows[0].n)
    .toBe(1);
  await first.query('commit');
  first.release();
  const [row] = await second;
  const { rows } = await db.pool.query(
    `select t.identifier, count(*)::int as entries from graphile_worker._private_jobs e join graphile_worker._private_tasks t on t.id = e.task_id
      where t.identifier = $1 group by 1`,
    [`job:${jobType}:${queueName}`],
  );
  expect(row!.queue_entry_id).not.toBeNull();
  expect(rows).toEqual([{ identifier: `job:${jobType}:${queueName}`, entries: 2 }]);
});
