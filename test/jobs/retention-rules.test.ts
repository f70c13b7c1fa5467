// Retention per status and queue (JOB_RETENTION): finished jobs past their
// rule go, in batches; recent ones, and waiting or running jobs of any age, stay.
import { beforeAll, expect, it } from 'vitest';
import { pruneRateLimitStarts, purgeByRules } from '../../src/jobs/retention.ts';
import { parseRetentionRules } from '../../src/core/retention-rules.ts';
import { loadConfig } from '../../src/service-config.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});

const DAY = 86_400;

/** `count` jobs driven by SQL to `status`, finished `secondsAgo` ago (created a day before that). */
async function jobs(count: number, status: 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'RUNNING' | 'PENDING', queueName: string, secondsAgo: number): Promise<string[]> {
  const { rows } = await db.pool.query<{ id: string }>(
    `insert into job (job_type, queue_name, created_at) select 'system.noop', $2, now() - make_interval(secs => $3 + 86400)
       from generate_series(1, $1) returning id`,
    [count, queueName, secondsAgo],
  );
  const ids = rows.map((row) => row.id);
  const set = (sql: string) => db.pool.query(`update job set ${sql} where id = any($1)`, [ids]);
  if (status === 'PENDING') return ids;
  if (status === 'CANCELLED') {
    await set(`status = 'CANCELLED'`);
    await db.pool.query(`update job set cancelled_at = now() - make_interval(secs => $2) where id = any($1)`, [ids, secondsAgo]);
    return ids;
  }
  await set(`status = 'RUNNING'`);
  await db.pool.query(`update job set started_at = now() - make_interval(secs => $2) where id = any($1)`, [ids, secondsAgo]);
  if (status === 'COMPLETED') {
    await set(`status = 'COMPLETED'`);
    await db.pool.query(`update job set completed_at = now() - make_interval(secs => $2) where id = any($1)`, [ids, secondsAgo]);
  } else if (status === 'FAILED') {
    await set(`status = 'FAILED', error_message = 'boom'`);
    await db.pool.query(`update job set failed_at = now() - make_interval(secs => $2) where id = any($1)`, [ids, secondsAgo]);
  }
  return ids;
}

it('purges each finished job past its rule (queue rule, then status rule, then JOB_RETENTION_DAYS), in batches, and nothing else', async () => {
  const gone = [
    ...(await jobs(2500, 'COMPLETED', 'default', 2 * DAY)), // COMPLETED=1d; more than two batches of 1,000
    ...(await jobs(3, 'COMPLETED', 'reports', 8 * DAY)), // reports/COMPLETED=7d
    ...(await jobs(3, 'FAILED', 'default', 100 * DAY)), // FAILED=90d
    ...(await jobs(3, 'CANCELLED', 'default', 31 * DAY)), // no rule: JOB_RETENTION_DAYS=30
  ];
  const kept = [
    ...(await jobs(3, 'COMPLETED', 'default', DAY / 2)),
    ...(await jobs(3, 'COMPLETED', 'reports', 2 * DAY)), // the queue's own rule wins over COMPLETED=1d
    ...(await jobs(3, 'FAILED', 'default', 30 * DAY)),
    ...(await jobs(3, 'CANCELLED', 'default', 3 * DAY)),
    // Never a waiting or running job, however old.
    ...(await jobs(3, 'RUNNING', 'default', 400 * DAY)),
    ...(await jobs(3, 'PENDING', 'default', 400 * DAY)),
  ];
  const rules = parseRetentionRules('COMPLETED=1d, FAILED=90d, reports/COMPLETED=7d');
  const deleted = await purgeByRules(db.pool, { rules, retentionDays: 30, pauseMs: 10 });
  expect(deleted).toBe(gone.length);
  const { rows } = await db.pool.query<{ id: string }>('select id from job');
  expect(rows.map((row) => row.id).sort()).toEqual([...kept].sort());
  const events = await db.pool.query(`select count(*)::int as n from job_event where job_id = any($1)`, [gone]);
  expect(events.rows[0].n).toBe(0);
});

it('prunes rate limit starts older than a day, of keys and queues that never start again, and keeps the recent ones', async () => {
  await db.pool.query(`insert into queue_rate_limit (queue_name, max_starts, interval_ms) values ('limited', 5, 1000)`);
  await db.pool.query(
    `insert into rate_limit_key_start (tenant_id, rate_limit_key, started_at)
     select 'default', 'customer:' || (i % 7), now() - make_interval(hours => case when i <= 2500 then 25 else 23 end)
       from generate_series(1, 2510) as i`,
  );
  await db.pool.query(
    `insert into queue_rate_limit_start (queue_name, started_at) values ('limited', now() - interval '2 days'), ('limited', now() - interval '1 minute')`,
  );
  expect(await pruneRateLimitStarts(db.pool)).toBe(2501);
  const keys = await db.pool.query(`select count(*)::int as n, min(started_at) > now() - interval '1 day' as none_older_than_a_day from rate_limit_key_start`);
  expect(keys.rows[0]).toEqual({ n: 10, none_older_than_a_day: true });
  const queues = await db.pool.query(`select count(*)::int as n from queue_rate_limit_start where started_at > now() - interval '1 hour'`);
  expect(queues.rows[0].n).toBe(1);
  expect((await db.pool.query(`select count(*)::int as n from queue_rate_limit_start`)).rows[0].n).toBe(1);
});

it('refuses a bad JOB_RETENTION at start, naming the rule', () => {
  expect(() => loadConfig({ JOB_RETENTION: 'COMPLETED=1w' })).toThrow(/JOB_RETENTION.*"COMPLETED=1w" is not \[queue\/\]STATUS=<n>m\|h\|d/);
  expect(() => loadConfig({ JOB_RETENTION: 'RUNNING=1d' })).toThrow(/JOB_RETENTION.*RUNNING is not a finished status/);
  expect(() => loadConfig({ JOB_RETENTION: 'FAILED=1d,failed=2d' })).toThrow(/JOB_RETENTION.*FAILED has two rules/);
  expect(loadConfig({ JOB_RETENTION: 'reports/completed=12h' }).JOB_RETENTION).toEqual([{ queueName: 'reports', status: 'COMPLETED', seconds: 12 * 3600 }]);
});
