// The service commands: start (API + worker), serve (API), work (worker), migrate.
import type { Command } from 'commander';
import { resolveDatabase, startApp, type Roles } from '../app.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { isConnectionError } from '../db/retry.ts';
import { createLogger } from '../logger.ts';
import { EXIT_USAGE, StartupError } from '../startup-errors.ts';
import { startTracing } from '../tracing/setup.ts';
import { addSettingFlags, configFromFlags } from './config.ts';

const ROLES: Record<'start' | 'serve' | 'work', { roles: Roles; description: string }> = {
  start: { roles: { api: true, worker: true }, description: 'run the API and a worker in one process (the default command)' },
  serve: { roles: { api: true, worker: false }, description: 'run the API only: GraphQL over HTTP and websockets at /graphql' },
  work: { roles: { api: false, worker: true }, description: 'run a worker only' },
};

export const SERVICE_COMMANDS: readonly string[] = [...Object.keys(ROLES), 'migrate'];

export function addServiceCommands(program: Command) {
  for (const [name, { roles, description }] of Object.entries(ROLES)) {
    const command = program
      .command(name, { isDefault: name === 'start' })
      .description(description)
      // Extra words are checked in the action: `jobwire server` reaches the
      // default command (start) with "server" as one, an unknown command.
      .allowExcessArguments();
    addSettingFlags(command, ['host', 'port', 'databaseUrl', 'metricsPort', 'metricsHost', 'logLevel']).action(async (options, self: Command) => {
      refuseExtraWords(self);
      await runService(configFromFlags(options), roles);
    });
  }
  const migrate = program.command('migrate').description('bring the database to the current schema, then exit').allowExcessArguments();
  addSettingFlags(migrate, ['databaseUrl', 'logLevel']).action(
    async (options, self: Command) => {
      refuseExtraWords(self);
      const config = configFromFlags(options);
      const logger = createLogger(config.LOG_LEVEL);
      const database = await resolveDatabase(config, logger);
      await migrateDatabase(database.url, logger);
      await database.embedded?.stop();
      logger.info('database is up to date');
    },
  );
}

function refuseExtraWords(command: Command) {
  const word = command.args[0];
  if (word === undefined) return;
  const commands = command.parent!.commands.map((sub) => sub.name()).join(', ');
  throw new StartupError(`unknown command "${word}": commands are ${commands}; see jobwire --help`, EXIT_USAGE);
}

async function runService(config: ReturnType<typeof configFromFlags>, roles: Roles) {
  const logger = createLogger(config.LOG_LEVEL);
  // Off unless the OTEL_* variables ask for it (docs/tracing.md).
  const tracing = await startTracing(logger);
  const app = await startApp(config, logger, roles, {
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
  if (app.metricsServer) logger.info(`metrics: ${app.metricsServer.url}`);

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
    // Spans still batched are exported before the exit.
    app
      .stop()
      .then(() => tracing?.shutdown())
      .then(
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
