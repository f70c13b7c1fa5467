// Concurrency keys: at most `concurrencyLimit` jobs with one key RUNNING at
// once across two worker processes; the others wait without spending retries.
import { beforeAll, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import type { TestApp } from '../support/app.ts';
import { createFlowJob, startApiAndTwoWorkers } from '../support/flow.ts';
import { FlowJobEvents } from '../support/operations.ts';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  ({ db, api } = await startApiAndTwoWorkers());
});
it('20 jobs with a key limited to 2 over two workers: never more than 2 RUNNING (sampled), all complete, no retry spent', async () => {
  const events = api.client.subscribe(FlowJobEvents, { filter: { queueNames: ['keyed'] } });
  let most = 0;
  let done = false;
  // Sampled from before the first job exists until the last one completed.
  const sampling = (async () => {
    while (!done) {
      const { rows } = await db.pool.query<{ n: number }>(
        `select count(*)::int as n from job where concurrency_key = 'portfolio-7' and status = 'RUNNING'`,
      );
      most = Math.max(most, rows[0]!.n);
    }
  })();
  const input = {
    jobType: 'system.sleep',
    queueName: 'keyed',
    maxRetries: 0,
    concurrencyKey: 'portfolio-7',
    concurrencyLimit: 2,
    payload: { ms: 300, ticks: 1 },
  };
  const jobs = await Promise.all(Array.from({ length: 20 }, () => createFlowJob(api.client, input)));
  expect(jobs[0]).toMatchObject({ concurrencyKey: 'portfolio-7', concurrencyLimit: 2 });
  await events.waitFor('all 20 COMPLETED', (r) => r.filter((e) => e.jobEvents.status === 'COMPLETED').length === 20, 60_000);
  done = true;
  await sampling;

  // 2, not less: the samples saw the limit reached, and never passed.
  expect(most).toBe(2);
  const { rows } = await db.pool.query(`select status, retry_count from job where queue_name = 'keyed' group by 1, 2`);
  expect(rows).toEqual([{ status: 'COMPLETED', retry_count: 0 }]);
  const waiting = events.received.filter((e) => e.jobEvents.message === 'waiting: concurrency key portfolio-7 has 2 running (its limit)');
  expect(waiting.length).toBeGreaterThan(0);
  events.close();
});

it('a limit without a key is a validation error naming it', async () => {
  await expect(createFlowJob(api.client, { jobType: 'system.noop', concurrencyLimit: 2 })).rejects.toThrow(
    /"field":"concurrencyLimit","message":"concurrencyLimit: needs a concurrencyKey"/,
  );
});
