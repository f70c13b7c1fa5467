// jobwire CLI: `start` (API + worker), `serve` (API only), `work` (worker only), `migrate`.
import './v8-flags.ts';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { resolveDatabase, startApp, type Roles } from './app.ts';
import { migrateDatabase } from './db/migrate.ts';
import { isConnectionError } from './db/retry.ts';
import { createLogger } from './logger.ts';
import { EXIT_USAGE, exitOnStartupFailure, StartupError } from './startup-errors.ts';

const USAGE = `usage: jobwire <command>

commands:
  start     API and worker in one process (default)
  serve     API only (GraphQL over HTTP and websockets)
  work      worker only
  migrate   bring the database to the current schema and exit

Configuration comes from environment variables; see README.md.`;

const ROLES: Record<string, Roles> = {
  start: { api: true, worker: true },
  serve: { api: true, worker: false },
  work: { api: false, worker: true },
};

async function main() {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  const command = positionals[0] ?? 'start';
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (!(command in ROLES || command === 'migrate') || positionals.length > 1) {
    const unknown = command in ROLES || command === 'migrate' ? positionals[1] : command;
    throw new StartupError(`unknown command "${unknown}": commands are start, serve, work, migrate; see jobwire --help`, EXIT_USAGE);
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

// A failed start is one line on stderr and a non-zero exit (startup-errors.ts).
main().catch((error) => exitOnStartupFailure(error, { printStack: /^(debug|trace)$/.test(process.env.LOG_LEVEL ?? '') }));
