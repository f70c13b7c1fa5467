// `jobwire connections set|list|delete|rotate`: a tenant's provider
// connections, on the database directly (an operator, as `keys`), through the
// same service as the GraphQL API (src/connections/connections.ts). A token
// is read from stdin, never from the command line (which `ps` and shell
// histories show), and never printed: listings show its last four characters.
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { InvalidArgumentError, type Command } from 'commander';
import pg from 'pg';
import { ConnectionProvider, ProviderConnections, type ProviderConnection } from '../connections/connections.ts';
import { ConnectionKeyring } from '../connections/encryption.ts';
import { rotateWebhookSecrets } from '../webhooks/subscriptions.ts';
import { addSettingFlags, type SettingFlag } from './config.ts';
import { withOperatorDatabase, type OperatorDatabase } from './database.ts';

const FLAGS: readonly SettingFlag[] = ['databaseUrl', 'logLevel'];

/** `ynab`, `ibkr-flex` (any case, - or _) → the provider. */
export function parseProvider(value: string): ConnectionProvider {
  const name = value.trim().toUpperCase().replaceAll('-', '_');
  if (!(Object.values(ConnectionProvider) as string[]).includes(name)) {
    throw new InvalidArgumentError(`unknown provider "${value}"; one of ${Object.values(ConnectionProvider).map((p) => p.toLowerCase().replaceAll('_', '-')).join(', ')}`);
  }
  return name as ConnectionProvider;
}

/** One line per connection, for `connections list` and `set`. */
export function formatConnection(connection: ProviderConnection): string {
  return [
    `tenant=${connection.tenantId}`,
    `provider=${connection.provider}`,
    `token=…${connection.tokenLast4}`,
    `key=${connection.keyId}`,
    `updated ${connection.updatedAt.toISOString()}`,
  ].join('\t');
}

/** The token: the first line of stdin when piped; typed at a prompt, not echoed, on a terminal. */
export async function readToken(input: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin): Promise<string> {
  if (input.isTTY) {
    process.stderr.write('token (not shown): ');
    const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
    const prompt = createInterface({ input, output: muted, terminal: true });
    try {
      return (await prompt.question('')).trim();
    } finally {
      prompt.close();
      process.stderr.write('\n');
    }
  }
  let text = '';
  for await (const chunk of input) text += String(chunk);
  return (text.split('\n')[0] ?? '').trim();
}

async function withConnections<T>(database: OperatorDatabase, fn: (connections: ProviderConnections) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: database.url, max: 2, application_name: 'jobwire-connections' });
  try {
    return await fn(new ProviderConnections(pool, database.config));
  } finally {
    await pool.end();
  }
}

export function addConnectionsCommands(program: Command) {
  const connections = program
    .command('connections')
    .description("save, list, delete and re-encrypt tenants' provider connections (works on the database directly: whoever holds its credentials is an admin)");

  const set = connections
    .command('set')
    .description('save (or replace) a tenant\'s connection to a provider; the token is read from stdin (e.g. `printf %s "$TOKEN" | jobwire connections set ...`)')
    .requiredOption('--tenant <tenant>', 'the tenant whose jobs use it')
    .requiredOption('--provider <provider>', 'ynab or ibkr-flex', parseProvider)
    .option('--query-id <id>', 'ibkr-flex: the Flex query id');
  addSettingFlags(set, FLAGS).action(
    withOperatorDatabase(async (database, options: { tenant: string; provider: ConnectionProvider; queryId?: string }) => {
      const token = await readToken();
      if (!token) throw new Error('no token on stdin: pipe it in, e.g. `printf %s "$TOKEN" | jobwire connections set ...` (never as an argument)');
      const saved = await withConnections(database, (service) => service.save(options.tenant, { provider: options.provider, token, queryId: options.queryId ?? null }));
      console.log(formatConnection(saved));
    }),
  );

  const list = connections.command('list').description('list connections, one per line (never their secrets)').option('--tenant <tenant>', "one tenant's only");
  addSettingFlags(list, FLAGS).action(
    withOperatorDatabase(async (database, options: { tenant?: string }) => {
      for (const connection of await withConnections(database, (service) => service.list(options.tenant ?? null))) console.log(formatConnection(connection));
    }),
  );

  const remove = connections
    .command('delete')
    .description("delete a tenant's connection to a provider (its jobs can no longer reach it)")
    .requiredOption('--tenant <tenant>', 'the tenant')
    .requiredOption('--provider <provider>', 'ynab or ibkr-flex', parseProvider);
  addSettingFlags(remove, FLAGS).action(
    withOperatorDatabase(async (database, options: { tenant: string; provider: ConnectionProvider }) => {
      const deleted = await withConnections(database, (service) => service.delete(options.tenant, options.provider));
      if (!deleted) throw new Error(`tenant ${options.tenant} has no ${options.provider} connection`);
      console.log(`deleted ${formatConnection(deleted)}`);
    }),
  );

  const rotate = connections
    .command('rotate')
    .description(
      "re-encrypt every connection, and every webhook subscription's secret, with CONNECTIONS_ENCRYPTION_KEY (the earlier keys in CONNECTIONS_ENCRYPTION_KEYS); afterwards the earlier keys can go",
    );
  addSettingFlags(rotate, FLAGS).action(
    withOperatorDatabase(async (database) => {
      const { resealed, alreadyCurrent } = await withConnections(database, (service) => service.rotate());
      console.log(`re-encrypted ${resealed} connection(s) with key ${ConnectionKeyring.fromConfig(database.config).currentKeyId}; ${alreadyCurrent} already were`);
      // Webhook subscriptions' secrets are sealed with the same keys (src/webhooks/subscriptions.ts).
      const pool = new pg.Pool({ connectionString: database.url, max: 1, application_name: 'jobwire-connections' });
      const hooks = await rotateWebhookSecrets(pool, ConnectionKeyring.fromConfig(database.config)).finally(() => pool.end());
      console.log(`re-encrypted ${hooks.resealed} webhook subscription secret(s); ${hooks.alreadyCurrent} already were`);
    }),
  );
}
