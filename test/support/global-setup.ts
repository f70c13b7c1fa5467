// Starts one Postgres for the whole run (embedded, unless TEST_DATABASE_URL
// names a server) and migrates a template database that each test file clones.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { createLogger } from '../../src/logger.ts';
import { freePort } from './ports.ts';

export const TEMPLATE_DATABASE = 'jobwire_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A connection string to the server's maintenance database (postgres). */
    adminDatabaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn');
  let adminUrl: string;
  let teardown = async () => {};
  if (process.env.TEST_DATABASE_URL) {
    const url = new URL(process.env.TEST_DATABASE_URL);
    url.pathname = '/postgres';
    adminUrl = url.toString();
  } else {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'jobwire-test-'));
    // Postgres runs as its own user when we are root: it must reach the folder.
    await chmod(dataDir, 0o755);
    const embedded = await startEmbeddedPostgres({ dataDir, port: await freePort(), database: 'postgres', logger, persistent: false });
    adminUrl = embedded.connectionString;
    teardown = async () => {
      await embedded.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE_DATABASE}`);
  await admin.query(`create database ${TEMPLATE_DATABASE}`);
  await admin.end();
  const templateUrl = new URL(adminUrl);
  templateUrl.pathname = `/${TEMPLATE_DATABASE}`;
  await migrateDatabase(templateUrl.toString(), logger);

  project.provide('adminDatabaseUrl', adminUrl);
  return teardown;
}
