// `jobwire tenants set-quota|show|clear-quota`: the real CLI on a test
// database; a bad flag is refused naming it (exit 2) and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQuotaFlags } from '../../src/cli/tenant-quotas.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_ENV } from '../support/app.ts';
import { runCli } from '../support/cli.ts';

let db: TestDatabase;

const cli = (args: string[]) => runCli(args, { ...TEST_ENV, DATABASE_URL: db.url });

const quotaRows = async () => (await db.pool.query('select * from tenant_quota order by tenant_id')).rows.map(({ updated_at: _at, ...row }) => row);

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('tenants', () => {
  it('set-quota sets the limits given (none: no limit), show prints them with the usage, clear-quota removes them', async () => {
    const set = await cli(['tenants', 'set-quota', 'acme', '--max-queued-jobs', '1000', '--max-schedules', '5', '--min-cron-interval-seconds', '60', '--min-priority', '-10', '--max-priority', '10']);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    expect(set.stdout.trim()).toBe('tenant=acme\tmaxQueuedJobs=1000 (queued 0)\tmaxSchedules=5 (schedules 0)\tminCronIntervalSeconds=60\tminPriority=-10\tmaxPriority=10');
    expect(await quotaRows()).toEqual([
      { tenant_id: 'acme', max_queued_jobs: 1000, max_schedules: 5, min_cron_interval_seconds: 60, min_priority: -10, max_priority: 10 },
    ]);

    const changed = await cli(['tenants', 'set-quota', 'acme', '--max-schedules', 'none']);
    expect(changed.code).toBe(0);
    expect(await quotaRows()).toEqual([
      { tenant_id: 'acme', max_queued_jobs: 1000, max_schedules: null, min_cron_interval_seconds: 60, min_priority: -10, max_priority: 10 },
    ]);

    const show = await cli(['tenants', 'show']);
    expect(show.stdout.trim()).toBe('tenant=acme\tmaxQueuedJobs=1000 (queued 0)\tmaxSchedules=none (schedules 0)\tminCronIntervalSeconds=60\tminPriority=-10\tmaxPriority=10');

    const cleared = await cli(['tenants', 'clear-quota', 'acme']);
    expect(cleared.stdout.trim()).toBe('cleared the limits of acme');
    expect(await quotaRows()).toEqual([]);
  }, 180_000);

  it('a bad value is refused naming its flag, exit status 2, and nothing changes', async () => {
    const refused = await cli(['tenants', 'set-quota', 'acme', '--max-queued-jobs', '-5']);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe('--max-queued-jobs: "-5" is not an integer 0..2147483647 or "none"');
    expect(await quotaRows()).toEqual([]);
    const crossed = await cli(['tenants', 'set-quota', 'acme', '--min-priority', '5', '--max-priority', '4']);
    expect(crossed.code).toBe(2);
    expect(crossed.stderr.trim()).toBe('--min-priority must not be above --max-priority (with the values already set)');
    expect(await quotaRows()).toEqual([]);
  }, 120_000);
});

describe('parseQuotaFlags', () => {
  it('reads integers and none, and names the flag of a bad value', () => {
    expect(parseQuotaFlags({ maxQueuedJobs: '10', minPriority: 'none' })).toEqual({ maxQueuedJobs: 10, minPriority: null });
    expect(() => parseQuotaFlags({ maxPriority: '1001' })).toThrow('--max-priority: "1001" is not an integer -1000..1000 or "none"');
    expect(() => parseQuotaFlags({ minCronIntervalSeconds: '0' })).toThrow('--min-cron-interval-seconds: "0" is not an integer 1..2147483647 or "none"');
    expect(() => parseQuotaFlags({ maxSchedules: '1.5' })).toThrow('--max-schedules');
    expect(() => parseQuotaFlags({})).toThrow('set-quota needs at least one of --max-queued-jobs');
  });
});
