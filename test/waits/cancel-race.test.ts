// A parent cancelled at the moment one of its children finishes. The child's
// finish locks the child's row, then (job_wake_parent) the parent's; the
// parent's cancel locks the parent's row, then (job_cancel_children) the
// child's. Postgres breaks that cycle by aborting one of the two: whichever it
// is must be run again, so the child's outcome is never lost and the parent
// ends CANCELLED.
import { beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnWorker, startTestApp, type TestApp } from '../support/app.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { CreateJobFlow } from '../support/operations.ts';
import { JobWaitState, JobWaitUpdated } from '../support/operations-waits.ts';
import { uuidOf } from '../../src/testing/global-id.ts';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false }, registry: createTestRegistry() });
  await spawnWorker(db.url, { WORKER_DEAD_AFTER_MS: '15000' }, ['test/support/worker-process.ts']);
});

async function until(id: string, status: string, waitingReason?: string) {
  const updates = api.client.subscribe(JobWaitUpdated, { id });
  const matches = (u: { status: string; waitingReason?: string | null }) => u.status === status && (waitingReason === undefined || u.waitingReason === waitingReason);
  if (!matches((await api.client.request(JobWaitState, { id })).job!)) {
    await updates.waitFor(`job ${id} ${status} ${waitingReason ?? ''}`, (all) => all.some((u) => matches(u.jobUpdated)));
  }
  updates.close();
}

/** Resolves once another session waits for a row lock held by `pid`. */
async function untilBlockedBy(pid: number) {
  for (;;) {
    const { rows } = await db.pool.query(`select 1 from pg_stat_activity where $1 = any(pg_blocking_pids(pid))`, [pid]);
    if (rows.length > 0) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const outcomes = [
  {
    finish: 'COMPLETED',
    child: { jobType: 'test.wait_for_signal', payload: { signal: 'go' } },
    wake: (id: string) => db.pool.query(`select signal_job($1, 'go')`, [id]),
    woken: 'signal go received',
    waiting: ['SIGNAL', 'waiting for signal go (step signal:go)'],
  },
  {
    finish: 'DEAD_LETTER',
    child: { jobType: 'test.wait_for_event', payload: { event: 'race.go', failAfterWait: 1 }, maxRetries: 0 },
    wake: () => db.pool.query(`select send_event('race.go')`),
    woken: 'event race.go received',
    waiting: ['EVENT', 'waiting for event race.go (step event:race.go)'],
  },
] as const;

it.each(outcomes)('a child ending $finish while its parent is being cancelled: neither the child\'s end nor the cancel is lost', async (outcome) => {
  const created = await api.client.request(CreateJobFlow, { input: { jobType: 'test.workflow_parent', payload: { spawn: [outcome.child] } } });
  if (created.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(created.createJob));
  const parent = uuidOf(created.createJob.data.id);
  await until(parent, 'PENDING', 'CHILDREN');
  const child = (await db.pool.query<{ id: string }>(`select id from job where parent_job_id = $1`, [parent])).rows[0]!.id;
  await until(child, 'PENDING', outcome.waiting[0]);

  // The cancel's first half: the parent's row locked, as cancelJob's lockJob does.
  const cancel = await db.pool.connect();
  try {
    await cancel.query('begin');
    // The worker's write then checks for the cycle first and is the one Postgres aborts: the case to prove.
    await cancel.query(`set local deadlock_timeout = '30s'`);
    const pid = (await cancel.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    await cancel.query(`select id from job where id = $1 for update`, [parent]);

    // The child resumes and ends: its write waits for the parent's row.
    await outcome.wake(child);
    await untilBlockedBy(pid);

    // The cancel's second half: the parent CANCELLED, whose trigger locks the child's row. Postgres
    // aborts the child's write, which the worker must write again.
    await cancel.query(`update job set status = 'CANCELLED' where id = $1`, [parent]);
    await cancel.query('commit');
  } finally {
    cancel.release();
  }

  // The child's end was written once (run again after the abort); the parent stays CANCELLED.
  await until(child, outcome.finish);
  const events = await db.pool.query<{ status: string; message: string | null }>(
    `select status, message from job_event where job_id = $1 and step_id is null order by id`,
    [child],
  );
  expect(events.rows.map((r) => [r.status, r.status === outcome.finish ? null : r.message])).toEqual([
    ['PENDING', null],
    ['RUNNING', null],
    ['PENDING', outcome.waiting[1]],
    ['PENDING', outcome.woken],
    ['RUNNING', null],
    [outcome.finish, null],
  ]);
  expect((await api.client.request(JobWaitState, { id: parent })).job).toMatchObject({ status: 'CANCELLED', wait: null });
});
