// The committed schema.graphql matches the code, and Prisma's schema matches
// the migrated database (graphile-migrate owns the DDL; Prisma mirrors it).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { printSortedSchema } from '../src/graphql/schema.ts';
import { createPrisma } from '../src/db/prisma.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

it('schema.graphql is up to date (run `npm run schema:print`)', () => {
  expect(readFileSync('schema.graphql', 'utf8')).toBe(printSortedSchema());
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
  expect(prisma).toEqual(Object.fromEntries(database));
});
