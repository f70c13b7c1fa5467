// Timeouts: a handler that ignores its signal past timeoutMs fails with a
// TimeoutError at the timeout, the retry runs, and the late result of the
// first attempt is discarded. Two worker processes on one database.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import type { TestApp } from '../support/app.ts';
import { createFlowJob, startApiAndTwoWorkers } from '../support/flow.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { JobFlowState, JobFlowUpdated } from '../support/operations.ts';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  ({ db, api } = await startApiAndTwoWorkers());
});
it('an attempt past timeoutMs fails with TimeoutError, is retried, and its late result is discarded', async () => {
  const TIMEOUT = 1000;
  const SLEEP = 3000;
  const job = await createFlowJob(api.client, {
    jobType: 'system.sleep',
    maxRetries: 1,
    timeoutMs: TIMEOUT,
    payload: { ms: SLEEP, ticks: 3, ignoreSignal: true },
  });
  expect(job.timeoutMs).toBe(TIMEOUT);
  const updates = api.client.subscribe(JobFlowUpdated, { id: job.id });
  await updates.waitFor('DEAD_LETTER after two timed-out attempts', (r) => r.some((u) => u.jobUpdated.status === 'DEAD_LETTER'), 30_000);
  updates.close();

  const message = `TimeoutError: the attempt ran longer than its timeout of ${TIMEOUT} ms`;
  const { job: failed } = await api.client.request(JobFlowState, { id: job.id });
  expect(failed).toMatchObject({ status: 'DEAD_LETTER', retryCount: 1, result: null, errorMessage: `${message} (after 2 attempts)` });
  expect(failed!.events.edges.map((e) => [e.node.status, e.node.message])).toEqual([
    ['PENDING', null],
    ['RUNNING', null],
    ['RETRYING', message],
    ['RUNNING', null],
    ['DEAD_LETTER', `${message} (after 2 attempts)`],
  ]);
  // Each attempt failed at its timeout (timed from its RUNNING write), before the handler (which ignores its signal) would have returned.
  const { rows } = await db.pool.query<{ status: string; ms: number }>(
    `select status, (extract(epoch from created_at - lag(created_at) over (order by id)) * 1000)::float8 as ms
       from job_event where job_id = $1 order by id`,
    [uuidOf(job.id)],
  );
  for (const index of [2, 4]) {
    expect(rows[index]!.ms).toBeGreaterThanOrEqual(TIMEOUT);
    expect(rows[index]!.ms).toBeLessThan(SLEEP);
  }

  // The assertion is about time passing: once both handlers have returned their (late) results, nothing changed.
  await sleep(SLEEP);
  const { job: later } = await api.client.request(JobFlowState, { id: job.id });
  expect(later).toMatchObject({ status: 'DEAD_LETTER', result: null });
  expect(later!.events.edges).toHaveLength(5);
  const progress = await db.pool.query(`select progress from job where id = $1`, [uuidOf(job.id)]);
  expect(progress.rows[0].progress).toBeLessThan(100);
});
