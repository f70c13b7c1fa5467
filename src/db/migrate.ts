// Brings a database to the current schema: graphile-worker's own schema first
// (our create path calls graphile_worker.add_jobs), then our committed
// graphile-migrate migrations. Processes starting together take turns (see
// withMigrationLock).
import { migrate as graphileMigrate } from 'graphile-migrate';
import pg from 'pg';
import { runMigrations } from 'graphile-worker';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.ts';

export const MIGRATIONS_FOLDER = path.resolve(fileURLToPath(import.meta.url), '../../../migrations');

export async function migrateDatabase(connectionString: string, logger: Logger): Promise<void> {
  await withMigrationLock(connectionString, logger, async () => {
    await runMigrations({ connectionString, logger: workerLogger(logger) });
    await graphileMigrate({
      connectionString,
      migrationsFolder: MIGRATIONS_FOLDER,
      logger: migrateLogger(logger),
    });
  });
}

/** Any fixed key: every jobwire process of a database waits on the same one. */
const MIGRATION_LOCK_KEY = 'jobwire.migrate';

/**
 * Runs fn while holding a session advisory lock, waiting for it. Neither tool
 * waits by itself: graphile-migrate tries its lock once and fails ("Failed to
 * get exclusive lock"), and two graphile-worker installs of a fresh database
 * collide on its schema. So processes started together migrate one after the
 * other; the later ones find the schema current and do nothing.
 */
async function withMigrationLock(connectionString: string, logger: Logger, fn: () => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString, application_name: 'jobwire migrate' });
  client.on('error', (error) => logger.warn({ err: error }, 'migration lock connection failed'));
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [MIGRATION_LOCK_KEY]);
    if (!rows[0]!.locked) {
      logger.info('another process is migrating the database; waiting for it');
      await client.query('select pg_advisory_lock(hashtext($1))', [MIGRATION_LOCK_KEY]);
    }
    await fn();
  } finally {
    // Closing the session releases the lock, also when fn failed.
    await client.end().catch(() => undefined);
  }
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
