// add_job: an app enqueues inside its own transaction, through its own pg
// client. Both or neither commit; subscribers see the job only once it did;
// it writes what createJob writes; bad input is refused by name and writes nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { CreateJobFlow, JobFlowState } from '../support/operations.ts';
import { OpenJobEvents } from '../support/operations-open.ts';
import { eventually } from '../support/wait.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { addJob, AddJobError } from '../../src/enqueue/add-job.ts';
import type { JobHandler } from '../../src/core/handler.ts';
import { jobTaskIdentifier } from '../../src/job-state/queue-entry.ts';

const shipPayload = z.object({ orderId: z.number().int(), amount: z.number().positive(), note: z.string().max(20).optional() });

const shipOrderHandler: JobHandler<z.infer<typeof shipPayload>> = {
  jobType: 'test.ship_order',
  description: 'Ships an order (completes at once with the order id).',
  payload: shipPayload,
  steps: ['pack', 'send'],
  async handle(job, ctx) {
    await ctx.step('pack', async () => ({ packed: true }));
    await ctx.step('send', async () => ({ sent: true }));
    return { success: true, resultData: { shipped: job.payload.orderId } };
  },
};

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  // The app's own table, written in the same transactions as its jobs.
  await db.pool.query('create table orders (id integer primary key)');
  // A kind's job type, as a worker serving the import kind registers it (this file's worker serves plain types only).
  await db.pool.query(`insert into job_type (name, kind, payload_schema) values ('import.qa_pairs', 'IMPORT', '{"type": "object"}')`);
  api = await startTestApp(db.url, {
    registry: createTestRegistry().register(shipOrderHandler),
    env: { WORKER_CONCURRENCY: '16' },
  });
});

/** Runs fn in a transaction of the app's own client, then commits or rolls back. */
async function inTransaction<T>(end: 'commit' | 'rollback', fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query(end);
    return result;
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

/** What a create writes (events and queue entries belong to a job, or are orphans). Other jobs may still run meanwhile. */
async function counts() {
  const { rows } = await db.pool.query(
    `select (select count(*) from job)::int as jobs,
            (select count(*) from graphile_worker._private_jobs as entry
              where not exists (select from job where job.id::text = entry.payload->>'jobId'))::int as "orphanQueueEntries",
            (select count(*) from job_event where not exists (select from job where job.id = job_event.job_id))::int as "orphanEvents",
            (select count(*) from job_step)::int as steps,
            (select count(*) from job_idempotency_key)::int as keys,
            (select count(*) from orders)::int as orders`,
  );
  return rows[0] as Record<string, number>;
}

async function refusal(promise: Promise<unknown>): Promise<AddJobError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof AddJobError)) throw new Error(`expected an AddJobError, got ${String(error)}`);
  return error;
}

