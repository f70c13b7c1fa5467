// The operator commands that work on the database directly (`keys`,
// `connections`): its credentials make the operator an admin, no token is involved.
import { resolveDatabase } from '../app.ts';
import type { ServiceConfig } from '../service-config.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { createLogger } from '../logger.ts';
import { EXIT_USAGE } from '../startup-errors.ts';
import { configFromFlags, type SettingFlag } from './config.ts';

/** What an operator command works on: the migrated database and the configuration (flags over the environment). */
export interface OperatorDatabase {
  url: string;
  config: ServiceConfig;
}

/**
 * Runs a command against the database (DATABASE_URL or --database-url; unset:
 * the embedded Postgres under DATA_DIR), migrated first. A refusal (an unknown
 * scope, a bad expiry, an unknown key, ...) is its message on stderr and exit
 * status 2; a database that cannot be reached or migrated fails as a start does.
 */
export function withOperatorDatabase<A extends unknown[]>(action: (database: OperatorDatabase, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    // Commander passes the options, then the command, last.
    const config = configFromFlags(args.at(-2) as Partial<Record<SettingFlag, string>>);
    const logger = createLogger(config.LOG_LEVEL);
    const database = await resolveDatabase(config, logger);
    try {
      await migrateDatabase(database.url, logger);
      await action({ url: database.url, config }, ...args);
    } catch (error) {
      console.error((error as Error).message);
      process.exitCode = EXIT_USAGE;
    } finally {
      await database.embedded?.stop();
    }
  };
}
