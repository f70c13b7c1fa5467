// Brings a database to the current schema: graphile-worker's own schema first
// (our create path calls graphile_worker.add_jobs), then our committed
// graphile-migrate migrations.
import { migrate as graphileMigrate } from 'graphile-migrate';
import { runMigrations } from 'graphile-worker';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.ts';

export const MIGRATIONS_FOLDER = path.resolve(fileURLToPath(import.meta.url), '../../../migrations');

export async function migrateDatabase(connectionString: string, logger: Logger): Promise<void> {
  await runMigrations({ connectionString, logger: workerLogger(logger) });
  await graphileMigrate({
    connectionString,
    migrationsFolder: MIGRATIONS_FOLDER,
    logger: migrateLogger(logger),
  });
}

import { Logger as GraphileLogger } from 'graphile-worker';
import { Logger as MigrateLogger } from 'graphile-migrate';

type GraphileLevel = 'error' | 'warning' | 'info' | 'debug';
function pinoLevel(level: GraphileLevel) {
  return level === 'warning' ? 'warn' : level === 'info' ? 'debug' : level;
}

/** graphile-worker's logger interface over pino (its info lines are our debug). */
export function workerLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger((scope) => (level, message, meta) =>
    logger[pinoLevel(level as GraphileLevel)]({ scope, ...meta }, message),
  );
}

function migrateLogger(logger: Logger): MigrateLogger {
  return new MigrateLogger(() => (level, message) => logger[pinoLevel(level as GraphileLevel)](message));
}
