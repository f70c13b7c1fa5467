// A tenant's running-job limit (tenant_scheduling.max_running_jobs, set by the
// operator): at most that many of its jobs RUNNING at once across two worker
// processes, the others waiting with TENANT_RUNNING_LIMIT (seen live), without
// spending retries; another tenant's jobs are not held by it; lifting the
// limit lets waiting jobs start.
import { beforeAll, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import type { TestApp } from '../support/app.ts';
import { TEST_ENV } from '../support/app.ts';
import { createFlowJob, startApiAndTwoWorkers } from '../support/flow.ts';
import { FlowJobEvents } from '../support/operations.ts';
import { eventually } from '../support/wait.ts';
import { clearTenantScheduling, setTenantScheduling } from '../../src/flow/tenant-scheduling.ts';
import { loadConfig } from '../../src/service-config.ts';
import { createRegistry } from '../../src/handlers.ts';
import { createJobs } from '../../src/jobs/create.ts';

let db: TestDatabase;
let api: TestApp;

const WAITING = 'waiting: its tenant runs as many jobs as its limit allows';

beforeAll(async () => {
  ({ db, api } = await startApiAndTwoWorkers({ WORKER_CONCURRENCY: '4' }));
});

it('12 jobs of a tenant limited to 2 over two workers of 4 slots: never more than 2 RUNNING (sampled), all complete, no retry spent', async () => {
  // The API's caller without authentication is the local principal, of tenant "default".
  await setTenantScheduling(db.pool, 'default', { maxRunningJobs: 2 });
  const events = api.client.subscribe(FlowJobEvents, { filter: { queueNames: ['limited'] } });
  let most = 0;
  let done = false;
  const sampling = (async () => {
    while (!done) {
      const { rows } = await db.pool.query<{ n: number }>(`select count(*)::int as n from job where tenant_id = 'default' and status = 'RUNNING'`);
      most = Math.max(most, rows[0]!.n);
    }
  })();
  const input = { jobType: 'system.sleep', queueName: 'limited', maxRetries: 0, payload: { ms: 300, ticks: 1 } };
  await Promise.all(Array.from({ length: 12 }, () => createFlowJob(api.client, input)));
  await events.waitFor('all 12 COMPLETED', (r) => r.filter((e) => e.jobEvents.status === 'COMPLETED').length === 12, 60_000);
  done = true;
  await sampling;

  expect(most).toBe(2);
  const { rows } = await db.pool.query(`select status, retry_count from job where queue_name = 'limited' group by 1, 2`);
  expect(rows).toEqual([{ status: 'COMPLETED', retry_count: 0 }]);
  expect(events.received.filter((e) => e.jobEvents.message === WAITING).length).toBeGreaterThan(0);
  // The reason is the job's own field too while it waits: read back from the events' job ids.
  const waited = await db.pool.query<{ n: number }>(
    `select count(distinct job_id)::int as n from job_event e join job on job.id = e.job_id where job.queue_name = 'limited' and e.message = $1`,
    [WAITING],
  );
  expect(waited.rows[0]!.n).toBeGreaterThan(0);
  events.close();
});

it("another tenant's jobs are not held by one tenant's limit", async () => {
  await setTenantScheduling(db.pool, 'default', { maxRunningJobs: 1 });
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: db.url });
  const registry = createRegistry({ pool: db.pool, config });
  const other = { principalId: 'key:other', tenantId: 'other', scopes: new Set(['jobs:write'] as const), expiresAt: null };
  await Promise.all(Array.from({ length: 4 }, () => createFlowJob(api.client, { jobType: 'system.sleep', queueName: 'mixed', payload: { ms: 400 } })));
  await createJobs({ pool: db.pool, registry, config }, other, Array.from({ length: 4 }, () => ({ jobType: 'system.sleep', queueName: 'mixed', payload: { ms: 400 } })));
  // The other tenant's 4 run side by side at some moment (8 slots, only "default" is limited).
  let otherMost = 0;
  let defaultMost = 0;
  await eventually('every job of the queue COMPLETED', async () => {
    const { rows } = await db.pool.query<{ other: number; left: number; default_running: number }>(
      `select count(*) filter (where tenant_id = 'other' and status = 'RUNNING')::int as other,
              count(*) filter (where tenant_id = 'default' and status = 'RUNNING')::int as default_running,
              count(*) filter (where status <> 'COMPLETED')::int as left
         from job where queue_name = 'mixed'`,
    );
    otherMost = Math.max(otherMost, rows[0]!.other);
    defaultMost = Math.max(defaultMost, rows[0]!.default_running);
    return rows[0]!.left === 0 ? true : undefined;
  }, 60_000);
  expect(otherMost).toBeGreaterThan(1);
  expect(defaultMost).toBe(1);
  const { rows } = await db.pool.query<{ n: number }>(`select count(*)::int as n from job_event e join job on job.id = e.job_id where job.tenant_id = 'other' and e.message = $1`, [WAITING]);
  expect(rows[0]!.n).toBe(0);
});

it('lifting the limit lets the waiting jobs start', async () => {
  await setTenantScheduling(db.pool, 'default', { maxRunningJobs: 1 });
  const long = { jobType: 'system.sleep', queueName: 'lift', payload: { ms: 5000 } };
  const jobs = await Promise.all(Array.from({ length: 3 }, () => createFlowJob(api.client, long)));
  await eventually('two jobs waiting for the limit', async () => {
    const { rows } = await db.pool.query<{ n: number }>(`select count(*)::int as n from job where queue_name = 'lift' and waiting_reason = 'TENANT_RUNNING_LIMIT'`);
    return rows[0]!.n === 2 ? true : undefined;
  });
  expect(await clearTenantScheduling(db.pool, 'default')).toBe(true);
  await eventually('all three RUNNING at once', async () => {
    const { rows } = await db.pool.query<{ n: number }>(`select count(*)::int as n from job where queue_name = 'lift' and status = 'RUNNING'`);
    return rows[0]!.n === 3 ? true : undefined;
  });
  expect(jobs).toHaveLength(3);
});
