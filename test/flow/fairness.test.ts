// Fairness between tenants in one queue (docs/fairness.md): workers take the
// tenants' due jobs in turn, in proportion to the operator's weights, however
// large one tenant's backlog; every job still runs once with its whole history.
// Jobs are created before a worker with one slot starts, so the order of
// started_at is the order the take chose (RUNNING is written at the start).
import pg, { type Pool } from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, TEST_ENV } from '../support/app.ts';
import { eventually } from '../support/wait.ts';
import { loadConfig } from '../../src/service-config.ts';
import { createRegistry } from '../../src/handlers.ts';
import { createJobs } from '../../src/jobs/create.ts';
import type { Principal } from '../../src/auth/principal.ts';
import { setTenantScheduling } from '../../src/flow/tenant-scheduling.ts';
import type { CreateJobInput } from '../../src/jobs/create.ts';

let db: TestDatabase;
let create: (tenantId: string, inputs: CreateJobInput[]) => Promise<string[]>;
/** Creates as `create` does on connections with turns off, as an operator sets them (jobwire.tenant_turns = off, docs/fairness.md). */
let createWithoutTurns: typeof create;
let poolWithoutTurns: Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: db.url, ALLOW_UNKNOWN_JOB_TYPES: 'true' });
  const registry = createRegistry({ pool: db.pool, config });
  const creator = (pool: Pool) => (tenantId: string, inputs: CreateJobInput[]) => {
    const caller: Principal = { principalId: `key:${tenantId}`, tenantId, scopes: new Set(['jobs:write', 'jobs:read']), expiresAt: null };
    return createJobs({ pool, registry, config }, caller, inputs, 'jobs');
  };
  // The database's defaults: turns are on unless the operator turns them off.
  create = creator(db.pool);
  poolWithoutTurns = new pg.Pool({ connectionString: db.url, options: '-c jobwire.tenant_turns=off', max: 2 });
  createWithoutTurns = creator(poolWithoutTurns);
});
afterAll(async () => {
  await poolWithoutTurns?.end();
  await db?.drop();
});

const noop = (queueName: string, extra: Partial<CreateJobInput> = {}): CreateJobInput => ({ jobType: 'system.noop', queueName, ...extra });
const times = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));

/** Runs the queue's jobs on one worker with one slot; answers their tenants in the order they started. */
async function runInStartOrder(queueName: string, env: Record<string, string> = {}): Promise<string[]> {
  const worker = await startTestApp(db.url, {
    roles: { api: false, worker: true },
    env: { WORKER_CONCURRENCY: '1', WORKER_RUNNING_WRITE_DELAY_MS: '0', ...env },
  });
  await eventually('every job of the queue COMPLETED', async () => {
    const { rows } = await db.pool.query<{ left: number }>(`select count(*)::int as left from job where queue_name = $1 and status <> 'COMPLETED'`, [queueName]);
    return rows[0]!.left === 0 ? true : undefined;
  }, 60_000);
  await worker.stop();
  const { rows } = await db.pool.query<{ tenant_id: string }>(`select tenant_id from job where queue_name = $1 order by started_at, id`, [queueName]);
  return rows.map((row) => row.tenant_id);
}

/** The most by which a tenant's starts ran ahead of (or behind) its share, over every prefix of the order. */
function worstLead(order: readonly string[], shares: Record<string, number>, upTo = order.length): number {
  const total = Object.values(shares).reduce((a, b) => a + b, 0);
  const counts: Record<string, number> = {};
  let worst = 0;
  order.slice(0, upTo).forEach((tenant, index) => {
    counts[tenant] = (counts[tenant] ?? 0) + 1;
    for (const [t, share] of Object.entries(shares)) {
      worst = Math.max(worst, Math.abs((counts[t] ?? 0) - ((index + 1) * share) / total));
    }
  });
  return worst;
}

it('two tenants: a backlog created first and jobs created after it, one by one, start in turn', async () => {
  await create('acme', times(20, () => noop('shared-2')));
  for (let i = 0; i < 20; i++) await create('globex', [noop('shared-2')]);
  const order = await runInStartOrder('shared-2');
  expect(order).toHaveLength(40);
  // While both have due jobs (the first 40 - a few), neither gets more than 2 starts ahead of its half.
  expect(worstLead(order, { acme: 1, globex: 1 }, 36)).toBeLessThanOrEqual(2);
});

it('without turns (jobwire.tenant_turns = off) the same creates run tenant after tenant: what the test above tells apart', async () => {
  await createWithoutTurns('acme', times(20, () => noop('shared-off')));
  for (let i = 0; i < 20; i++) await createWithoutTurns('globex', [noop('shared-off')]);
  const order = await runInStartOrder('shared-off');
  expect(order.slice(0, 20)).toEqual(times(20, () => 'acme'));
  expect(worstLead(order, { acme: 1, globex: 1 })).toBeGreaterThan(5);
});

