// The committed schema.graphql matches the code, db/schema.sql is the schema
// the migrations build, and Prisma's schema matches the migrated database
// (graphile-migrate owns the DDL; Prisma mirrors it).
import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { printSortedSchema } from '../../src/service-schema.ts';
import { createPrisma } from '../../src/db/prisma.ts';
import { dumpSchema } from '../../src/testing/schema-dump.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});

it('schema.graphql is up to date (run `npm run schema:print`)', () => {
  expect(readFileSync('schema.graphql', 'utf8')).toBe(printSortedSchema());
});

it('db/schema.sql is the schema of a freshly migrated database (run `npm run db:dump`)', async () => {
  // The test database is a clone of the template that global-setup migrated from nothing.
  expect(await dumpSchema(db.url), 'db/schema.sql is stale: run `npm run db:dump`').toBe(readFileSync('db/schema.sql', 'utf8'));
});

it('every Prisma model and field is a table and column of the migrated database, and the reverse', async () => {
  const { rows } = await db.pool.query<{ table_name: string; column_name: string }>(
    `select table_name, column_name from information_schema.columns
      where table_schema = 'public' order by table_name, column_name`,
  );
  const database = new Map<string, string[]>();
  for (const row of rows) database.set(row.table_name, [...(database.get(row.table_name) ?? []), row.column_name]);

  // The generated client's own view of its models (what its queries will use).
  type RuntimeModel = { dbName: string | null; fields: Array<{ kind: string; name: string; dbName?: string }> };
  const client = createPrisma(db.pool) as unknown as { _runtimeDataModel: { models: Record<string, RuntimeModel> } };
  const prisma = Object.fromEntries(
    Object.entries(client._runtimeDataModel.models).map(([name, model]) => [
      model.dbName ?? name,
      model.fields.filter((f) => f.kind !== 'object').map((f) => f.dbName ?? f.name).sort(),
    ]),
  );
  // Columns of types Prisma lacks (Unsupported("daterange"), ...) are absent from
  // the runtime model: take them from schema.prisma.
  const schemaText = readFileSync('prisma/schema.prisma', 'utf8');
  for (const block of schemaText.matchAll(/model \w+ \{([^}]*)\}/g)) {
    const table = /@@map\("(\w+)"\)/.exec(block[1]!)?.[1];
    if (!table || !prisma[table]) continue;
    for (const line of block[1]!.matchAll(/^\s*(\w+)\s+Unsupported\([^)]*\)[^\n]*$/gm)) {
      const column = /@map\("(\w+)"\)/.exec(line[0])?.[1] ?? line[1]!;
      prisma[table] = [...prisma[table]!, column].sort();
    }
  }
  expect(prisma).toEqual(Object.fromEntries(database));
});
