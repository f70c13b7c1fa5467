// A Postgres server for tests, benchmarks and scripts: the one at `url` when
// given (its maintenance database), else an embedded one in a temporary folder
// thrown away on stop. Databases on it are created empty, migrated, or cloned
// from a template.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import type { Logger } from '../logger.ts';
import { freePort } from './ports.ts';

/** The migrated database that each test file's database is cloned from. */
export const TEMPLATE_DATABASE = 'jobwire_template';

export interface PostgresServer {
  /** A connection string to the server's maintenance database (postgres). */
  adminUrl: string;
  stop(): Promise<void>;
}

/** Starts (or, with `url`, reaches) a Postgres server. */
export async function startPostgresServer(options: { url?: string; logger: Logger; tmpPrefix?: string }): Promise<PostgresServer> {
  if (options.url) {
    const url = new URL(options.url);
    url.pathname = '/postgres';
    return { adminUrl: url.toString(), stop: async () => {} };
  }
  const dataDir = await mkdtemp(path.join(os.tmpdir(), options.tmpPrefix ?? 'jobwire-'));
  // Postgres runs as its own user when we are root: it must reach the folder.
  await chmod(dataDir, 0o755);
  const embedded = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'postgres', logger: options.logger, persistent: false });
  return {
    adminUrl: embedded.connectionString,
    async stop() {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The connection string of database `name` on the server of `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs statements on the maintenance database (create/drop database cannot run in a pool's transaction). */
export async function onServer(adminUrl: string, ...statements: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    for (const statement of statements) await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/** Creates database `name` afresh (dropping one of that name) and migrates it; returns its URL. */
export async function createMigratedDatabase(adminUrl: string, name: string, logger: Logger): Promise<string> {
  await onServer(adminUrl, `drop database if exists ${name} with (force)`, `create database ${name}`);
  const url = databaseUrl(adminUrl, name);
  await migrateDatabase(url, logger);
  return url;
}
