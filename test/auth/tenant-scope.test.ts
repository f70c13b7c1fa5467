// Every Prisma model with a tenantId column is narrowed to the caller's tenant:
// the scope is read from the client's data model, so a model added with the
// column cannot be left out, and each kind's declared tenant models are ones.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TenantScopedPrisma, tenantModels } from '../../src/auth/tenant-scope.ts';
import type { Principal } from '../../src/auth/principal.ts';
import { PrismaPg } from '@prisma/adapter-pg';
import { createPrisma, type PrismaClient } from '../../src/db/prisma.ts';
import { PrismaClient as GeneratedPrismaClient } from '../../src/generated/prisma/client.ts';
import { defaultKinds } from '../../src/kinds.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const TENANT: Principal = { principalId: 'someone', tenantId: 'tenant-a', scopes: new Set(['jobs:read']), expiresAt: null };

let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await createTestDatabase();
  prisma = createPrisma(db.pool);
});
afterAll(() => prisma.$disconnect());

/** Every model of prisma/schema.prisma with a tenantId field, read from the schema file itself. */
function modelsWithTenantIdInSchemaFile(source: string): string[] {
  return [...source.matchAll(/^model (\w+) \{\n([\s\S]*?)^\}/gm)].filter(([, , body]) => /^\s+tenantId\s/m.test(body!)).map(([, name]) => name!);
}

it('scopes every model of prisma/schema.prisma that has a tenantId', async () => {
  const { readFile } = await import('node:fs/promises');
  const inSchema = modelsWithTenantIdInSchemaFile(await readFile('prisma/schema.prisma', 'utf8'));
  expect(inSchema.length).toBeGreaterThan(10);
  expect([...tenantModels(prisma)].sort()).toEqual(inSchema.sort());
});

it("adds the caller's tenant to the SQL of a read on each of them", async () => {
  // A client that reports its SQL, scoped as the API scopes the caller's reads.
  const logging = new GeneratedPrismaClient({ adapter: new PrismaPg(db.pool), log: [{ emit: 'event', level: 'query' }] });
  const statements: Array<{ query: string; params: string }> = [];
  logging.$on('query', (event) => statements.push({ query: event.query, params: event.params }));
  const scoped = new TenantScopedPrisma(logging).for(TENANT);
  const unscopedReads: string[] = [];
  for (const model of tenantModels(logging)) {
    const delegate = (scoped as unknown as Record<string, { findMany(args: unknown): Promise<unknown[]> }>)[model[0]!.toLowerCase() + model.slice(1)]!;
    statements.length = 0;
    await delegate.findMany({ take: 1 });
    const read = statements.find((statement) => /\bselect\b/i.test(statement.query));
    if (!read || !/"tenant_id" = \$\d/.test(read.query) || !read.params.includes(TENANT.tenantId)) unscopedReads.push(model);
  }
  await logging.$disconnect();
  expect(unscopedReads).toEqual([]);
});

it("names only tenant-owned models among the kinds' tenant models, each owned by one kind", () => {
  const owned = defaultKinds.flatMap((kind) => kind.tenantModels);
  expect(new Set(owned).size).toBe(owned.length);
  const scoped = tenantModels(prisma);
  expect(owned.filter((model) => !scoped.has(model))).toEqual([]);
});
