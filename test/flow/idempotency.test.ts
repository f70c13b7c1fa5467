// Unique jobs: one idempotency key, one job, also when two API processes race.
import { beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { spawnApi, type ChildApi } from '../support/processes.ts';
import { CreateCollectionJobKeyed, CreateJobFlow, CreateJobsFlow, CreatePortfolioImportJobKeyed } from '../support/operations.ts';
import { uuidOf } from '../../src/testing/global-id.ts';

let db: TestDatabase;
let api: TestApp;
const children: ChildApi[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  // A portfolio import without a statement needs its tenant's Flex credentials: the server's, for the local tenant (API only: nothing is fetched).
  api = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { PROVIDER_CREDENTIALS: 'server', IBKR_FLEX_TOKEN: 'flex-token-of-the-test', IBKR_FLEX_QUERY_ID: '4242' } });
});
it('50 concurrent creates with one key from two API processes make one job; every answer names it, one says created', async () => {
  children.push(await spawnApi(db.url), await spawnApi(db.url));
  const input = { jobType: 'system.noop', idempotencyKey: 'order-42' };
  const answers = await Promise.all(
    Array.from({ length: 50 }, (_, index) => children[index % 2]!.client.request(CreateJobFlow, { input })),
  );
  const ids = new Set<string>();
  let created = 0;
  for (const answer of answers) {
    if (answer.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(answer.createJob));
    ids.add(answer.createJob.data.id);
    if (answer.createJob.created) created++;
  }
  expect(ids.size).toBe(1);
  expect(created).toBe(1);
  const { rows } = await db.pool.query(`select count(*)::int as n from job where job_type = 'system.noop'`);
  expect(rows[0].n).toBe(1);
});

it('a key stays taken after its job finished unless it is freed: 0 frees it once the job finished', async () => {
  const first = await api.client.request(CreateJobFlow, {
    input: { jobType: 'system.noop', idempotencyKey: 'active-only', idempotencyKeyFreeAfterMs: 0 },
  });
  if (first.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(first.createJob));
  const again = await api.client.request(CreateJobFlow, { input: { jobType: 'system.noop', idempotencyKey: 'active-only' } });
  if (again.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(again.createJob));
  expect(again.createJob).toMatchObject({ created: false, data: { id: first.createJob.data.id } });

  // The job ends (cancelled here: no worker runs in this file); its key is free again.
  await db.pool.query(`update job set status = 'CANCELLED' where id = $1`, [uuidOf(first.createJob.data.id)]);
  const after = await api.client.request(CreateJobFlow, { input: { jobType: 'system.noop', idempotencyKey: 'active-only' } });
  if (after.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(after.createJob));
  expect(after.createJob.created).toBe(true);
  expect(after.createJob.data.id).not.toBe(first.createJob.data.id);

  // Without idempotencyKeyFreeAfterMs the key stays with its (finished) job.
  await db.pool.query(`update job set status = 'CANCELLED' where id = $1`, [uuidOf(after.createJob.data.id)]);
  const kept = await api.client.request(CreateJobFlow, { input: { jobType: 'system.noop', idempotencyKey: 'active-only' } });
  if (kept.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(kept.createJob));
  expect(kept.createJob).toMatchObject({ created: false, data: { id: after.createJob.data.id } });
});

it('createJobs answers per input; inputs of one batch with the same key get one job', async () => {
  const result = await api.client.request(CreateJobsFlow, {
    jobs: [
      { jobType: 'system.noop', idempotencyKey: 'batch-a' },
      { jobType: 'system.noop' },
      { jobType: 'system.noop', idempotencyKey: 'batch-a' },
    ],
  });
  if (result.createJobs.__typename !== 'MutationCreateJobsSuccess') throw new Error(JSON.stringify(result.createJobs));
  expect(result.createJobs.created).toEqual([true, true, false]);
  expect(result.createJobs.data[2]!.id).toBe(result.createJobs.data[0]!.id);
});

