// Tenant isolation in one place. GraphQL reads go through a Prisma client that
// adds `tenantId = <the caller's tenant>` to every operation on a tenant-owned
// model, so a resolver cannot forget it; raw SQL takes `visibleTenant(...)` as
// a parameter and filters with `tenantCondition`. Another tenant's row then
// answers exactly as a missing one. Admin reads every tenant.
import type { PrismaClient } from '../db/prisma.ts';
import { visibleTenant, type Principal } from './principal.ts';

/** The column that makes a model tenant-owned. */
const TENANT_FIELD = 'tenantId';

/**
 * Models whose rows carry tenantId, read from the client's data model (the
 * generated client's copy of prisma/schema.prisma): a model gains tenant
 * scoping by having the column, never by being listed somewhere.
 */
export function tenantModels(prisma: PrismaClient): Set<string> {
  const { models } = (prisma as unknown as { _runtimeDataModel: { models: Record<string, { fields: Array<{ name: string }> }> } })._runtimeDataModel;
  return new Set(Object.keys(models).filter((model) => models[model]!.fields.some((field) => field.name === TENANT_FIELD)));
}

/** Operations whose `where` is narrowed (creates are stamped by SQL triggers and insertJobs). */
const FILTERED_OPERATIONS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
  'update',
  'updateMany',
  'delete',
  'deleteMany',
]);

function scopeToTenant(prisma: PrismaClient, tenantId: string, scoped: Set<string>) {
  return prisma.$extends({
    name: `tenant:${tenantId}`,
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }) {
          if (!scoped.has(model) || !FILTERED_OPERATIONS.has(operation)) return query(args);
          const narrowed = args as { where?: Record<string, unknown> };
          return query({ ...narrowed, where: { ...narrowed.where, tenantId } } as typeof args);
        },
      },
    },
  }) as unknown as PrismaClient;
}

/** One scoped client per tenant, made on first use (an extension costs more than a request). */
export class TenantScopedPrisma {
  readonly #byTenant = new Map<string, PrismaClient>();
  readonly #models: Set<string>;
  constructor(private readonly prisma: PrismaClient) {
    this.#models = tenantModels(prisma);
  }

  for(principal: Principal): PrismaClient {
    const tenantId = visibleTenant(principal);
    if (tenantId === null) return this.prisma;
    let client = this.#byTenant.get(tenantId);
    if (!client) this.#byTenant.set(tenantId, (client = scopeToTenant(this.prisma, tenantId, this.#models)));
    return client;
  }
}

/**
 * SQL condition for raw queries: `tenantCondition('j', 3)` with `visibleTenant(principal)`
 * as parameter $3 (null for admin: every tenant).
 */
export function tenantCondition(alias: string, parameter: number): string {
  return `($${parameter}::text is null or ${alias}.tenant_id = $${parameter}::text)`;
}
