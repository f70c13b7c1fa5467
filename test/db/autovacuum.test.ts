// The job table's per-table autovacuum setting (migration 000037; why: there,
// and docs/operating.md#vacuum-and-long-transactions) is on a migrated database.
import { beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});

it('job is vacuumed at 2 % dead rows; job_event and the queue entries keep the defaults', async () => {
  const { rows } = await db.pool.query<{ relname: string; reloptions: string[] | null }>(
    `select c.relname, c.reloptions from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where (n.nspname, c.relname) in (('public', 'job'), ('public', 'job_event'), ('graphile_worker', '_private_jobs')) order by c.relname`,
  );
  expect(rows).toEqual([
    { relname: '_private_jobs', reloptions: null },
    { relname: 'job', reloptions: ['autovacuum_vacuum_scale_factor=0.02'] },
    { relname: 'job_event', reloptions: null },
  ]);
});