describe('in the app transaction', () => {
  it('a rollback leaves no job, no queue entry, no step, no event, no key (and no order)', async () => {
    const before = await counts();
    const inside = await inTransaction('rollback', async (client) => {
      await client.query('insert into orders (id) values (1)');
      const id = await addJob(client, 'test.ship_order', { orderId: 1, amount: 10 }, { idempotencyKey: 'order-1' });
      // Written, as its own transaction sees it.
      const { rows } = await client.query(
        `select (select count(*) from job where id = $1)::int as job,
                (select count(*) from graphile_worker._private_jobs where payload->>'jobId' = $1::text)::int as entry,
                (select count(*) from job_event where job_id = $1)::int as events,
                (select count(*) from job_step where job_id = $1)::int as steps`,
        [id],
      );
      return rows[0];
    });
    // Three events: the job's, and one per step (as createJob writes them).
    expect(inside).toEqual({ job: 1, entry: 1, events: 3, steps: 2 });
    expect(await counts()).toEqual(before);
  });

  it('a commit makes the job, which runs; a graphql-ws subscriber sees it only after the commit', async () => {
    const events = api.client.subscribe(OpenJobEvents, { filter: { jobTypes: ['test.ship_order'] } });
    let committing = false;
    let seenBeforeCommit = false;
    const client = await db.pool.connect();
    let id: string;
    try {
      await client.query('begin');
      await client.query('insert into orders (id) values (2)');
      id = await addJob(client, 'test.ship_order', { orderId: 2, amount: 20 });
      // While it is open, nobody else sees the job: not the API, not a worker,
      // while the worker runs another job created (and committed) meanwhile.
      expect((await api.client.request(JobFlowState, { id: Buffer.from(`PlainJob:${id}`).toString('base64') })).job).toBeNull();
      const other = await api.client.request(CreateJobFlow, { input: { jobType: 'system.noop' } });
      if (other.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(other.createJob));
      const otherId = uuidOf(other.createJob.data.id);
      await eventually('the other job to complete', async () =>
        (await db.pool.query(`select 1 from job where id = $1 and status = 'COMPLETED'`, [otherId])).rowCount ? true : undefined,
      );
      expect((await db.pool.query('select count(*)::int as n from job where id = $1', [id])).rows[0].n).toBe(0);
      seenBeforeCommit = events.received.some((event) => uuidOf(event.jobEvents.job.id) === id);
      committing = true;
      await client.query('commit');
    } finally {
      if (!committing) await client.query('rollback');
      client.release();
    }
    expect(seenBeforeCommit).toBe(false);
    const received = await events.waitFor('the committed job to complete', (all) =>
      all.some((event) => uuidOf(event.jobEvents.job.id) === id && !event.jobEvents.step && event.jobEvents.status === 'COMPLETED'),
    );
    // The job's own status changes, in order (its steps have events of their own).
    const statuses = received.filter((event) => uuidOf(event.jobEvents.job.id) === id && !event.jobEvents.step).map((event) => event.jobEvents.status);
    expect(statuses.filter((status, index) => status !== statuses[index - 1])).toEqual(['PENDING', 'RUNNING', 'COMPLETED']);
    const { rows } = await db.pool.query(`select status, result, created_by as "createdBy" from job where id = $1`, [id]);
    expect(rows[0]).toMatchObject({ status: 'COMPLETED', result: { shipped: 2 }, createdBy: expect.stringMatching(/^sql:/) });
    expect((await db.pool.query('select count(*)::int as n from orders where id = 2')).rows[0].n).toBe(1);
  });
});

