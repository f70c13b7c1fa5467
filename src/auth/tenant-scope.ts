// Tenant isolation in one place. GraphQL reads go through a Prisma client that
// adds `tenantId = <the caller's tenant>` to every operation on a tenant-owned
// model, so a resolver cannot forget it; raw SQL takes `visibleTenant(...)` as
// a parameter and filters with `tenantCondition`. Another tenant's row then
// answers exactly as a missing one. Admin reads every tenant.
import type { PrismaClient } from '../db/prisma.ts';
import { visibleTenant, type Principal } from './principal.ts';

/** Prisma models (client property names) whose rows carry tenant_id. */
const TENANT_MODELS = new Set([
  'Job',
  'PortfolioImportJob',
  'CollectionJob',
  'ImportJob',
  'PortfolioTrade',
  'PortfolioCashTransaction',
  'PortfolioPosition',
  'QaPair',
  'Schedule',
  'BudgetJob',
  'Budget',
  'BudgetAccount',
  'BudgetCategory',
  'BudgetPayee',
  'BudgetTransaction',
  'CategorySuggestion',
  'BudgetSnapshot',
  'ProviderConnection',
]);

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

function scopeToTenant(prisma: PrismaClient, tenantId: string) {
  return prisma.$extends({
    name: `tenant:${tenantId}`,
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }) {
          if (!TENANT_MODELS.has(model) || !FILTERED_OPERATIONS.has(operation)) return query(args);
          const scoped = args as { where?: Record<string, unknown> };
          return query({ ...scoped, where: { ...scoped.where, tenantId } } as typeof args);
        },
      },
    },
  }) as unknown as PrismaClient;
}

/** One scoped client per tenant, made on first use (an extension costs more than a request). */
export class TenantScopedPrisma {
  readonly #byTenant = new Map<string, PrismaClient>();
  constructor(private readonly prisma: PrismaClient) {}

  for(principal: Principal): PrismaClient {
    const tenantId = visibleTenant(principal);
    if (tenantId === null) return this.prisma;
    let client = this.#byTenant.get(tenantId);
    if (!client) this.#byTenant.set(tenantId, (client = scopeToTenant(this.prisma, tenantId)));
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