it('a bad key or option is a validation error naming the field, and creates nothing', async () => {
  const before = (await db.pool.query(`select count(*)::int as n from job`)).rows[0].n;
  const empty = await api.client.request(CreateJobFlow, { input: { jobType: 'system.noop', idempotencyKey: '' } });
  expect(empty.createJob).toEqual({ __typename: 'ValidationError', field: 'idempotencyKey', message: 'idempotencyKey: must not be empty' });
  const orphan = await api.client.request(CreateJobFlow, { input: { jobType: 'system.noop', idempotencyKeyFreeAfterMs: 5 } });
  expect(orphan.createJob).toMatchObject({ __typename: 'ValidationError', field: 'idempotencyKeyFreeAfterMs' });
  expect((await db.pool.query(`select count(*)::int as n from job`)).rows[0].n).toBe(before);
});

it("a kind's create takes a key too: the same key answers the job made first and stores nothing more", async () => {
  const input = {
    symbols: ['AAPL'],
    timeframe: '1d',
    rangeFrom: '2024-01-01T00:00:00Z',
    rangeTo: '2024-01-31T00:00:00Z',
    provider: 'csv-dir',
    idempotencyKey: 'collect-aapl-january',
  };
  const first = await api.client.request(CreateCollectionJobKeyed, { input });
  if (first.createCollectionJob.__typename !== 'MutationCreateCollectionJobSuccess') throw new Error(JSON.stringify(first.createCollectionJob));
  expect(first.createCollectionJob.created).toBe(true);
  // Another request under the same key: the first job, unchanged.
  const again = await api.client.request(CreateCollectionJobKeyed, { input: { ...input, symbols: ['MSFT'] } });
  expect(again.createCollectionJob).toEqual({
    __typename: 'MutationCreateCollectionJobSuccess',
    created: false,
    data: { id: first.createCollectionJob.data.id, symbols: ['AAPL'] },
  });
  const { rows } = await db.pool.query(`select count(*)::int as jobs, sum(cardinality(symbols))::int as symbols from collection_job`);
  expect(rows[0]).toEqual({ jobs: 1, symbols: 1 });

  // A key held by a job of another kind names that job and creates nothing.
  const plain = await api.client.request(CreateJobFlow, { input: { jobType: 'system.noop', idempotencyKey: 'held-by-plain' } });
  if (plain.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(plain.createJob));
  const clash = await api.client.request(CreateCollectionJobKeyed, { input: { ...input, idempotencyKey: 'held-by-plain' } });
  expect(clash.createCollectionJob).toEqual({
    __typename: 'ValidationError',
    field: 'idempotencyKey',
    message: `idempotencyKey: is held by job ${uuidOf(plain.createJob.data.id)}, a PLAIN job, not a COLLECTION job`,
  });
  expect((await db.pool.query(`select count(*)::int as n from collection_job`)).rows[0].n).toBe(1);
});

it('a repeated portfolio import under its key answers the first job instead of an overlap', async () => {
  const input = {
    portfolioId: '8a0f3c9e-2b5d-4c71-9e3a-6f1d2b4c8e01',
    accountId: 'U1234567',
    source: 'IBKR' as const,
    interval: { start: '2026-01-10', end: '2026-01-20' },
    idempotencyKey: 'import-jan-10-20',
  };
  const first = await api.client.request(CreatePortfolioImportJobKeyed, { input });
  if (first.createPortfolioImportJob.__typename !== 'MutationCreatePortfolioImportJobSuccess') {
    throw new Error(JSON.stringify(first.createPortfolioImportJob));
  }
  const again = await api.client.request(CreatePortfolioImportJobKeyed, { input });
  expect(again.createPortfolioImportJob).toMatchObject({ created: false, data: { id: first.createPortfolioImportJob.data.id } });
  // Without the key the same request overlaps the first import.
  const { idempotencyKey: _key, ...unkeyed } = input;
  const overlap = await api.client.request(CreatePortfolioImportJobKeyed, { input: unkeyed });
  expect(overlap.createPortfolioImportJob).toMatchObject({ __typename: 'PortfolioImportOverlapError' });
});
