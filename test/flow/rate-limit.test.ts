// Queue rate limits: 10 starts per second across two worker processes; 100
// jobs, never more than 10 starts in any one-second window (from started_at).
// The workers poll once a minute here: held jobs are fetched when woken
// (src/flow/wake.ts, or another write's nudge), not found by a poll.
import { beforeAll, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import type { TestApp } from '../support/app.ts';
import { eventually } from '../support/wait.ts';
import { startApiAndTwoWorkers } from '../support/flow.ts';
import { CreateJobsFlow, FlowJobEvents, SetQueueRateLimit } from '../support/operations.ts';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  ({ db, api } = await startApiAndTwoWorkers({ WORKER_CONCURRENCY: '8', WORKER_POLL_INTERVAL_MS: '60000' }));
});
it('100 jobs in a queue limited to 10 starts per second: never more than 10 in any second, all complete', async () => {
  const limit = await api.client.request(SetQueueRateLimit, { queueName: 'limited', maxStarts: 10, intervalMs: 1000 });
  expect(limit.setQueueRateLimit).toEqual({
    __typename: 'MutationSetQueueRateLimitSuccess',
    data: { queueName: 'limited', rateLimit: { maxStarts: 10, intervalMs: 1000 } },
  });
  const events = api.client.subscribe(FlowJobEvents, { filter: { queueNames: ['limited'] } });
  const created = await api.client.request(CreateJobsFlow, { jobs: Array.from({ length: 100 }, () => ({ jobType: 'system.noop', queueName: 'limited' })) });
  expect(created.createJobs.__typename).toBe('MutationCreateJobsSuccess');
  await events.waitFor('all 100 COMPLETED', (r) => r.filter((e) => e.jobEvents.status === 'COMPLETED').length === 100, 60_000);

  const { rows } = await db.pool.query<{ at: number }>(
    `select (extract(epoch from started_at) * 1000)::float8 as at from job where queue_name = 'limited' order by started_at`,
  );
  const starts = rows.map((row) => row.at);
  expect(starts).toHaveLength(100);
  // Any window [x, x + 1000) holds at most 10 starts: the 11th start after any start is at least 1 s later.
  for (let i = 0; i + 10 < starts.length; i++) expect(starts[i + 10]! - starts[i]!, `start ${i + 10}`).toBeGreaterThanOrEqual(1000);
  // Hence the 100 starts span at least 9 s.
  expect(starts[99]! - starts[0]!).toBeGreaterThanOrEqual(9000);
  const waiting = events.received.filter((e) => e.jobEvents.message === 'waiting: queue limited reached its rate limit');
  expect(waiting.length).toBeGreaterThan(0);
  const retries = await db.pool.query(`select count(*)::int as n from job where queue_name = 'limited' and retry_count > 0`);
  expect(retries.rows[0].n).toBe(0);
  events.close();
}, 90_000);

it('a job held by the limit starts when the window frees, with nothing else happening (no poll for a minute)', async () => {
  await api.client.request(SetQueueRateLimit, { queueName: 'single', maxStarts: 1, intervalMs: 500 });
  const created = await api.client.request(CreateJobsFlow, { jobs: [{ jobType: 'system.noop', queueName: 'single' }, { jobType: 'system.noop', queueName: 'single' }] });
  expect(created.createJobs.__typename).toBe('MutationCreateJobsSuccess');
  // Without the wake (src/flow/wake.ts) the second job's entry, due 0.5 s later, waited for the next poll.
  const done = await eventually('both COMPLETED', async () => {
    const { rows } = await db.pool.query<{ at: number }>(
      `select (extract(epoch from started_at) * 1000)::float8 as at from job where queue_name = 'single' and status = 'COMPLETED' order by started_at`,
    );
    return rows.length === 2 ? rows.map((row) => row.at) : undefined;
  });
  expect(done[1]! - done[0]!).toBeGreaterThanOrEqual(500);
  const waited = await db.pool.query(`select count(*)::int as n from job_event e join job on job.id = e.job_id where job.queue_name = 'single' and e.message like 'waiting:%'`);
  expect(waited.rows[0].n).toBeGreaterThanOrEqual(1);
}, 60_000);

it('a bad limit is a validation error naming the field', async () => {
  const result = await api.client.request(SetQueueRateLimit, { queueName: 'limited', maxStarts: 0, intervalMs: 1000 });
  expect(result.setQueueRateLimit).toMatchObject({ __typename: 'ValidationError', field: 'maxStarts' });
});
