// Starts one Postgres for the whole run (embedded, unless TEST_DATABASE_URL
// names a server) and migrates a template database that each test file clones.
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/logger.ts';
import { createMigratedDatabase, startPostgresServer, TEMPLATE_DATABASE } from '../../src/testing/postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A connection string to the server's maintenance database (postgres). */
    adminDatabaseUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn');
  const server = await startPostgresServer({ url: process.env.TEST_DATABASE_URL, logger, tmpPrefix: 'jobwire-test-' });
  await createMigratedDatabase(server.adminUrl, TEMPLATE_DATABASE, logger);
  project.provide('adminDatabaseUrl', server.adminUrl);
  return () => server.stop();
}
