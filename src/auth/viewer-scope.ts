// What a viewer token's bearer reads through Prisma: on top of its tenant's
// scoping (tenant-scope.ts), the `job` model and every model keyed by a job
// (`jobId`) are narrowed to the token's jobs: its job ids, or (a tag token)
// the jobs that have its tag at the time of the read. Any resolver that loads
// a job through ctx.prisma (job(id), jobs, jobUpdated, Job.parentJob) then
// finds another job of the same tenant exactly as a missing one.
import type { PrismaClient } from '../db/prisma.ts';
import { getDatamodel } from '../generated/pothos-prisma-types.ts';
import type { ViewerGrant } from './principal.ts';

const READS_AND_WRITES = new Set(['findUnique', 'findUniqueOrThrow', 'findFirst', 'findFirstOrThrow', 'findMany', 'count', 'aggregate', 'groupBy', 'update', 'updateMany', 'delete', 'deleteMany']);

interface JobKey {
  /** `id` for Job itself, `jobId` for the rows of one job. */
  field: 'id' | 'jobId';
  /** The relations from the model to its Job (e.g. ['collectionJob', 'job']); null when it has none (such rows: none for a tag token). */
  toJob: string[] | null;
}

type DataModel = Record<string, { fields: Array<{ name: string; kind: string; type: string; relationFromFields?: string[] }> }>;

/** The relations from `model` to Job through its jobId (at most `depth` hops); null when there is none. */
function pathToJob(models: DataModel, model: string, depth = 3): string[] | null {
  if (depth === 0) return null;
  for (const field of models[model]?.fields ?? []) {
    if (field.kind !== 'object' || field.relationFromFields?.length !== 1 || field.relationFromFields[0] !== 'jobId') continue;
    if (field.type === 'Job') return [field.name];
    const rest = pathToJob(models, field.type, depth - 1);
    if (rest) return [field.name, ...rest];
  }
  return null;
}

let jobKeys: Map<string, JobKey> | undefined;

/** Each model naming a job, with how to reach that job (from the generated data model: a new model maps itself). */
function jobKeysByModel(): Map<string, JobKey> {
  if (jobKeys) return jobKeys;
  const models = getDatamodel().datamodel.models as unknown as DataModel;
  jobKeys = new Map<string, JobKey>([['Job', { field: 'id', toJob: [] }]]);
  for (const [model, { fields }] of Object.entries(models)) {
    if (model !== 'Job' && fields.some((field) => field.name === 'jobId' && field.kind === 'scalar')) jobKeys.set(model, { field: 'jobId', toJob: pathToJob(models, model) });
  }
  return jobKeys;
}

/** The condition on a row of the model that keeps it to the grant's jobs. */
function grantCondition(key: JobKey, grant: ViewerGrant): Record<string, unknown> {
  if (grant.jobIds) return { [key.field]: { in: [...grant.jobIds] } };
  // Fail closed: a model with no relation to its job cannot be checked against the job's tags.
  if (!key.toJob) return { [key.field]: { in: [] } };
  return key.toJob.reduceRight<Record<string, unknown>>((inner, relation) => ({ [relation]: inner }), { tags: { has: grant.tag } });
}

/** `scoped` (already the viewer's tenant's client) narrowed to the grant's jobs. */
export function viewerScopedPrisma(scoped: PrismaClient, grant: ViewerGrant): PrismaClient {
  const keys = jobKeysByModel();
  return scoped.$extends({
    name: 'viewer',
    query: {
      $allModels: {
        $allOperations({ model, operation, args, query }) {
          const key = keys.get(model);
          if (!key || !READS_AND_WRITES.has(operation)) return query(args);
          const where = ((args as { where?: Record<string, unknown> }).where ?? {}) as Record<string, unknown>;
          const and = where.AND === undefined ? [] : Array.isArray(where.AND) ? where.AND : [where.AND];
          // AND keeps a findUnique's unique field at the top, where Prisma needs it.
          return query({ ...(args as object), where: { ...where, AND: [...and, grantCondition(key, grant)] } } as typeof args);
        },
      },
    },
  }) as unknown as PrismaClient;
}
