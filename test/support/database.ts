import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { dispose, once } from './dispose.ts';
import { databaseUrl, onServer, TEMPLATE_DATABASE } from '../../src/testing/postgres-server.ts';

export interface TestDatabase {
  url: string;
  /** A pool for assertions and for changing data behind the API's back. */
  pool: pg.Pool;
  drop(): Promise<void>;
}

/**
 * A fresh database for one test file, cloned from the migrated template
 * (`empty`: with no schema at all, as a first start finds it); dropped when the file (or test) ends.
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = `jobwire_test_${randomBytes(6).toString('hex')}`;
  await onServer(adminUrl, options.empty ? `create database ${name}` : `create database ${name} template ${TEMPLATE_DATABASE}`);
  const url = databaseUrl(adminUrl, name);
  const pool = new pg.Pool({ connectionString: url, max: 5 });
  // pool.end() resolves before its connections have closed; the drop below
  // waits for them, so that `with (force)` has none left to cut mid-close.
  const closed: Array<Promise<unknown>> = [];
  pool.on('connect', (client) => closed.push(new Promise((resolve) => client.once('end', resolve))));
  const drop = once(async () => {
    await pool.end();
    await Promise.all(closed);
    await onServer(adminUrl, `drop database if exists ${name} with (force)`);
  });
  dispose(drop);
  return { url, pool, drop };
}
