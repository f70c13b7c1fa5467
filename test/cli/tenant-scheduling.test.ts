// `jobwire tenants set-scheduling|list-scheduling|clear-scheduling`, the real
// CLI on the database: the operator sets weights and running limits; bad input
// is refused naming the flag and changes nothing. A tenant has no way to set
// them: no GraphQL field reads or writes them, whatever its key's scopes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, TEST_ENV } from '../support/app.ts';
import { printSortedSchema } from '../../src/service-schema.ts';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { clearTenantScheduling, setTenantScheduling } from '../../src/flow/tenant-scheduling.ts';
import { parseSchedulingFlags } from '../../src/cli/tenant-scheduling.ts';
import { runCli } from '../support/cli.ts';

let db: TestDatabase;

const cli = (args: string[]) => runCli(args, { ...TEST_ENV, DATABASE_URL: db.url });

const rows = async () => (await db.pool.query(`select tenant_id, weight, max_running_jobs from tenant_scheduling order by tenant_id`)).rows;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

// Each CLI run is a process that migrates first: slow on a loaded machine, so few of them.
it('sets and lists a tenant\'s weight and running limit (the real CLI)', async () => {
  const set = await cli(['tenants', 'set-scheduling', 'acme', '--weight', '3', '--max-running-jobs', '5']);
  expect(set.stderr).toBe('');
  expect(set.code).toBe(0);
  expect(set.stdout).toMatch(/^acme\tweight=3\tmaxRunningJobs=5\tupdated /);
  await setTenantScheduling(db.pool, 'globex', { maxRunningJobs: 2 });
  const listed = await cli(['tenants', 'list-scheduling']);
  expect(listed.stdout.trim().split('\n').map((line) => line.split('\t').slice(0, 3).join(' '))).toEqual([
    'acme weight=3 maxRunningJobs=5',
    'globex weight=1 maxRunningJobs=2',
  ]);
}, 180_000);

it('a bad flag is refused naming it, exit status 2, and changes nothing (the real CLI)', async () => {
  const before = await rows();
  const result = await cli(['tenants', 'set-scheduling', 'acme', '--weight', '0']);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('--weight: must be from 1 to 100, not 0');
  expect(await rows()).toEqual(before);
}, 180_000);

it('what is not given is kept, none lifts the limit, clear goes back to the defaults; every bad value is named', async () => {
  await setTenantScheduling(db.pool, 'acme', parseSchedulingFlags({ maxRunningJobs: 'none' }));
  expect(await rows()).toEqual([
    { tenant_id: 'acme', weight: 3, max_running_jobs: null },
    { tenant_id: 'globex', weight: 1, max_running_jobs: 2 },
  ]);
  expect(await clearTenantScheduling(db.pool, 'globex')).toBe(true);
  expect(await clearTenantScheduling(db.pool, 'nobody')).toBe(false);
  const refusals: Array<[{ weight?: string; maxRunningJobs?: string }, string]> = [
    [{ weight: '101' }, '--weight: must be from 1 to 100, not 101'],
    [{ weight: 'heavy' }, '--weight: must be a whole number, not "heavy"'],
    [{ maxRunningJobs: '0' }, '--max-running-jobs: must be at least 1 (or none for no limit), not 0'],
    [{ maxRunningJobs: '-3' }, '--max-running-jobs: must be a whole number, not "-3"'],
    [{}, 'nothing to set: give --weight, --max-running-jobs, or both'],
  ];
  for (const [flags, message] of refusals) expect(() => parseSchedulingFlags(flags)).toThrow(message);
  await expect(setTenantScheduling(db.pool, ' ', { weight: 2 })).rejects.toThrow('tenant: must not be empty');
  await expect(setTenantScheduling(db.pool, 'acme', { weight: 2.5 })).rejects.toThrow('weight: must be an integer from 1 to 100, not 2.5');
  expect(await rows()).toEqual([{ tenant_id: 'acme', weight: 3, max_running_jobs: null }]);
});

it('a tenant cannot read or set scheduling: no GraphQL field names it, and an admin key gets no such field either', async () => {
  const schema = printSortedSchema();
  expect(schema).not.toMatch(/weight|maxRunningJobs|tenantScheduling|TenantScheduling/i);
  const service = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' } });
  try {
    for (const scopes of [['jobs:read', 'jobs:write'], ['admin']] as const) {
      const { key } = await createApiKey(db.pool, { name: 'tenant', tenantId: 'acme', scopes: [...scopes], expiresAt: null });
      const attempt = await service.client.as(key).send(`mutation { setTenantScheduling(tenantId: "acme", weight: 100) { weight } }`);
      expect(attempt.body.errors?.[0]?.message).toContain('Cannot query field "setTenantScheduling" on type "Mutation"');
    }
  } finally {
    await service.stop();
  }
  expect(await rows()).toEqual([{ tenant_id: 'acme', weight: 3, max_running_jobs: null }]);
});
