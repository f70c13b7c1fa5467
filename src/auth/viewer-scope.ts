// What a viewer token's bearer reads through Prisma: on top of its tenant's
// scoping (tenant-scope.ts), the `job` model and every model keyed by a job
// (`jobId`) are narrowed to the token's jobs. Any resolver that loads a job
// through ctx.prisma (job(id), jobUpdated, Job.parentJob) then finds another
// job of the same tenant exactly as a missing one.
import type { PrismaClient } from '../db/prisma.ts';
import type { ViewerGrant } from './principal.ts';

const READS_AND_WRITES = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow', 'findMany', 'count', 'aggregate', 'groupBy', 'update', 'updateMany', 'delete', 'deleteMany']);

/** The model's field naming a job: `id` for Job itself, `jobId` for the rows of one job; null for other models. */
function jobFieldsByModel(prisma: PrismaClient): Map<string, 'id' | 'jobId'> {
  const { models } = (prisma as unknown as { _runtimeDataModel: { models: Record<string, { fields: Array<{ name: string; kind: string }> }> } })._runtimeDataModel;
  const byModel = new Map<string, 'id' | 'jobId'>([['Job', 'id']]);
  for (const [model, { fields }] of Object.entries(models)) {
    if (model !== 'Job' && fields.some((field) => field.name === 'jobId' && field.kind === 'scalar')) byModel.set(model, 'jobId');
  }
  return byModel;
}

const jobFields = new WeakMap<PrismaClient, Map<string, 'id' | 'jobId'>>();

/** `scoped` (already the viewer's tenant's client) narrowed to the grant's jobs. */
export function viewerScopedPrisma(scoped: PrismaClient, grant: ViewerGrant): PrismaClient {
  let byModel = jobFields.get(scoped);
  if (!byModel) jobFields.set(scoped, (byModel = jobFieldsByModel(scoped)));
  const fields = byModel;
  const ids = [...grant.jobIds];
  return scoped.$extends({
    name: 'viewer',
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }) {
          const field = fields.get(model);
          if (!field || !READS_AND_WRITES.has(operation)) return query(args);
          const where = ((args as { where?: Record<string, unknown> }).where ?? {}) as Record<string, unknown>;
          const and = where.AND === undefined ? [] : Array.isArray(where.AND) ? where.AND : [where.AND];
          // AND keeps a findUnique's unique field at the top, where Prisma needs it.
          return query({ ...(args as object), where: { ...where, AND: [...and, { [field]: { in: ids } }] } } as typeof args);
        },
      },
    },
  }) as unknown as PrismaClient;
}
