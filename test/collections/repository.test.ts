// One contract for ICollectionJobRepository (seed 002), run against both
// implementations: Postgres (SQL), and the in-memory one.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { JobStatus } from '../../src/generated/prisma/enums.ts';
import { DEFAULT_LIST_LIMIT, type CollectionJob, type ICollectionJobRepository } from '../../src/collections/kind.ts';
import { CollectionJobRepository } from '../../src/collections/repository.ts';
import { InMemoryCollectionJobRepository } from '../support/in-memory-collection-repository.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});

let clock = Date.parse('2026-01-01T00:00:00Z');
function newJob(overrides: Partial<CollectionJob> = {}): CollectionJob {
  clock += 1000;
  return {
    id: randomUUID(),
    status: JobStatus.PENDING,
    errorMessage: null,
    symbols: ['AAPL', 'MSFT', 'GOOG'],
    timeframe: '1d',
    rangeFrom: new Date('2025-01-01T00:00:00Z'),
    rangeTo: new Date('2025-06-30T00:00:00Z'),
    provider: 'csv-dir',
    completedSymbolCount: 0,
    failedSymbolCount: 0,
    candleCount: 0,
    newCandleCount: 0,
    createdAt: new Date(clock),
    ...overrides,
  };
}

const implementations: Array<[string, () => ICollectionJobRepository]> = [
  ['Postgres', () => new CollectionJobRepository(db.pool)],
  ['in-memory', () => new InMemoryCollectionJobRepository()],
];