it('a job created while nothing is queued at its priority is due at once: its queue entry run_at is its create time, as without turns', async () => {
  // Priority 7: no other test queues jobs there, so nothing is available at it.
  const [lone] = await create('acme', [noop('lone', { priority: 7 })]);
  const { rows } = await db.pool.query<{ dueAtCreate: boolean }>(
    `select e.run_at = j.created_at as "dueAtCreate" from job as j join graphile_worker._private_jobs as e on e.id = j.queue_entry_id where j.id = $1`,
    [lone],
  );
  expect(rows[0]!.dueAtCreate).toBe(true);
  // Behind a backlog of another tenant at that priority, the same create takes a turn (not now).
  await create('big7', times(30, () => noop('lone', { priority: 7 })));
  const [behind] = await create('acme', [noop('lone', { priority: 7 })]);
  const { rows: turned } = await db.pool.query<{ dueAtCreate: boolean }>(
    `select e.run_at = j.created_at as "dueAtCreate" from job as j join graphile_worker._private_jobs as e on e.id = j.queue_entry_id where j.id = $1`,
    [behind],
  );
  expect(turned[0]!.dueAtCreate).toBe(false);
  await runInStartOrder('lone');
});

it('weights 2 and 1: the weight-2 tenant gets two starts for each of the other one while both have due jobs', async () => {
  await setTenantScheduling(db.pool, 'heavy', { weight: 2 });
  await create('light', times(30, () => noop('weighted')));
  await create('heavy', times(40, () => noop('weighted')));
  const order = await runInStartOrder('weighted');
  // The first 45 starts: both still have due jobs (heavy's 40 at 2:1 last ~60 starts).
  expect(worstLead(order, { heavy: 2, light: 1 }, 45)).toBeLessThanOrEqual(2);
  const first45 = order.slice(0, 45);
  expect(first45.filter((t) => t === 'heavy').length).toBeGreaterThanOrEqual(28);
  expect(first45.filter((t) => t === 'heavy').length).toBeLessThanOrEqual(32);
});

it('three tenants of weight 1 created one after the other take turns round-robin', async () => {
  await create('t1', times(15, () => noop('three')));
  await create('t2', times(15, () => noop('three')));
  await create('t3', times(15, () => noop('three')));
  const order = await runInStartOrder('three');
  expect(worstLead(order, { t1: 1, t2: 1, t3: 1 }, 42)).toBeLessThanOrEqual(2);
});

it("one tenant's job created after another's 300-job backlog is among the next few starts", async () => {
  await create('big', times(300, () => noop('backlog')));
  const [small] = await create('small', [noop('backlog')]);
  const order = await runInStartOrder('backlog');
  expect(order.indexOf('small')).toBeLessThan(3);
  // Its whole history: queued (waiting for a worker to register, then no longer), running, completed.
  const { rows } = await db.pool.query<{ status: string; message: string | null }>(
    `select status, message from job_event where job_id = $1 and step_id is null order by tx_id, id`,
    [small],
  );
  expect(rows.map((r) => r.status)).toEqual(['PENDING', 'PENDING', 'RUNNING', 'COMPLETED']);
  expect(rows[1]!.message).toBe('no longer waiting');
});

it('priority still comes first: a higher-priority job of the backlogged tenant is not put behind its backlog', async () => {
  await create('big2', times(50, () => noop('prio')));
  await create('big2', [noop('prio', { priority: 5, metadata: { mark: 'urgent' } })]);
  await runInStartOrder('prio');
  const { rows } = await db.pool.query<{ urgent: boolean }>(`select metadata ? 'mark' as urgent from job where queue_name = 'prio' order by started_at limit 1`);
  expect(rows[0]!.urgent).toBe(true);
});

it('the job history stays complete: every job of the fair runs was queued, then ran once and completed once', async () => {
  // Created before any worker registered: PENDING (no worker), PENDING (no longer waiting) for most.
  const { rows } = await db.pool.query<{ n: number }>(
    `select count(*)::int as n from job
      where queue_name in ('shared-2', 'weighted', 'three', 'backlog', 'prio')
        and (select array_agg(e.status::text order by e.tx_id, e.id) from job_event e where e.job_id = job.id and e.step_id is null)
            not in (array['PENDING', 'RUNNING', 'COMPLETED'], array['PENDING', 'PENDING', 'RUNNING', 'COMPLETED'])`,
  );
  expect(rows[0]!.n).toBe(0);
  const { rows: counted } = await db.pool.query<{ n: number }>(`select count(*)::int as n from job where queue_name in ('shared-2', 'weighted', 'three', 'backlog', 'prio')`);
  expect(counted[0]!.n).toBe(40 + 70 + 45 + 301 + 51);
});
