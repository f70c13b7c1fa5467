// `npm run db:dump`: migrates a fresh database (on an embedded Postgres, or on
// the server of TEST_DATABASE_URL) and writes its schema to db/schema.sql.
import { writeFile } from 'node:fs/promises';
import { createLogger } from '../src/logger.ts';
import { createMigratedDatabase, onServer, startPostgresServer } from '../src/testing/postgres-server.ts';
import { dumpSchema } from '../src/testing/schema-dump.ts';

const SCHEMA_FILE = 'db/schema.sql';

const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
const server = await startPostgresServer({ url: process.env.TEST_DATABASE_URL, logger, tmpPrefix: 'jobwire-dump-' });
try {
  const name = `jobwire_schema_dump_${process.pid}`;
  const url = await createMigratedDatabase(server.adminUrl, name, logger);
  try {
    await writeFile(SCHEMA_FILE, await dumpSchema(url));
  } finally {
    await onServer(server.adminUrl, `drop database if exists ${name} with (force)`);
  }
  console.log(`wrote ${SCHEMA_FILE}`);
} finally {
  await server.stop();
}
