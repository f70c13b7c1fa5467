// Aging (docs/fairness.md): a due job behind higher-priority ones moves one
// priority up per step waited, across all workers one sweep per step, up to the
// best priority due, where it takes the next turn; and, end to end, a
// priority-0 job runs while a steady stream of priority-10 jobs still has
// jobs queued.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, TEST_ENV } from '../support/app.ts';
import { eventually } from '../support/wait.ts';
import { loadConfig } from '../../src/service-config.ts';
import { createRegistry } from '../../src/handlers.ts';
import { createJobs, type CreateJobInput } from '../../src/jobs/create.ts';
import { LOCAL_PRINCIPAL } from '../../src/auth/principal.ts';
import { ageWaitingEntries } from '../../src/flow/aging.ts';

let db: TestDatabase;
let create: (inputs: CreateJobInput[]) => Promise<string[]>;

beforeAll(async () => {
  db = await createTestDatabase();
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: db.url });
  const registry = createRegistry({ pool: db.pool, config });
  create = (inputs) => createJobs({ pool: db.pool, registry, config }, LOCAL_PRINCIPAL, inputs, 'jobs');
});
afterAll(async () => {
  await db?.drop();
});

/** graphile-worker's priority and run_at of each job's queue entry, by job id. */
async function entries(jobIds: string[]) {
  const { rows } = await db.pool.query<{ id: string; priority: number; run_at: Date }>(
    `select job.id, e.priority, e.run_at from job join graphile_worker._private_jobs as e on e.id = job.queue_entry_id where job.id = any($1::uuid[])`,
    [jobIds],
  );
  return new Map(rows.map((row) => [row.id, row]));
}

it('moves waiting entries up one priority per sweep, one sweep per step across callers, up to the best due priority and its next turn', async () => {
  const [stream1, stream2] = await create([{ jobType: 'system.noop', priority: 10 }, { jobType: 'system.noop', priority: 10 }]);
  const [low, middle] = await create([{ jobType: 'system.noop', priority: 7 }, { jobType: 'system.noop', priority: 9 }]);
  // They have waited a minute (as if created then); a job created now has not waited a step.
  await db.pool.query(`update graphile_worker._private_jobs set created_at = created_at - interval '1 minute', run_at = run_at - interval '1 minute'`);
  const [fresh] = await create([{ jobType: 'system.noop', priority: 0 }]);
  const sweep = async () => {
    await db.pool.query(`update job_aging_sweep set swept_at = swept_at - interval '1 hour'`);
    return ageWaitingEntries(db.pool, 1000);
  };

  expect(await sweep()).toBe(2);
  let now = await entries([stream1!, stream2!, low!, middle!, fresh!]);
  expect([now.get(low!)!.priority, now.get(middle!)!.priority, now.get(stream1!)!.priority, now.get(fresh!)!.priority]).toEqual([-8, -10, -10, 0]);
  // The middle job reached the best priority: it has the next turn there (the stream's first).
  expect(now.get(middle!)!.run_at.getTime()).toBeLessThanOrEqual(Math.min(now.get(stream1!)!.run_at.getTime(), now.get(stream2!)!.run_at.getTime()));
  // A second worker within the same step: nothing.
  expect(await ageWaitingEntries(db.pool, 1000)).toBe(0);

  expect(await sweep()).toBe(1);
  expect(await sweep()).toBe(1);
  now = await entries([low!, fresh!, stream1!]);
  expect(now.get(low!)!.priority).toBe(-10);
  expect(now.get(low!)!.run_at.getTime()).toBeLessThanOrEqual(now.get(stream1!)!.run_at.getTime());
  // Never past the best due priority; the fresh job has not waited a step.
  expect(await sweep()).toBe(0);
  expect((await entries([low!, fresh!])).get(fresh!)!.priority).toBe(0);
  // The jobs' own priorities are unchanged.
  const { rows } = await db.pool.query<{ priority: number }>(`select priority from job where id = any($1::uuid[]) order by priority`, [[low, middle]]);
  expect(rows.map((r) => r.priority)).toEqual([7, 9]);
  await db.pool.query(`delete from graphile_worker._private_jobs`);
  await db.pool.query(`delete from job`);
});

it('a priority-0 job runs while a steady stream of priority-10 jobs keeps one worker busy', async () => {
  const worker = await startTestApp(db.url, {
    roles: { api: false, worker: true },
    env: { WORKER_CONCURRENCY: '1', WORKER_RUNNING_WRITE_DELAY_MS: '0', JOB_AGING_STEP_MS: '100' },
  });
  const sleep = (priority: number) => ({ jobType: 'system.sleep', queueName: 'stream', priority, payload: { ms: 30 } });
  // The stream: 3 jobs of 30 ms every 30 ms for one slot, so a backlog of priority 10 never drains.
  await create(Array.from({ length: 20 }, () => sleep(10)));
  const [low] = await create([sleep(0)]);
  let queuedAtStart: number | undefined;
  let created = 21;
  while (queuedAtStart === undefined) {
    if (created > 3000) throw new Error('the priority-0 job did not start among 3000 jobs of the stream');
    await create(Array.from({ length: 3 }, () => sleep(10)));
    created += 3;
    const { rows } = await db.pool.query<{ started: boolean; queued: number }>(
      `select (select status from job where id = $1) <> 'PENDING' as started,
              (select count(*)::int from job where queue_name = 'stream' and priority = 10 and status = 'PENDING') as queued`,
      [low],
    );
    if (rows[0]!.started) queuedAtStart = rows[0]!.queued;
    else await new Promise((resolve) => setTimeout(resolve, 30));
  }
  // It started while the stream still had priority-10 jobs waiting (it was not left for the stream to end).
  expect(queuedAtStart).toBeGreaterThan(0);
  await eventually('the stream drained', async () => {
    const { rows } = await db.pool.query<{ left: number }>(`select count(*)::int as left from job where queue_name = 'stream' and status <> 'COMPLETED'`);
    return rows[0]!.left === 0 ? true : undefined;
  }, 120_000);
  await worker.stop();
});
