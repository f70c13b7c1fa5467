// Creating a job of a type this process does not host: its payload is checked
// against the JSON Schema a worker registered (validate.ts), its defaults and
// steps come from the registration, and a type nobody registered is an
// UnknownJobTypeError unless ALLOW_UNKNOWN_JOB_TYPES. A hosted type keeps its
// zod schema (jobs/create.ts).
import type pg from 'pg';
import type { Config } from '../config.ts';
import { JobKind } from '../generated/prisma/enums.ts';
import { ValidationError } from '../core/errors.ts';
import type { JobHandler } from '../core/handler.ts';
import type { HandlerRegistry } from '../core/registry.ts';
import { UnknownJobTypeError } from './errors.ts';
import { getRegisteredJobTypes, type RegisteredJobType } from './registry.ts';
import { checkPayload } from './validate.ts';

/** What creating a job takes from its type when the type is not hosted here. */
export type JobTypeForCreate = Required<Pick<JobHandler, 'description' | 'kind'>> & Pick<JobHandler, 'steps' | 'defaults'>;

export interface ResolvedJobTypes {
  /**
   * The registered type (payload checked: a ValidationError names the path),
   * or a bare type when unknown types are allowed; throws UnknownJobTypeError otherwise.
   */
  prepare(jobType: string, payload: Record<string, unknown>, field: (name: string) => string, kind: JobKind): JobTypeForCreate;
}

/** Reads the registrations of the types among these that the registry does not host, in one query. */
export async function resolveJobTypes(
  deps: { pool: pg.Pool; registry: HandlerRegistry; config: Partial<Pick<Config, 'ALLOW_UNKNOWN_JOB_TYPES'>> },
  jobTypes: readonly unknown[],
  /** The caller's tenant (null: every tenant): the error's known types are the ones it may see (jobTypes). */
  tenantId: string | null = null,
): Promise<ResolvedJobTypes> {
  const remote = [...new Set(jobTypes.filter((type): type is string => typeof type === 'string' && !deps.registry.get(type)))];
  const registered = await getRegisteredJobTypes(deps.pool, remote);
  const unknown = remote.some((type) => !registered.has(type));
  const known =
    unknown && !deps.config.ALLOW_UNKNOWN_JOB_TYPES
      ? [...new Set([...deps.registry.jobTypes, ...(await visibleRegisteredTypes(deps.pool, tenantId))])].sort()
      : [];
  return {
    prepare(jobType, payload, field, kind) {
      const type = registered.get(jobType);
      if (!type) {
        if (!deps.config.ALLOW_UNKNOWN_JOB_TYPES) throw new UnknownJobTypeError(field('jobType'), jobType, known);
        return { description: '', kind: JobKind.PLAIN };
      }
      // The kind is checked by the caller (prepareJob), before the payload matters.
      if (type.kind === kind) {
        const problem = checkPayload(type.payloadSchema, payload, field('payload'));
        if (problem) throw new ValidationError(problem.field, problem.message);
      }
      return forCreate(type);
    },
  };
}

/** Registered types a tenant may see, as jobTypes lists them: not those only another tenant's workers serve. */
async function visibleRegisteredTypes(pool: pg.Pool, tenantId: string | null): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>(
    `select t.name from job_type t
      where $1::text is null
         or not exists (select 1 from worker_job_type s where s.job_type = t.name)
         or exists (select 1 from worker_job_type s join worker w on w.id = s.worker_id
                     where s.job_type = t.name and (w.tenant_id is null or w.tenant_id = $1))`,
    [tenantId],
  );
  return rows.map((row) => row.name);
}

function forCreate(type: RegisteredJobType): JobTypeForCreate {
  const { defaults } = type;
  return {
    description: type.description,
    kind: type.kind,
    steps: type.steps,
    defaults: {
      queueName: defaults.queueName,
      maxRetries: defaults.maxRetries,
      priority: defaults.priority,
      ...(defaults.timeoutMs !== null ? { timeoutMs: defaults.timeoutMs } : {}),
      ...(defaults.concurrencyLimit !== null ? { concurrencyLimit: defaults.concurrencyLimit } : {}),
    },
  };
}
