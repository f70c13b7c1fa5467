// Issue 27's target for events, with every process separate: two API
// processes (`jobwire serve`) and two worker processes (the app's worker role
// as `jobwire work` starts it, with the test job types: test/support/worker-process.ts;
// `work` itself hosts only the built-in types, none of which waits). An event
// sent in a transaction that rolls back wakes nothing; committed, it wakes
// exactly the matching jobs, once, also when both APIs send it at the same time.
import { beforeAll, expect, it } from 'vitest';
import { uuidOf } from '../../src/testing/global-id.ts';
import { spawnWorker } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { CreateJobFlow } from '../support/operations.ts';
import { SendEvent } from '../support/operations-waits.ts';
import { spawnApi, type ChildApi } from '../support/processes.ts';
import { eventually } from '../support/wait.ts';

const WORKER_SCRIPT = ['test/support/worker-process.ts'];
// As waits.test.ts: a loaded machine must not take a busy worker for dead (the APIs sweep dead workers too).
const WORKER_ENV = { WORKER_DEAD_AFTER_MS: '15000' };
let db: TestDatabase;
let apis: ChildApi[];

beforeAll(async () => {
  db = await createTestDatabase();
  apis = [await spawnApi(db.url, WORKER_ENV), await spawnApi(db.url, WORKER_ENV)];
  // One after the other: two starting at once on a loaded machine can exceed the start timeout.
  await spawnWorker(db.url, WORKER_ENV, WORKER_SCRIPT);
  await spawnWorker(db.url, WORKER_ENV, WORKER_SCRIPT);
}, 120_000);

const count = async (sql: string, values: unknown[] = []) => (await db.pool.query<{ n: number }>(sql, values)).rows[0]!.n;

it('an event in a rolled-back transaction wakes nothing; committed, from two API processes at once, it wakes exactly the matching jobs, once', async () => {
  // 16 jobs, created through both APIs, each waiting for order.paid of its order (0-3).
  const byOrder = new Map<number, string[]>();
  for (let n = 0; n < 16; n++) {
    const orderId = n % 4;
    const result = await apis[n % 2]!.client.request(CreateJobFlow, { input: { jobType: 'test.wait_for_event', payload: { event: 'order.paid', match: { orderId } } } });
    if (result.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(result.createJob));
    byOrder.set(orderId, [...(byOrder.get(orderId) ?? []), uuidOf(result.createJob.data.id)]);
  }
  const all = [...byOrder.values()].flat();
  await eventually('every job waiting for its event', async () =>
    (await count(`select count(*)::int as n from job where id = any($1::uuid[]) and status = 'PENDING' and waiting_reason = 'EVENT'`, [all])) === 16 ? true : undefined,
    60_000,
  );
  // Waiting holds no worker slot: each job's own queue entry is free, and the entries of the attempts that ended go once graphile-worker finishes them.
  expect(await count(`select count(*)::int as n from job j join graphile_worker._private_jobs e on e.id = j.queue_entry_id where j.id = any($1::uuid[]) and e.locked_at is not null`, [all])).toBe(0);
  await eventually('no queue entry locked', async () => ((await count(`select count(*)::int as n from graphile_worker._private_jobs where locked_at is not null`)) === 0 ? true : undefined));

  // In the app's transaction, rolled back: it would have woken four; it woke none.
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    expect((await client.query(`select send_event('order.paid', '{"orderId": 0}') as n`)).rows[0].n).toBe(4);
    await client.query('rollback');
  } finally {
    client.release();
  }
  expect(await count(`select count(*)::int as n from job_wait where job_id = any($1::uuid[])`, [all])).toBe(16);

  // Both APIs send order 1's event at the same moment, and API 2 order 2's: 4 + 4 woken in all, each once.
  const [first, second, other] = await Promise.all([
    apis[0]!.client.request(SendEvent, { input: { name: 'order.paid', data: { orderId: 1, from: 'api-1' } } }),
    apis[1]!.client.request(SendEvent, { input: { name: 'order.paid', data: { orderId: 1, from: 'api-2' } } }),
    apis[1]!.client.request(SendEvent, { input: { name: 'order.paid', data: { orderId: 2, from: 'api-2' } } }),
  ]);
  const woken = (answer: typeof first) => (answer.sendEvent.__typename === 'MutationSendEventSuccess' ? answer.sendEvent.data.wokenJobCount : NaN);
  expect(woken(first) + woken(second)).toBe(4);
  expect(woken(other)).toBe(4);

  const matching = [...byOrder.get(1)!, ...byOrder.get(2)!];
  await eventually('the woken jobs to complete', async () =>
    (await count(`select count(*)::int as n from job where id = any($1::uuid[]) and status = 'COMPLETED'`, [matching])) === 8 ? true : undefined,
    60_000,
  );
  for (const id of matching) {
    // Woken once, run once after the wait: one "received" event, two RUNNING in all (before and after the wait).
    const { rows } = await db.pool.query<{ status: string; message: string | null }>(`select status, message from job_event where job_id = $1 and step_id is null order by id`, [id]);
    expect(rows.filter((row) => row.message === 'event order.paid received')).toHaveLength(1);
    expect(rows.filter((row) => row.status === 'RUNNING')).toHaveLength(2);
    expect(rows.at(-1)!.status).toBe('COMPLETED');
  }
  const { rows: results } = await db.pool.query<{ orderId: number; from: string }>(
    `select (result->'waited'->'data'->>'orderId')::int as "orderId", result->'waited'->'data'->>'from' as from from job where id = any($1::uuid[])`,
    [matching],
  );
  expect(results.filter((row) => row.orderId === 2).map((row) => row.from)).toEqual(['api-2', 'api-2', 'api-2', 'api-2']);
  // Order 1's four were each woken by one of the two sends, whichever deleted its wait first.
  expect(results.filter((row) => row.orderId === 1).every((row) => row.from === 'api-1' || row.from === 'api-2')).toBe(true);

  // The others still wait, untouched.
  const others = [...byOrder.get(0)!, ...byOrder.get(3)!];
  expect(await count(`select count(*)::int as n from job where id = any($1::uuid[]) and status = 'PENDING' and waiting_reason = 'EVENT'`, [others])).toBe(8);
  expect(await count(`select count(*)::int as n from job_wait where job_id = any($1::uuid[])`, [others])).toBe(8);
}, 120_000);