describe('the same rows as createJob', () => {
  it('job row, queue entry, steps and first event match a createJob with the same options', async () => {
    // Tags with a repeat: both keep the first of each, in order.
    const options = { queueName: 'shipping', priority: 7, maxRetries: 2, timeoutMs: 5000, concurrencyKey: 'customer-9', metadata: { source: 'shop' }, tags: ['customer:9', 'nightly', 'customer:9'] };
    const scheduledAt = new Date(Date.now() + 3_600_000);
    const viaApi = await api.client.request(CreateJobFlow, {
      input: { jobType: 'test.ship_order', payload: { orderId: 3, amount: 5 }, ...options, scheduledAt: scheduledAt.toISOString() },
    });
    if (viaApi.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(viaApi.createJob));
    const viaSql = await addJob(db.pool, 'test.ship_order', { orderId: 3, amount: 5 }, { ...options, scheduledAt });
    const read = async (id: string) => {
      const { rows } = await db.pool.query(
        `select job.kind, job.queue_name, job.job_type, job.payload, job.priority, job.max_retries, job.scheduled_at, job.status,
                job.metadata, job.tenant_id, job.waiting_reason, job.timeout_ms, job.concurrency_key, job.concurrency_limit, job.tags,
                entry.task_identifier, entry.priority as entry_priority, entry.max_attempts, entry.run_at, entry.queue_name as entry_queue,
                entry.key as entry_key,
                (select array_agg(name order by position) from job_step where job_id = job.id) as steps,
                (select array_agg(status::text || ':' || coalesce(message, '') order by id) from job_event where job_id = job.id) as events
           from job join graphile_worker.jobs as entry on entry.id = job.queue_entry_id
          where job.id = $1`,
        [id],
      );
      return rows[0];
    };
    const sqlRow = await read(viaSql);
    expect(sqlRow).toEqual(await read(uuidOf(viaApi.createJob.data.id)));
    expect(sqlRow).toMatchObject({ status: 'SCHEDULED', steps: ['pack', 'send'], tags: ['customer:9', 'nightly'], task_identifier: jobTaskIdentifier('test.ship_order', 'shipping') });
  });

  it('an idempotency key the tenant holds answers its job and writes nothing more', async () => {
    const first = await addJob(db.pool, 'test.ship_order', { orderId: 4, amount: 1 }, { idempotencyKey: 'ship-4' });
    const before = await counts();
    expect(await addJob(db.pool, 'test.ship_order', { orderId: 4, amount: 1 }, { idempotencyKey: 'ship-4' })).toBe(first);
    const viaApi = await api.client.request(CreateJobFlow, { input: { jobType: 'test.ship_order', payload: { orderId: 4, amount: 1 }, idempotencyKey: 'ship-4' } });
    expect(viaApi.createJob).toMatchObject({ created: false });
    expect(await counts()).toEqual(before);
  });

  it('dependsOn: the job waits for its dependency, then runs', async () => {
    const blocker = await addJob(db.pool, 'system.sleep', { ms: 60_000, ticks: 1 }, { scheduledAt: new Date(Date.now() + 3_600_000) });
    const dependent = await addJob(db.pool, 'test.ship_order', { orderId: 5, amount: 1 }, { dependsOn: [blocker] });
    const { rows } = await db.pool.query(`select status, waiting_reason from job where id = $1`, [dependent]);
    expect(rows[0]).toEqual({ status: 'PENDING', waiting_reason: 'DEPENDENCIES' });
    // The blocker ends COMPLETED (as if it ran): its dependent is released and runs.
    await db.pool.query(`update job set status = 'RUNNING', started_at = now() where id = $1`, [blocker]);
    await db.pool.query(`update job set status = 'COMPLETED', completed_at = now() where id = $1`, [blocker]);
    await eventually('the dependent to complete', async () =>
      (await db.pool.query(`select 1 from job where id = $1 and status = 'COMPLETED'`, [dependent])).rowCount ? true : undefined,
    );
  });
});

