// `jobwire keys create|list|revoke`: API key administration, on the database
// directly (DATABASE_URL or --database-url; unset: the embedded Postgres under
// DATA_DIR), which it brings to the current schema first. The commands (commander,
// cli/program.ts) call the functions below, which take plain values.
import type { Command } from 'commander';
import pg from 'pg';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyRecord } from '../auth/api-keys.ts';
import { parseScopes, SCOPES } from '../auth/principal.ts';
import { addSettingFlags, type SettingFlag } from './config.ts';
import { withOperatorDatabase } from './database.ts';

export interface CreateKeyOptions {
  name: string;
  tenant: string;
  /** Comma- or space-separated scopes (SCOPES). */
  scopes: string;
  /** ISO 8601 date-time, or a duration such as 30d, 12h, 90m. */
  expires?: string;
}

/** `30d`, `12h`, `90m` from now, or an ISO 8601 date-time. */
export function parseExpiry(value: string, now = Date.now()): Date {
  const duration = /^(\d+)([dhm])$/.exec(value.trim());
  if (duration) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[duration[2] as 'd' | 'h' | 'm'];
    return new Date(now + Number(duration[1]) * unit);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw new Error(`--expires: "${value}" is neither an ISO 8601 date-time nor a duration like 30d, 12h or 90m`);
  }
  return date;
}

async function withPool<T>(databaseUrl: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1, application_name: 'jobwire-keys' });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

/** Creates a key; the answer holds the key itself, which is never shown again. */
export async function createKey(databaseUrl: string, options: CreateKeyOptions): Promise<{ key: string; record: ApiKeyRecord }> {
  const scopes = [...parseScopes(options.scopes)];
  const expiresAt = options.expires ? parseExpiry(options.expires) : null;
  return withPool(databaseUrl, (pool) => createApiKey(pool, { name: options.name, tenantId: options.tenant, scopes, expiresAt }));
}

export async function listKeys(databaseUrl: string): Promise<ApiKeyRecord[]> {
  return withPool(databaseUrl, listApiKeys);
}

export async function revokeKey(databaseUrl: string, id: string): Promise<void> {
  const found = await withPool(databaseUrl, (pool) => revokeApiKey(pool, id));
  if (!found) throw new Error(`no API key with id ${id}`);
}

/** One line per key, for `keys list`. */
export function formatKey(record: ApiKeyRecord): string {
  const state = record.revokedAt
    ? `revoked ${record.revokedAt.toISOString()}`
    : record.expiresAt && record.expiresAt.getTime() <= Date.now()
      ? `expired ${record.expiresAt.toISOString()}`
      : record.expiresAt
        ? `expires ${record.expiresAt.toISOString()}`
        : 'no expiry';
  return [record.id, record.name, `tenant=${record.tenantId}`, `scopes=${record.scopes.join(',')}`, state].join('\t');
}

const KEY_FLAGS: readonly SettingFlag[] = ['databaseUrl', 'logLevel'];

export function addKeysCommands(program: Command) {
  const keys = program
    .command('keys')
    .description('create, list and revoke API keys (works on the database directly: whoever holds its credentials is an admin)');

  const create = keys
    .command('create')
    .description('create an API key; it is printed once (only its hash is stored)')
    .requiredOption('--name <name>', 'what the key is for (shown by keys list)')
    .requiredOption('--tenant <tenant>', 'the tenant whose jobs the key sees and creates')
    .requiredOption('--scopes <scopes>', `comma-separated: ${SCOPES.join(', ')} (admin implies the others and crosses tenants; metrics:read only scrapes /metrics; worker only speaks the remote-worker protocol)`)
    .option('--expires <when>', 'a duration from now (30d, 12h, 90m) or an ISO 8601 date-time; default: never');
  addSettingFlags(create, KEY_FLAGS).action(
    withOperatorDatabase(async ({ url: databaseUrl }, options: { name: string; tenant: string; scopes: string; expires?: string }) => {
      const { key, record } = await createKey(databaseUrl, options);
      console.log(formatKey(record));
      console.log(`\n${key}\n\nThis is the only time the key is shown; store it now.`);
    }),
  );

  const list = keys.command('list').description('list API keys, one per line (never their secrets)');
  addSettingFlags(list, KEY_FLAGS).action(
    withOperatorDatabase(async ({ url: databaseUrl }) => {
      for (const record of await listKeys(databaseUrl)) console.log(formatKey(record));
    }),
  );

  const revoke = keys.command('revoke').description('revoke an API key (refused from then on)').argument('<id>', 'key id (the first column of keys list)');
  addSettingFlags(revoke, KEY_FLAGS).action(
    withOperatorDatabase(async ({ url: databaseUrl }, id: string) => {
      await revokeKey(databaseUrl, id);
      console.log(`revoked ${id}`);
    }),
  );
}
