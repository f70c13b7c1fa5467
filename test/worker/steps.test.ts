// Ordered steps: a retried job resumes at its first step that did not complete.
import { beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createJob } from '../support/jobs.ts';
import { JobUpdated, JobWithHistory, RetryJob } from '../support/operations.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import { NonRetriableError } from '../../src/core/handler.ts';

let db: TestDatabase;
let service: TestApp;
const runs: string[] = [];
let failPublish = true;

beforeAll(async () => {
  db = await createTestDatabase();
  const registry = new HandlerRegistry().register({
    jobType: 'report.publish',
    description: 'builds a report, then publishes it',
    payload: z.object({}),
    steps: ['build', 'publish'],
    async handle(_job, ctx) {
      const built = await ctx.step('build', async () => {
        runs.push('build');
        return { pages: 3 };
      });
      await ctx.step('publish', async () => {
        runs.push('publish');
        if (failPublish) throw new NonRetriableError('printer on fire');
      });
      return { success: true, resultData: { pages: built.pages } };
    },
  });
  service = await startTestApp(db.url, { registry });
});

async function waitForStatus(id: string, status: string) {
  const updates = service.client.subscribe(JobUpdated, { id });
  await updates.waitFor(status, (r) => r.some((u) => u.jobUpdated.status === status));
  updates.close();
  return (await service.client.request(JobWithHistory, { id })).job!;
}

it('creates the declared steps, and a retry skips the completed ones', async () => {
  const job = await createJob(service.client, { jobType: 'report.publish' });
  const failed = await waitForStatus(job.id, 'FAILED');
  expect(failed.steps.edges.map((e) => [e.node.name, e.node.status])).toEqual([
    ['build', 'COMPLETED'],
    ['publish', 'FAILED'],
  ]);
  expect(failed.errorMessage).toBe('printer on fire');

  failPublish = false;
  await service.client.request(RetryJob, { id: job.id });
  const done = await waitForStatus(job.id, 'COMPLETED');
  expect(runs).toEqual(['build', 'publish', 'publish']);
  // The saved output of the skipped step is what the handler got back.
  expect(done.result).toEqual({ pages: 3 });
  expect(done.steps.edges.map((e) => e.node.status)).toEqual(['COMPLETED', 'COMPLETED']);
  const stepEvents = done.events.edges.filter((e) => e.node.step).map((e) => `${e.node.step!.name}:${e.node.status}`);
  expect(stepEvents).toEqual([
    'build:PENDING', 'publish:PENDING', 'build:RUNNING', 'build:COMPLETED', 'publish:RUNNING', 'publish:FAILED', 'publish:RUNNING', 'publish:COMPLETED',
  ]);
});

it('the database refuses to start a step before the ones ahead of it complete', async () => {
  const job = await createJob(service.client, { jobType: 'report.publish', scheduledAt: new Date(Date.now() + 3_600_000).toISOString() });
  const id = uuidOf(job.id);
  await expect(db.pool.query(`update job_step set status = 'RUNNING' where job_id = $1 and name = 'publish'`, [id])).rejects.toMatchObject({
    code: 'JW002',
    message: expect.stringMatching(/cannot start before build/),
  });
});