describe('refusals name what is wrong and write nothing', () => {
  it.each([
    ['a payload of the wrong type', 'test.ship_order', { orderId: 6, amount: 'ten' }, {}, 'payload.amount', 'payload.amount: expected number, got string'],
    ['a payload missing a property', 'test.ship_order', { amount: 1 }, {}, 'payload.orderId', 'payload.orderId: is required'],
    ['a payload out of bounds', 'test.ship_order', { orderId: 6, amount: 1, note: 'x'.repeat(21) }, {}, 'payload.note', 'payload.note: must be at most 20 characters'],
    ['an unknown job type', 'test.nobody_serves_this', {}, {}, 'jobType', 'jobType: unknown job type "test.nobody_serves_this"; no worker has registered it'],
    ['an unknown tenant', 'test.ship_order', { orderId: 6, amount: 1 }, { tenantId: 'no-such-tenant' }, 'options.tenantId', 'options.tenantId: no tenant "no-such-tenant"'],
    ['an option add_job does not support', 'test.ship_order', { orderId: 6, amount: 1 }, { runAt: 'soon', webhook: 'x' }, 'options', /^options: runAt, webhook not supported by add_job \(supported: tenantId, /],
    ['a priority out of bounds', 'test.ship_order', { orderId: 6, amount: 1 }, { priority: 5000 }, 'options.priority', 'options.priority: must be at most 1000'],
    ['a bad queue name', 'test.ship_order', { orderId: 6, amount: 1 }, { queueName: '-x' }, 'options.queueName', /^options.queueName: must be 1-64 letters/],
    ['a dependency that does not exist', 'test.ship_order', { orderId: 6, amount: 1 }, { dependsOn: ['00000000-0000-4000-8000-000000000000'] }, 'options.dependsOn.0', /^options.dependsOn.0: no job with id /],
    ['a rate limit of 0 starts', 'test.ship_order', { orderId: 6, amount: 1 }, { rateLimit: { key: 'k', maxStarts: 0, intervalMs: 1000 } }, 'options.rateLimit.maxStarts', 'options.rateLimit.maxStarts: must be at least 1'],
    ['a rate limit without a key', 'test.ship_order', { orderId: 6, amount: 1 }, { rateLimit: { maxStarts: 1, intervalMs: 1000 } }, 'options.rateLimit.key', 'options.rateLimit.key: must be 1-200 characters'],
    ['a bad tag', 'test.ship_order', { orderId: 6, amount: 1 }, { tags: ['ok', 'not ok'] }, 'options.tags.1', 'options.tags.1: must be 1-64 letters, digits or _.:=/- and start with a letter or digit'],
    ['a tag that is no string', 'test.ship_order', { orderId: 6, amount: 1 }, { tags: [42] }, 'options.tags.0', /^options.tags.0: must be 1-64 letters/],
    ['tags that are no list', 'test.ship_order', { orderId: 6, amount: 1 }, { tags: 'nightly' }, 'options.tags', 'options.tags: must be a JSON array, got string'],
    ['21 tags', 'test.ship_order', { orderId: 6, amount: 1 }, { tags: Array.from({ length: 21 }, (_, n) => `t${n}`) }, 'options.tags', 'options.tags: must have at most 20 tags'],
    ['a job type of a kind', 'import.qa_pairs', {}, {}, 'jobType', /^jobType: jobs of type "import.qa_pairs" are IMPORT jobs and have their own create mutation$/],
  ])('%s', async (_what, jobType, payload, options, field, message) => {
    const before = await counts();
    const error = await refusal(
      inTransaction('commit', async (client) => {
        await client.query('insert into orders (id) values (6)');
        return addJob(client, jobType, payload as Record<string, unknown>, options as never);
      }),
    );
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(await counts()).toEqual(before);
  });

  it('a tenant that an API key names is accepted, and owns the job', async () => {
    await db.pool.query(
      `insert into api_key (id, name, tenant_id, scopes, secret_hash) values ('k1', 'shop', 'acme', '{jobs:write}', '\\x00')`,
    );
    const id = await addJob(db.pool, 'test.ship_order', { orderId: 7, amount: 1 }, { tenantId: 'acme', scheduledAt: new Date(Date.now() + 3_600_000) });
    expect((await db.pool.query('select tenant_id from job where id = $1', [id])).rows[0].tenant_id).toBe('acme');
  });
});

it('a rateLimit is stored as createJob stores it', async () => {
  const id = await addJob(db.pool, 'test.ship_order', { orderId: 8, amount: 1 }, { rateLimit: { key: 'customer-8', maxStarts: 3, intervalMs: 1000 } });
  const { rows } = await db.pool.query('select rate_limit_key, rate_limit_max_starts, rate_limit_interval_ms from job where id = $1', [id]);
  expect(rows[0]).toEqual({ rate_limit_key: 'customer-8', rate_limit_max_starts: 3, rate_limit_interval_ms: 1000 });
});

describe('many', () => {
  it('10,000 jobs added in one transaction all run', async () => {
    const total = 10_000;
    const ids = await inTransaction('commit', async (client) => {
      await client.query('insert into orders (id) select 1000 + i from generate_series(1, $1::int) as i', [total]);
      const { rows } = await client.query<{ id: string }>(
        `select add_job('system.noop', jsonb_build_object('orderId', 1000 + i)) as id from generate_series(1, $1::int) as i`,
        [total],
      );
      return rows.map((row) => row.id);
    });
    expect(new Set(ids).size).toBe(total);
    await eventually(
      `${total} jobs to complete`,
      async () => {
        const { rows } = await db.pool.query(`select count(*)::int as n from job where id = any($1::uuid[]) and status = 'COMPLETED'`, [ids]);
        return rows[0].n === total ? true : undefined;
      },
      240_000,
    );
    const { rows } = await db.pool.query(`select count(*)::int as n from job_event where job_id = any($1::uuid[])`, [ids]);
    expect(rows[0].n).toBe(3 * total);
  }, 300_000);
});
