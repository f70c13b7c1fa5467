// `jobwire tenants set-quota|clear-quota|show`: the operator's per-tenant
// limits (docs/quotas.md), on the database directly (an operator, as `keys`).
// The subcommands join a `tenants` command another file may have made already.
import type { Command } from 'commander';
import pg from 'pg';
import { clearTenantQuota, listTenantQuotas, setTenantQuota, tenantQuota, type TenantQuota, type TenantQuotaLimits } from '../jobs/tenant-quotas.ts';
import { addSettingFlags, type SettingFlag } from './config.ts';
import { withOperatorDatabase } from './database.ts';

const FLAGS: readonly SettingFlag[] = ['databaseUrl', 'logLevel'];

/** Each limit's flag, its bounds and what it means (the help and the refusals name the flag). */
const LIMIT_FLAGS: ReadonlyArray<{ limit: keyof TenantQuotaLimits; flag: string; option: string; min: number; max: number; help: string }> = [
  { limit: 'maxQueuedJobs', flag: '--max-queued-jobs', option: 'maxQueuedJobs', min: 0, max: 2_147_483_647, help: 'most jobs PENDING, SCHEDULED or RETRYING at once' },
  { limit: 'maxSchedules', flag: '--max-schedules', option: 'maxSchedules', min: 0, max: 2_147_483_647, help: 'most schedules' },
  { limit: 'minCronIntervalSeconds', flag: '--min-cron-interval-seconds', option: 'minCronIntervalSeconds', min: 1, max: 2_147_483_647, help: "shortest time between a schedule's ticks" },
  { limit: 'minPriority', flag: '--min-priority', option: 'minPriority', min: -1000, max: 1000, help: 'lowest priority a job may have' },
  { limit: 'maxPriority', flag: '--max-priority', option: 'maxPriority', min: -1000, max: 1000, help: 'highest priority a job may have' },
];

/** The limits the flags set: an integer in bounds, or `none` (no limit); a flag left out keeps its limit. */
export function parseQuotaFlags(options: Record<string, string | undefined>): Partial<TenantQuotaLimits> {
  const changes: Partial<TenantQuotaLimits> = {};
  for (const { limit, flag, option, min, max } of LIMIT_FLAGS) {
    const value = options[option];
    if (value === undefined) continue;
    if (value.trim().toLowerCase() === 'none') {
      changes[limit] = null;
      continue;
    }
    if (!/^-?\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
      throw new Error(`${flag}: "${value}" is not an integer ${min}..${max} or "none"`);
    }
    changes[limit] = Number(value);
  }
  if (Object.keys(changes).length === 0) throw new Error(`set-quota needs at least one of ${LIMIT_FLAGS.map((entry) => entry.flag).join(', ')}`);
  return changes;
}

/** One line per tenant: each limit with the usage it bounds. */
export function formatTenantQuota(quota: TenantQuota): string {
  const limit = (value: number | null) => (value === null ? 'none' : String(value));
  return [
    `tenant=${quota.tenantId}`,
    `maxQueuedJobs=${limit(quota.maxQueuedJobs)} (queued ${quota.queuedJobCount})`,
    `maxSchedules=${limit(quota.maxSchedules)} (schedules ${quota.scheduleCount})`,
    `minCronIntervalSeconds=${limit(quota.minCronIntervalSeconds)}`,
    `minPriority=${limit(quota.minPriority)}`,
    `maxPriority=${limit(quota.maxPriority)}`,
  ].join('\t');
}

async function withPool<T>(url: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'jobwire-tenants' });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

function tenantArgument(tenant: string): string {
  if (tenant.trim() === '') throw new Error('<tenant>: must not be empty');
  return tenant;
}

export function addTenantQuotaCommands(program: Command) {
  const tenants =
    program.commands.find((command) => command.name() === 'tenants') ??
    program.command('tenants').description("per-tenant settings (works on the database directly: whoever holds its credentials is an admin)");

  const set = tenants
    .command('set-quota')
    .description("set a tenant's limits (docs/quotas.md); flags left out keep their value, `none` removes one")
    .argument('<tenant>', 'the tenant id (as API keys and JWTs name it)');
  for (const { flag, help } of LIMIT_FLAGS) set.option(`${flag} <n|none>`, help);
  addSettingFlags(set, FLAGS).action(
    withOperatorDatabase(async ({ url }, tenant: string, options: Record<string, string | undefined>) => {
      const changes = parseQuotaFlags(options);
      const tenantId = tenantArgument(tenant);
      await withPool(url, async (pool) => {
        try {
          await setTenantQuota(pool, tenantId, changes);
        } catch (error) {
          if ((error as { constraint?: string }).constraint === 'tenant_quota_priority_range') {
            throw new Error('--min-priority must not be above --max-priority (with the values already set)');
          }
          throw error;
        }
        console.log(formatTenantQuota(await tenantQuota(pool, tenantId)));
      });
    }),
  );

  const clear = tenants.command('clear-quota').description("remove all of a tenant's limits").argument('<tenant>', 'the tenant id');
  addSettingFlags(clear, FLAGS).action(
    withOperatorDatabase(async ({ url }, tenant: string) => {
      const had = await withPool(url, (pool) => clearTenantQuota(pool, tenantArgument(tenant)));
      console.log(had ? `cleared the limits of ${tenant}` : `${tenant} had no limits`);
    }),
  );

  const show = tenants
    .command('show')
    .description("a tenant's limits and usage, one line; without a tenant, every tenant that has limits")
    .argument('[tenant]', 'the tenant id');
  addSettingFlags(show, FLAGS).action(
    withOperatorDatabase(async ({ url }, tenant: string | undefined) => {
      const quotas = await withPool(url, async (pool) => (tenant === undefined ? listTenantQuotas(pool) : [await tenantQuota(pool, tenantArgument(tenant))]));
      for (const quota of quotas) console.log(formatTenantQuota(quota));
    }),
  );
}
