// jobwire CLI: `start` (API + worker), `serve` (API only), `work` (worker only), `migrate`, `keys`.
import './v8-flags.ts';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { resolveDatabase, startApp, type Roles } from './app.ts';
import { migrateDatabase } from './db/migrate.ts';
import { isConnectionError } from './db/retry.ts';
import { createLogger } from './logger.ts';
import { EXIT_USAGE, exitOnStartupFailure, StartupError } from './startup-errors.ts';
import { createKey, formatKey, listKeys, revokeKey } from './cli/keys.ts';

const USAGE = `usage: jobwire <command>

commands:
  start     API and worker in one process (default)
  serve     API only (GraphQL over HTTP and websockets)
  work      worker only
  migrate   bring the database to the current schema and exit
  keys create --name NAME --tenant TENANT --scopes jobs:read,jobs:write[,admin] [--expires 30d|ISO date]
            create an API key (printed once: only its hash is stored)
  keys list           list API keys (never their secrets)
  keys revoke ID      revoke an API key

Configuration comes from environment variables; see README.md.`;

const ROLES: Record<string, Roles> = {
  start: { api: true, worker: true },
  serve: { api: true, worker: false },
  work: { api: false, worker: true },
};

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      name: { type: 'string' },
      tenant: { type: 'string' },
      scopes: { type: 'string' },
      expires: { type: 'string' },
    },
  });
  const command = positionals[0] ?? 'start';
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  // `keys` takes its action (and an id) as further words; the others take none.
  if (!(command in ROLES || command === 'migrate' || command === 'keys') || (command !== 'keys' && positionals.length > 1)) {
    const unknown = command in ROLES || command === 'migrate' ? positionals[1] : command;
    throw new StartupError(`unknown command "${unknown}": commands are start, serve, work, migrate, keys; see jobwire --help`, EXIT_USAGE);
  }

  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL);

  if (command === 'keys') {
    const database = await resolveDatabase(config, logger);
    try {
      await migrateDatabase(database.url, logger);
      await runKeysCommand(database.url, positionals.slice(1), values);
    } finally {
      await database.embedded?.stop();
    }
    return;
  }

  if (command === 'migrate') {
    const database = await resolveDatabase(config, logger);
    await migrateDatabase(database.url, logger);
    await database.embedded?.stop();
    logger.info('database is up to date');
    return;
  }

  const app = await startApp(config, logger, ROLES[command]!, {
    onFatal: (message) => {
      logger.fatal(message);
      process.exit(1);
    },
  });
  // A lost connection surfacing where nothing awaits it (a library's background
  // write) is ridden out: the paths that matter retry, and DatabaseAvailability
  // decides when to give up. Anything else still ends the process, as by default.
  process.on('unhandledRejection', (reason) => {
    if (isConnectionError(reason)) {
      logger.warn({ err: reason }, 'a background database call failed on a lost connection');
      return;
    }
    logger.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });
  if (app.api) logger.info(`GraphiQL: ${app.api.url}`);

  let stoppingSince = 0;
  const shutdown = (signal: string) => {
    if (stoppingSince) {
      // npm and tsx relay the terminal's signal too: only a later one means "now".
      if (Date.now() - stoppingSince < 2000) return;
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stoppingSince = Date.now();
    logger.info({ signal }, 'shutting down');
    app.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function runKeysCommand(databaseUrl: string, args: string[], values: { name?: string; tenant?: string; scopes?: string; expires?: string }) {
  const [action, id] = args;
  try {
    if (action === 'create') {
      if (!values.name || !values.tenant || !values.scopes) throw new Error('keys create needs --name, --tenant and --scopes');
      const { key, record } = await createKey(databaseUrl, { name: values.name, tenant: values.tenant, scopes: values.scopes, expires: values.expires });
      console.log(formatKey(record));
      console.log(`\n${key}\n\nThis is the only time the key is shown; store it now.`);
    } else if (action === 'list') {
      for (const record of await listKeys(databaseUrl)) console.log(formatKey(record));
    } else if (action === 'revoke' && id) {
      await revokeKey(databaseUrl, id);
      console.log(`revoked ${id}`);
    } else {
      throw new Error('usage: jobwire keys create|list|revoke ID');
    }
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 2;
  }
}

// A failed start is one line on stderr and a non-zero exit (startup-errors.ts).
main().catch((error) => exitOnStartupFailure(error, { printStack: /^(debug|trace)$/.test(process.env.LOG_LEVEL ?? '') }));
