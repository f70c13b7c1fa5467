// One contract for ICollectionJobRepository (seed 002), run against both
// implementations: Postgres through Prisma, and the in-memory one.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrisma, type PrismaClient } from '../src/db/prisma.ts';
import { JobStatus } from '../src/generated/prisma/enums.ts';
import { InMemoryCollectionJobRepository } from '../src/collections/in-memory-repository.ts';
import { PrismaCollectionJobRepository } from '../src/collections/prisma-repository.ts';
import type { CollectionJob, ICollectionJobRepository } from '../src/collections/repository.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let db: TestDatabase;
let prisma: PrismaClient;
beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrisma(db.pool);
});
afterAll(async () => {
  await prisma?.$disconnect();
  await db?.drop();
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
    completedSymbols: 0,
    failedSymbols: 0,
    totalCandles: 0,
    newCandles: 0,
    createdAt: new Date(clock),
    ...overrides,
  };
}

const implementations: Array<[string, () => ICollectionJobRepository]> = [
  ['Prisma/Postgres', () => new PrismaCollectionJobRepository(prisma)],
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
    expect(await repo.get_by_id(job.id)).toEqual(job);
    expect(await repo.get_by_id(randomUUID())).toBeNull();
    expect(await repo.get_by_id('not-a-uuid')).toBeNull();
  });

  it('saving an existing job updates its counters', async () => {
    const job = newJob();
    await repo.save(job);
    await repo.save({ ...job, completedSymbols: 2, failedSymbols: 1, totalCandles: 300, newCandles: 200 });
    expect(await repo.get_stats(job.id)).toEqual({ total: 3, completed: 2, failed: 1, total_candles: 300, new_candles: 200 });
  });

  it('deletes a job once', async () => {
    const job = newJob();
    await repo.save(job);
    expect(await repo.delete(job.id)).toBe(true);
    expect(await repo.delete(job.id)).toBe(false);
    expect(await repo.get_by_id(job.id)).toBeNull();
    expect(await repo.get_stats(job.id)).toBeNull();
  });

  it('lists by status newest first, with limit and offset', async () => {
    const jobs = [newJob(), newJob(), newJob()];
    for (const job of jobs) {
      await repo.save(job);
      expect(await repo.update_status(job.id, JobStatus.CANCELLED)).toBe(true);
    }
    const ids = (list: CollectionJob[]) => list.map((job) => job.id);
    expect(ids(await repo.list_by_status(JobStatus.CANCELLED, 2, 0))).toEqual([jobs[2]!.id, jobs[1]!.id]);
    expect(ids(await repo.list_by_status(JobStatus.CANCELLED, 2, 2))).toEqual([jobs[0]!.id]);
    expect((await repo.list_by_status(JobStatus.CANCELLED)).every((job) => job.status === JobStatus.CANCELLED)).toBe(true);
  });

  it('lists recent jobs newest first, since a time', async () => {
    const older = newJob();
    const newer = newJob();
    await repo.save(older);
    await repo.save(newer);
    const recent = await repo.list_recent(10, newer.createdAt);
    expect(recent.map((job) => job.id)).toEqual([newer.id]);
    expect((await repo.list_recent(2)).map((job) => job.id)).toEqual([newer.id, older.id]);
  });

  it('lists running jobs', async () => {
    const running = newJob();
    const waiting = newJob();
    await repo.save(running);
    await repo.save(waiting);
    expect(await repo.update_status(running.id, JobStatus.RUNNING)).toBe(true);
    const ids = (await repo.get_running_jobs()).map((job) => job.id);
    expect(ids).toContain(running.id);
    expect(ids).not.toContain(waiting.id);
  });

  it('update_status applies allowed transitions only and says whether it applied', async () => {
    const job = newJob();
    await repo.save(job);
    expect(await repo.update_status(job.id, JobStatus.COMPLETED)).toBe(false);
    expect(await repo.update_status(job.id, JobStatus.RUNNING)).toBe(true);
    expect(await repo.update_status(job.id, JobStatus.FAILED)).toBe(false); // a failure needs a reason
    expect(await repo.update_status(job.id, JobStatus.FAILED, 'no symbol collected')).toBe(true);
    expect(await repo.get_by_id(job.id)).toMatchObject({ status: JobStatus.FAILED, errorMessage: 'no symbol collected' });
    expect(await repo.update_status(job.id, JobStatus.COMPLETED)).toBe(false);
    expect(await repo.update_status(randomUUID(), JobStatus.RUNNING)).toBe(false);
  });

  it('update_status is atomic: of concurrent identical transitions exactly one applies', async () => {
    const job = newJob();
    await repo.save(job);
    const applied = await Promise.all(Array.from({ length: 8 }, () => repo.update_status(job.id, JobStatus.RUNNING)));
    expect(applied.filter(Boolean)).toHaveLength(1);
  });

  it('records failed symbols and counts them in the stats', async () => {
    const job = newJob();
    await repo.save(job);
    await repo.mark_symbol_completed(job.id, 'AAPL', 120, 100);
    await repo.add_failed_symbol(job.id, 'MSFT', 'HTTP 500 after 3 attempts');
    expect(await repo.get_stats(job.id)).toEqual({ total: 3, completed: 1, failed: 1, total_candles: 120, new_candles: 100 });
    expect(await repo.list_failed_symbols(job.id)).toEqual([
      { symbol: 'MSFT', error: 'HTTP 500 after 3 attempts', failedAt: expect.any(Date) },
    ]);
    expect(await repo.get_by_id(job.id)).toMatchObject({ completedSymbols: 1, failedSymbols: 1, totalCandles: 120, newCandles: 100 });
  });

  it('counts a completed symbol once, however often it is reported', async () => {
    const job = newJob();
    await repo.save(job);
    await Promise.all([repo.mark_symbol_completed(job.id, 'GOOG', 50, 50), repo.mark_symbol_completed(job.id, 'GOOG', 50, 50)]);
    await repo.mark_symbol_completed(job.id, 'GOOG', 50, 0);
    expect(await repo.get_stats(job.id)).toEqual({ total: 3, completed: 1, failed: 0, total_candles: 50, new_candles: 50 });
  });

  it('a new attempt collects only unfinished symbols, failed ones included', async () => {
    const job = newJob({ symbols: ['A', 'B', 'C', 'D'] });
    await repo.save(job);
    expect(await repo.begin_attempt(job.id)).toEqual(['A', 'B', 'C', 'D']);
    await repo.mark_symbol_completed(job.id, 'B', 10, 10);
    await repo.add_failed_symbol(job.id, 'C', 'timeout');
    expect(await repo.begin_attempt(job.id)).toEqual(['A', 'C', 'D']);
    expect(await repo.get_stats(job.id)).toEqual({ total: 4, completed: 1, failed: 0, total_candles: 10, new_candles: 10 });
    expect(await repo.list_failed_symbols(job.id)).toEqual([]);
  });
});
