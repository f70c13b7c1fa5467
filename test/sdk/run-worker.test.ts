// runWorker (the package's worker) against a service's database: it runs an
// app's job type created through the API of a service that runs its own worker
// too (routing keeps that worker off the app's types), takes only the queues it
// is given, and refuses a database whose schema is missing or older.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJobType, runWorker, SchemaNotReadyError, type RunningWorker } from '../../src/sdk/index.ts';
import { lastCommittedMigration } from '../../src/health.ts';
import { startTestApp, TEST_ENV, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createJob } from '../support/jobs.ts';
import { eventually } from '../support/wait.ts';

const settings = { ...TEST_ENV, LOG_LEVEL: 'silent' };
const greet = defineJobType({
  jobType: 'app.greet',
  payload: z.object({ name: z.string() }),
  steps: ['compose'],
  async handle(job, ctx) {
    const greeting = await ctx.step('compose', async () => ({ text: `Hello ${job.payload.name}` }));
    ctx.progress({ percent: 100 });
    return { success: true, resultData: greeting };
  },
});

/** The same job type, saying which worker ran it. */
const resizeRunBy = (label: string) =>
  defineJobType({
    jobType: 'app.resize',
    payload: z.object({ width: z.number().int() }),
    async handle() {
      return { success: true, resultData: { ranBy: label } };
    },
  });

let database: TestDatabase;
let service: TestApp;
let worker: RunningWorker;

beforeAll(async () => {
  database = await createTestDatabase();
  // API and a worker of jobwire's own types, as `jobwire start`; unknown types are refused (the default).
  service = await startTestApp(database.url, { roles: { api: true, worker: true } });
  worker = await runWorker({ databaseUrl: database.url, jobTypes: [greet], concurrency: 2, settings });
});
afterAll(() => worker?.stop());

it('runs an app job type created through the API, with steps and progress', async () => {
  const created = await createJob(service.client, { jobType: 'app.greet', payload: { name: 'Ada' } });
  const row = await eventually('the job to complete', async () => {
    const { rows } = await database.pool.query(`select status, result, progress from job where id = (select id from job where job_type = 'app.greet')`);
    return rows[0]?.status === 'COMPLETED' ? rows[0] : undefined;
  });
  // The service's worker does not serve app.greet: only runWorker's could run it.
  expect(created.jobType).toBe('app.greet');
  expect(row).toMatchObject({ result: { text: 'Hello Ada' }, progress: 100 });
  const steps = await database.pool.query(`select name, status from job_step where job_id = (select id from job where job_type = 'app.greet')`);
  expect(steps.rows).toEqual([{ name: 'compose', status: 'COMPLETED' }]);
});

it('refuses a database without the schema, or with an older one, and never migrates it', async () => {
  const empty = await createTestDatabase({ empty: true });
  await expect(runWorker({ databaseUrl: empty.url, jobTypes: [greet], concurrency: 1, settings })).rejects.toThrow(SchemaNotReadyError);
  const schemas = await empty.pool.query(`select 1 from pg_namespace where nspname in ('graphile_migrate', 'graphile_worker')`);
  expect(schemas.rowCount, 'runWorker created no schema').toBe(0);

  const older = await createTestDatabase();
  const { file, hash } = await lastCommittedMigration();
  await older.pool.query('delete from graphile_migrate.migrations where hash = $1', [hash]);
  await expect(runWorker({ databaseUrl: older.url, jobTypes: [greet], concurrency: 1, settings })).rejects.toThrow(
    `is older than this package (its migration ${file} is not applied): upgrade the jobwire service first`,
  );
});

it('with queues, takes only jobs of those queues; a job of another queue waits with NO_WORKER until a worker serves it', async () => {
  const jobRow = async (id: string) =>
    (
      await database.pool.query<{ status: string; waiting_reason: string | null; ran_by: string | null }>(
        `select status, waiting_reason, result->>'ranBy' as ran_by from job where id = (select id from job where job_type = 'app.resize' and payload->>'width' = $1)`,
        [id],
      )
    ).rows[0]!;
  const images = await runWorker({ databaseUrl: database.url, jobTypes: [resizeRunBy('images')], queues: ['images'], concurrency: 1, settings });
  try {
    await createJob(service.client, { jobType: 'app.resize', payload: { width: 1 }, queueName: 'images' });
    await createJob(service.client, { jobType: 'app.resize', payload: { width: 2 }, queueName: 'thumbnails' });
    await eventually('the images job to complete', async () => ((await jobRow('1')).status === 'COMPLETED' ? true : undefined));
    expect(await jobRow('1')).toMatchObject({ ran_by: 'images' });
    // Not taken by the images worker (nor the service's): nobody serves app.resize in thumbnails.
    expect(await jobRow('2')).toMatchObject({ status: 'PENDING', waiting_reason: 'NO_WORKER', ran_by: null });
    const registered = await database.pool.query(
      `select queue_names from worker_job_type where job_type = 'app.resize'`,
    );
    expect(registered.rows).toEqual([{ queue_names: ['images'] }]);

    const thumbnails = await runWorker({ databaseUrl: database.url, jobTypes: [resizeRunBy('thumbnails')], queues: ['thumbnails'], concurrency: 1, settings });
    try {
      await eventually('the thumbnails job to complete', async () => ((await jobRow('2')).status === 'COMPLETED' ? true : undefined));
      expect(await jobRow('2')).toMatchObject({ ran_by: 'thumbnails', waiting_reason: null });
    } finally {
      await thumbnails.stop();
    }
  } finally {
    await images.stop();
  }
});

it('refuses empty queues and an empty list of job types', async () => {
  await expect(runWorker({ databaseUrl: database.url, jobTypes: [greet], queues: [], concurrency: 1, settings })).rejects.toThrow(
    /queues must name at least one queue/,
  );
  await expect(runWorker({ databaseUrl: database.url, jobTypes: [greet], queues: [' '], concurrency: 1, settings })).rejects.toThrow(
    /queues: " " is not a queue name/,
  );
  await expect(runWorker({ databaseUrl: database.url, jobTypes: [], concurrency: 1, settings })).rejects.toThrow(/jobTypes must name at least one/);
});
