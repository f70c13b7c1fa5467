// An app's worker runs against a schema the jobwire service migrated: it checks
// that the schema is there and not older than this package, and never migrates.
import type pg from 'pg';
import { lastCommittedMigration } from '../health.ts';

export class SchemaNotReadyError extends Error {
  override name = 'SchemaNotReadyError';
}

export async function assertSchemaCurrent(pool: pg.Pool, databaseUrl: string): Promise<void> {
  const where = describeDatabase(databaseUrl);
  const { file, hash } = await lastCommittedMigration();
  const found = await pool.query<{ migrated: boolean }>(`select to_regclass('graphile_migrate.migrations') is not null as migrated`);
  const migrated = found.rows[0]!.migrated;
  const applied =
    migrated && (await pool.query('select 1 from graphile_migrate.migrations where hash = $1', [hash])).rowCount === 1;
  if (!migrated) {
    throw new SchemaNotReadyError(
      `the database ${where} has no jobwire schema: start the jobwire service on it first (it migrates), or run \`jobwire migrate\`; a worker never migrates`,
    );
  }
  if (!applied) {
    throw new SchemaNotReadyError(
      `the jobwire schema of the database ${where} is older than this package (its migration ${file} is not applied): upgrade the jobwire service first`,
    );
  }
}

/** Host, port and database name: never the password. */
function describeDatabase(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  } catch {
    return '(DATABASE_URL)';
  }
}
