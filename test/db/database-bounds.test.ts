// The API's database pool is bounded (issue 23, item 7): a statement that runs
// past DATABASE_STATEMENT_TIMEOUT_MS is cancelled and answered DATABASE_TIMEOUT
// naming the setting, and a request that finds no free connection within
// DATABASE_POOL_ACQUIRE_TIMEOUT_MS is answered DATABASE_UNAVAILABLE saying the
// database is busy. A worker's pool has neither: a handler's long statement
// runs to its end in the same process (`start`).
import pg from 'pg';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noopHandler } from '../../src/system/handlers.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createJob } from '../support/jobs.ts';
import { CancelJob, JobUpdated } from '../support/operations.ts';
import { eventually } from '../support/wait.ts';

let db: TestDatabase;
const registry = new HandlerRegistry().register(noopHandler).register({
  jobType: 'test.slow_sql',
  description: 'one statement of 1 s',
  payload: z.object({}),
  async handle(_job, ctx) {
    await ctx.db.query('select pg_sleep(1)');
    return { success: true };
  },
});

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** Holds a row lock on the job until the returned function is called. */
async function lockJob(jobId: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query('begin');
  await client.query('select 1 from job where id = $1 for update', [uuidOf(jobId)]);
  return async () => {
    await client.query('rollback');
    await client.end();
  };
}

/** A job that waits (SCHEDULED) for a year, so that nothing but the test touches it. */
const waitingJob = (service: TestApp) =>
  createJob(service.client, { jobType: 'system.noop', scheduledAt: new Date(Date.now() + 365 * 86_400_000).toISOString() });

describe('DATABASE_STATEMENT_TIMEOUT_MS', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = await startTestApp(db.url, { registry, env: { DATABASE_STATEMENT_TIMEOUT_MS: '300' } });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('cancels an API statement that runs longer, answering DATABASE_TIMEOUT naming the setting; nothing changes', async () => {
    const job = await waitingJob(service);
    const release = await lockJob(job.id);
    try {
      const answer = await service.client.send(CancelJob, { id: job.id });
      expect(answer.status).toBe(503);
      expect(answer.body.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/^The database cancelled this request's statement after 300 ms \(DATABASE_STATEMENT_TIMEOUT_MS\)/),
        extensions: { code: 'DATABASE_TIMEOUT', setting: 'DATABASE_STATEMENT_TIMEOUT_MS' },
      });
    } finally {
      await release();
    }
    const { rows } = await db.pool.query(`select status, cancel_requested_at from job where id = $1`, [uuidOf(job.id)]);
    expect(rows).toEqual([{ status: 'SCHEDULED', cancel_requested_at: null }]);
  });

  it("leaves the worker's pool alone: a handler's 1 s statement completes", async () => {
    const job = await createJob(service.client, { jobType: 'test.slow_sql' });
    const updates = service.client.subscribe(JobUpdated, { id: job.id });
    const received = await updates.waitFor('the job to end', (r) => r.some((u) => ['COMPLETED', 'FAILED', 'DEAD_LETTER', 'RETRYING'].includes(u.jobUpdated.status)));
    updates.close();
    expect(received.at(-1)!.jobUpdated.status).toBe('COMPLETED');
  });
});

describe('DATABASE_POOL_ACQUIRE_TIMEOUT_MS', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = await startTestApp(db.url, {
      registry,
      roles: { api: true, worker: false },
      env: { DATABASE_POOL_SIZE: '2', DATABASE_STATEMENT_TIMEOUT_MS: '0', DATABASE_POOL_ACQUIRE_TIMEOUT_MS: '300' },
    });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it("with every connection of the API's pool held, a request is answered DATABASE_UNAVAILABLE: busy, naming the setting; the others finish", async () => {
    const job = await waitingJob(service);
    const release = await lockJob(job.id);
    let held: Array<Awaited<ReturnType<typeof service.client.send>>>;
    try {
      // Two cancels wait on the lock, each holding one of the pool's two connections.
      const holding = [service.client.send(CancelJob, { id: job.id }), service.client.send(CancelJob, { id: job.id })];
      await eventually('both connections to wait on the lock', async () => {
        const { rows } = await db.pool.query(
          `select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'jobwire' and wait_event_type = 'Lock'`,
        );
        return rows[0].n === 2 ? true : undefined;
      });
      const busy = await service.client.send('{ jobs(first: 1) { totalCount } }');
      expect(busy.status).toBe(503);
      expect(busy.headers.get('retry-after')).toBe('2');
      expect(busy.body.errors?.[0]).toMatchObject({
        message:
          "The database is busy: no connection of the API's pool (DATABASE_POOL_SIZE) was free within 300 ms (DATABASE_POOL_ACQUIRE_TIMEOUT_MS); nothing was changed by this request. Retry in a few seconds.",
        extensions: { code: 'DATABASE_UNAVAILABLE', setting: 'DATABASE_POOL_ACQUIRE_TIMEOUT_MS' },
      });
      await release();
      held = await Promise.all(holding);
    } finally {
      await release().catch(() => undefined);
    }
    expect(held.map((answer) => (answer.body.data as any)?.cancelJob.__typename)).toEqual(['MutationCancelJobSuccess', 'MutationCancelJobSuccess']);
  });
});