describe.each(implementations)('ICollectionJobRepository: %s', (_name, makeRepository) => {
  let repo: ICollectionJobRepository;
  beforeAll(() => {
    repo = makeRepository();
  });

  it('saves a job and reads it back; an unknown id reads as null', async () => {
    const job = newJob();
    await repo.save(job);
    expect(await repo.getById(job.id)).toEqual(job);
    // A new job is PENDING whatever it says: only updateStatus moves a status.
    const claimsToBeDone = newJob({ status: JobStatus.COMPLETED });
    await repo.save(claimsToBeDone);
    expect(await repo.getById(claimsToBeDone.id)).toEqual({ ...claimsToBeDone, status: JobStatus.PENDING });
    expect(await repo.getById(randomUUID())).toBeNull();
    expect(await repo.getById('not-a-uuid')).toBeNull();
  });

  it('saving an existing job updates its counters', async () => {
    const job = newJob();
    await repo.save(job);
    await repo.save({ ...job, completedSymbolCount: 2, failedSymbolCount: 1, candleCount: 300, newCandleCount: 200 });
    expect(await repo.getStats(job.id)).toEqual({ symbolCount: 3, completedSymbolCount: 2, failedSymbolCount: 1, candleCount: 300, newCandleCount: 200 });
  });

  it('deletes a job once', async () => {
    const job = newJob();
    await repo.save(job);
    expect(await repo.delete(job.id)).toBe(true);
    expect(await repo.delete(job.id)).toBe(false);
    expect(await repo.getById(job.id)).toBeNull();
    expect(await repo.getStats(job.id)).toBeNull();
  });

  it('lists by status newest first, with limit and offset', async () => {
    const jobs = [newJob(), newJob(), newJob()];
    for (const job of jobs) {
      await repo.save(job);
      expect(await repo.updateStatus(job.id, JobStatus.CANCELLED)).toBe(true);
    }
    const ids = (list: CollectionJob[]) => list.map((job) => job.id);
    expect(ids(await repo.listByStatus(JobStatus.CANCELLED, 2, 0))).toEqual([jobs[2]!.id, jobs[1]!.id]);
    expect(ids(await repo.listByStatus(JobStatus.CANCELLED, 2, 2))).toEqual([jobs[0]!.id]);
    expect((await repo.listByStatus(JobStatus.CANCELLED)).every((job) => job.status === JobStatus.CANCELLED)).toBe(true);
  });

  it('lists recent jobs newest first, since a time', async () => {
    const older = newJob();
    const newer = newJob();
    await repo.save(older);
    await repo.save(newer);
    const recent = await repo.listRecent(10, newer.createdAt);
    expect(recent.map((job) => job.id)).toEqual([newer.id]);
    expect((await repo.listRecent(2)).map((job) => job.id)).toEqual([newer.id, older.id]);
  });

  it('lists running jobs, all of them (more than a page of DEFAULT_LIST_LIMIT)', async () => {
    const running = Array.from({ length: DEFAULT_LIST_LIMIT + 1 }, () => newJob());
    const waiting = newJob();
    for (const job of [...running, waiting]) await repo.save(job);
    for (const job of running) expect(await repo.updateStatus(job.id, JobStatus.RUNNING)).toBe(true);
    const ids = (await repo.getRunningJobs()).map((job) => job.id);
    expect(ids).toEqual(expect.arrayContaining(running.map((job) => job.id)));
    expect(ids).not.toContain(waiting.id);
  });

  it('updateStatus applies allowed transitions only and says whether it applied', async () => {
    const job = newJob();
    await repo.save(job);
    expect(await repo.updateStatus(job.id, JobStatus.COMPLETED)).toBe(false);
    expect(await repo.updateStatus(job.id, JobStatus.RUNNING)).toBe(true);
    expect(await repo.updateStatus(job.id, JobStatus.FAILED)).toBe(false); // a failure needs a reason
    expect(await repo.updateStatus(job.id, JobStatus.FAILED, 'no symbol collected')).toBe(true);
    expect(await repo.getById(job.id)).toMatchObject({ status: JobStatus.FAILED, errorMessage: 'no symbol collected' });
    expect(await repo.updateStatus(job.id, JobStatus.COMPLETED)).toBe(false);
    expect(await repo.updateStatus(randomUUID(), JobStatus.RUNNING)).toBe(false);
  });

  it('updateStatus is atomic: of concurrent identical transitions exactly one applies', async () => {
    const job = newJob();
    await repo.save(job);
    const applied = await Promise.all(Array.from({ length: 8 }, () => repo.updateStatus(job.id, JobStatus.RUNNING)));
    expect(applied.filter(Boolean)).toHaveLength(1);
  });

  it('records failed symbols and counts them in the stats', async () => {
    const job = newJob();
    await repo.save(job);
    await repo.markSymbolCompleted(job.id, 'AAPL', 120, 100);
    await repo.addFailedSymbol(job.id, 'MSFT', 'HTTP 500 after 3 attempts');
    expect(await repo.getStats(job.id)).toEqual({ symbolCount: 3, completedSymbolCount: 1, failedSymbolCount: 1, candleCount: 120, newCandleCount: 100 });
    expect(await repo.listFailedSymbols(job.id)).toEqual([
      { symbol: 'MSFT', error: 'HTTP 500 after 3 attempts', failedAt: expect.any(Date) },
    ]);
    expect(await repo.getById(job.id)).toMatchObject({ completedSymbolCount: 1, failedSymbolCount: 1, candleCount: 120, newCandleCount: 100 });
  });

  it('counts a completed symbol once, however often it is reported', async () => {
    const job = newJob();
    await repo.save(job);
    await Promise.all([repo.markSymbolCompleted(job.id, 'GOOG', 50, 50), repo.markSymbolCompleted(job.id, 'GOOG', 50, 50)]);
    await repo.markSymbolCompleted(job.id, 'GOOG', 50, 0);
    expect(await repo.getStats(job.id)).toEqual({ symbolCount: 3, completedSymbolCount: 1, failedSymbolCount: 0, candleCount: 50, newCandleCount: 50 });
  });

  it('a new attempt collects only unfinished symbols, failed ones included', async () => {
    const job = newJob({ symbols: ['A', 'B', 'C', 'D'] });
    await repo.save(job);
    expect(await repo.beginAttempt(job.id)).toEqual(['A', 'B', 'C', 'D']);
    await repo.markSymbolCompleted(job.id, 'B', 10, 10);
    await repo.addFailedSymbol(job.id, 'C', 'timeout');
    expect(await repo.beginAttempt(job.id)).toEqual(['A', 'C', 'D']);
    expect(await repo.getStats(job.id)).toEqual({ symbolCount: 4, completedSymbolCount: 1, failedSymbolCount: 0, candleCount: 10, newCandleCount: 10 });
    expect(await repo.listFailedSymbols(job.id)).toEqual([]);
  });
});

it('save enters a new job through job-state: PENDING, with its queue entry and its first event, never an orphan', async () => {
  const job = newJob({ status: JobStatus.RUNNING });
  await new CollectionJobRepository(db.pool).save(job);
  const { rows } = await db.pool.query(
    `select job.status, (select array_agg(status::text) from job_event where job_id = job.id) as events,
            exists (select 1 from graphile_worker.jobs e where e.id = job.queue_entry_id) as queued
       from job where id = $1`,
    [job.id],
  );
  expect(rows).toEqual([{ status: 'PENDING', events: ['PENDING'], queued: true }]);
});
