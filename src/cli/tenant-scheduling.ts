// `jobwire tenants set-scheduling|list-scheduling|clear-scheduling`: how
// workers share queues between tenants (docs/fairness.md), on the database
// directly (DATABASE_URL or --database-url): the operator's, never a tenant's.
// The commands hang on the `tenants` group (shared with the create-time quotas).
import type { Command } from 'commander';
import pg from 'pg';
import {
  clearTenantScheduling,
  listTenantScheduling,
  setTenantScheduling,
  TenantSchedulingError,
  WEIGHT_MAX,
  WEIGHT_MIN,
  type TenantScheduling,
  type TenantSchedulingChange,
} from '../flow/tenant-scheduling.ts';
import { addSettingFlags, type SettingFlag } from './config.ts';
import { withOperatorDatabase } from './database.ts';

async function withPool<T>(databaseUrl: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, application_name: 'jobwire-tenants' });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

/** The flags of set-scheduling as a change: a whole number each, `none` lifts the limit. */
export function parseSchedulingFlags(options: { weight?: string; maxRunningJobs?: string }): TenantSchedulingChange {
  const whole = (flag: string, value: string) => {
    if (!/^\d+$/.test(value.trim())) throw new TenantSchedulingError(`${flag}: must be a whole number, not "${value}"`);
    return Number(value);
  };
  const change: TenantSchedulingChange = {};
  if (options.weight !== undefined) {
    change.weight = whole('--weight', options.weight);
    if (change.weight < WEIGHT_MIN || change.weight > WEIGHT_MAX) {
      throw new TenantSchedulingError(`--weight: must be from ${WEIGHT_MIN} to ${WEIGHT_MAX}, not ${change.weight}`);
    }
  }
  if (options.maxRunningJobs !== undefined) {
    change.maxRunningJobs = options.maxRunningJobs.trim() === 'none' ? null : whole('--max-running-jobs', options.maxRunningJobs);
    if (change.maxRunningJobs === 0) throw new TenantSchedulingError('--max-running-jobs: must be at least 1 (or none for no limit), not 0');
  }
  if (change.weight === undefined && change.maxRunningJobs === undefined) {
    throw new TenantSchedulingError('nothing to set: give --weight, --max-running-jobs, or both');
  }
  return change;
}

/** One line per tenant, for list-scheduling. */
export function formatTenantScheduling(row: TenantScheduling): string {
  return [row.tenantId, `weight=${row.weight}`, `maxRunningJobs=${row.maxRunningJobs ?? 'none'}`, `updated ${row.updatedAt.toISOString()}`].join('\t');
}

const FLAGS: readonly SettingFlag[] = ['databaseUrl', 'logLevel'];

export function addTenantSchedulingCommands(tenants: Command) {
  const set = tenants
    .command('set-scheduling')
    .description(`set how a tenant shares queues with other tenants: its weight (${WEIGHT_MIN}-${WEIGHT_MAX}, default 1) and the most jobs it runs at once`)
    .argument('<tenant>', 'the tenant id (as in its API keys)')
    .option('--weight <n>', 'its share of the starts while several tenants have due jobs in one queue (2: twice a weight-1 tenant\'s)')
    .option('--max-running-jobs <n>', 'the most of its jobs running at once across all workers; none: no limit');
  addSettingFlags(set, FLAGS).action(
    withOperatorDatabase(async ({ url }, tenant: string, options: { weight?: string; maxRunningJobs?: string }) => {
      const change = parseSchedulingFlags(options);
      console.log(formatTenantScheduling(await withPool(url, (pool) => setTenantScheduling(pool, tenant, change))));
    }),
  );

  const list = tenants
    .command('list-scheduling')
    .description('list the tenants with scheduling settings (the others have weight 1 and no running limit)')
    .argument('[tenant]', 'only this tenant');
  addSettingFlags(list, FLAGS).action(
    withOperatorDatabase(async ({ url }, tenant: string | undefined) => {
      for (const row of await withPool(url, (pool) => listTenantScheduling(pool, tenant))) console.log(formatTenantScheduling(row));
    }),
  );

  const clear = tenants
    .command('clear-scheduling')
    .description('remove a tenant\'s scheduling settings (back to weight 1, no running limit)')
    .argument('<tenant>', 'the tenant id');
  addSettingFlags(clear, FLAGS).action(
    withOperatorDatabase(async ({ url }, tenant: string) => {
      if (!(await withPool(url, (pool) => clearTenantScheduling(pool, tenant)))) throw new TenantSchedulingError(`tenant ${tenant} has no scheduling settings`);
      console.log(`cleared ${tenant}`);
    }),
  );
}
