// Dependencies: a job waits until the jobs it depends on completed; one that
// fails cancels it (or it runs anyway). Two worker processes on one database.
import { beforeAll, expect, it } from 'vitest';
import type { TestDatabase } from '../support/database.ts';
import type { TestApp } from '../support/app.ts';
import { createFlowJob, startApiAndTwoWorkers } from '../support/flow.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { CreateJobFlow, JobFlowState, JobFlowUpdated } from '../support/operations.ts';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  ({ db, api } = await startApiAndTwoWorkers());
});
const untilStatus = (status: string) => (updates: Array<{ jobUpdated: { status: string } }>) =>
  updates.some((u) => u.jobUpdated.status === status);

it('fan-in of 10 dependencies, one of which fails: the dependent ends CANCELLED naming it, and never ran', async () => {
  const dependencies = [];
  for (let i = 0; i < 9; i++) dependencies.push(await createFlowJob(api.client, { jobType: 'system.sleep', payload: { ms: 300, ticks: 1 } }));
  const failing = await createFlowJob(api.client, { jobType: 'system.fail', maxRetries: 0, payload: { afterMs: 500, message: 'boom' } });
  dependencies.push(failing);
  const dependent = await createFlowJob(api.client, { jobType: 'system.noop', dependsOn: dependencies.map((d) => d.id) });
  expect(dependent).toMatchObject({ status: 'PENDING', waitingReason: 'DEPENDENCIES' });
  expect(dependent.dependsOn).toHaveLength(10);

  const updates = api.client.subscribe(JobFlowUpdated, { id: dependent.id });
  await updates.waitFor('the dependent CANCELLED', untilStatus('CANCELLED'));
  updates.close();

  const { job } = await api.client.request(JobFlowState, { id: dependent.id });
  const reason = `dependency ${uuidOf(failing.id)} ended DEAD_LETTER`;
  expect(job).toMatchObject({ status: 'CANCELLED', waitingReason: null, errorMessage: reason });
  const events = job!.events.edges.map((e) => e.node);
  expect(events).toEqual([
    { status: 'PENDING', previousStatus: null, message: 'waiting for the jobs it depends on' },
    { status: 'CANCELLED', previousStatus: 'PENDING', message: reason },
  ]);
  const { rows } = await db.pool.query(`select count(*)::int as n from job where id = $1 and started_at is not null`, [uuidOf(dependent.id)]);
  expect(rows[0].n).toBe(0);
});

it('a chain runs in order: each job starts only after the one it depends on completed', async () => {
  const first = await createFlowJob(api.client, { jobType: 'system.sleep', payload: { ms: 300, ticks: 1 } });
  const second = await createFlowJob(api.client, { jobType: 'system.sleep', payload: { ms: 100, ticks: 1 }, dependsOn: [first.id] });
  const third = await createFlowJob(api.client, { jobType: 'system.noop', dependsOn: [second.id] });
  const updates = api.client.subscribe(JobFlowUpdated, { id: third.id });
  await updates.waitFor('the last job COMPLETED', untilStatus('COMPLETED'));
  updates.close();

  const { rows } = await db.pool.query<{ id: string; started_at: Date; completed_at: Date }>(
    `select id, started_at, completed_at from job where id = any($1::uuid[])`,
    [[first, second, third].map((j) => uuidOf(j.id))],
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  const [a, b, c] = [first, second, third].map((j) => byId.get(uuidOf(j.id))!);
  expect(b.started_at.getTime()).toBeGreaterThanOrEqual(a.completed_at.getTime());
  expect(c.started_at.getTime()).toBeGreaterThanOrEqual(b.completed_at.getTime());

  const { job } = await api.client.request(JobFlowState, { id: second.id });
  expect(job!.events.edges.map((e) => e.node)).toEqual([
    { status: 'PENDING', previousStatus: null, message: 'waiting for the jobs it depends on' },
    { status: 'PENDING', previousStatus: 'PENDING', message: 'the jobs it depends on finished; queued' },
    { status: 'RUNNING', previousStatus: 'PENDING', message: null },
    { status: 'COMPLETED', previousStatus: 'RUNNING', message: null },
  ]);
});

it('with dependencyFailure RUN the dependent runs once its failed dependency finished', async () => {
  const failing = await createFlowJob(api.client, { jobType: 'system.fail', maxRetries: 0, payload: { afterMs: 100 } });
  const dependent = await createFlowJob(api.client, { jobType: 'system.noop', dependsOn: [failing.id], dependencyFailure: 'RUN' });
  const updates = api.client.subscribe(JobFlowUpdated, { id: dependent.id });
  await updates.waitFor('the dependent COMPLETED', untilStatus('COMPLETED'));
  updates.close();
  const { job } = await api.client.request(JobFlowState, { id: failing.id });
  expect(job!.status).toBe('DEAD_LETTER');
});

it('an unknown dependency, or one that already failed, is a validation error naming the entry, and creates nothing', async () => {
  const before = (await db.pool.query(`select count(*)::int as n from job`)).rows[0].n;
  const unknown = await api.client.request(CreateJobFlow, {
    input: { jobType: 'system.noop', dependsOn: ['00000000-0000-4000-8000-000000000000'] },
  });
  expect(unknown.createJob).toEqual({
    __typename: 'ValidationError',
    field: 'dependsOn.0',
    message: 'dependsOn.0: no job with id 00000000-0000-4000-8000-000000000000',
  });
  const notAnId = await api.client.request(CreateJobFlow, { input: { jobType: 'system.noop', dependsOn: ['nope'] } });
  expect(notAnId.createJob).toMatchObject({ __typename: 'ValidationError', field: 'dependsOn.0' });
  expect((await db.pool.query(`select count(*)::int as n from job`)).rows[0].n).toBe(before);

  const failed = await db.pool.query<{ id: string }>(`select id from job where status = 'DEAD_LETTER' limit 1`);
  const late = await api.client.request(CreateJobFlow, { input: { jobType: 'system.noop', dependsOn: [failed.rows[0]!.id] } });
  expect(late.createJob).toEqual({
    __typename: 'ValidationError',
    field: 'dependsOn.0',
    message: `dependsOn.0: job ${failed.rows[0]!.id} is DEAD_LETTER and will not complete; pass dependencyFailure: RUN to run anyway`,
  });
});
