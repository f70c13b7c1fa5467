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

type Args = { where?: Record<string, unknown>; cursor?: Record<string, unknown>; select?: unknown; include?: unknown };

/**
 * Relations loaded as connections inside a tenant's row (Job.steps, Job.events,
 * JobStep.events, ImportJob.errors), by the model of their rows. Those rows have
 * no tenant of their own but belong to a job; Prisma finds a cursor's row by the
 * cursor alone (and takes no relation filter in it), so a cursor of another
 * tenant's job's row would page from its position.
 */
const NESTED_CURSOR_MODELS: Record<string, 'jobStep' | 'jobEvent' | 'importError'> = { steps: 'jobStep', events: 'jobEvent', importErrors: 'importError' };

/** A job id no job has: a cursor naming it finds no row, as an unknown cursor. */
const NO_JOB = '00000000-0000-0000-0000-000000000000';

function hasNestedCursor(args: Args): boolean {
  return (['select', 'include'] as const).some((key) => {
    const selection = args[key];
    if (!selection || typeof selection !== 'object') return false;
    return Object.entries(selection).some(([field, value]) => value && typeof value === 'object' && ((field in NESTED_CURSOR_MODELS && (value as Args).cursor) || hasNestedCursor(value as Args)));
  });
}

/** The args with every nested cursor of another tenant's job made to find nothing (one look-up per nested cursor; none without). */
async function scopeNestedCursors(prisma: PrismaClient, args: Args, tenantId: string): Promise<Args> {
  let copy: Args | null = null;
  for (const key of ['select', 'include'] as const) {
    const selection = args[key];
    if (!selection || typeof selection !== 'object') continue;
    let scopedSelection: Record<string, unknown> | null = null;
    for (const [field, value] of Object.entries(selection)) {
      if (!value || typeof value !== 'object') continue;
      let nested = await scopeNestedCursors(prisma, value as Args, tenantId);
      const model = NESTED_CURSOR_MODELS[field];
      if (model && nested.cursor) {
        const delegate = prisma[model] as unknown as { findFirst(args: unknown): Promise<unknown> };
        const owned = await delegate.findFirst({ where: { ...nested.cursor, job: { tenantId } }, select: { jobId: true } });
        if (!owned) nested = { ...nested, cursor: { ...nested.cursor, jobId: NO_JOB } };
      }
      if (nested !== value) (scopedSelection ??= { ...selection })[field] = nested;
    }
    if (scopedSelection) (copy ??= { ...args })[key] = scopedSelection;
  }
  return copy ?? args;
}

function scopeToTenant(prisma: PrismaClient, tenantId: string, models: Set<string>) {
  return prisma.$extends({
    name: `tenant:${tenantId}`,
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }) {
          if (!models.has(model) || !FILTERED_OPERATIONS.has(operation)) return query(args);
          // A cursor naming another tenant's row is a missing one: Prisma finds the
          // cursor's row by the cursor alone (not by the where), so it carries the tenant too.
          const run = (scoped: Args) =>
            query({ ...scoped, where: { ...scoped.where, tenantId }, ...(scoped.cursor ? { cursor: { ...scoped.cursor, tenantId } } : {}) } as typeof args);
          return hasNestedCursor(args as Args) ? scopeNestedCursors(prisma, args as Args, tenantId).then(run) : run(args as Args);
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
