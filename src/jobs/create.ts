// Creating jobs: validate at the edge, then insert job rows, steps and queue
// entries in one transaction.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type pg from 'pg';
import { CREATE_COALESCE_MAX_JOBS_DEFAULT, type Config } from '../config.ts';
import { withTransaction, type Queryable } from '../db/pool.ts';
import { JobKind } from '../generated/prisma/enums.ts';
import { visibleTenant, type Caller, type Principal } from '../auth/principal.ts';
import type { HandlerRegistry } from '../core/registry.ts';
import { ValidationError, withQuotaErrors } from '../core/errors.ts';
import { insertJobs, insertsInOneStatement, type InsertedJobRow, type NewJob } from '../job-state/insert.ts';
import { jobTagList } from '../core/tags.ts';
import { QUEUE_NAME_FORMAT, jsonObject, parseInput } from '../core/validation.ts';
import { afterInsertJobs, beforeInsertJobs, flowWritesNothing, type CreatedJob } from '../flow/create.ts';
import { parseFlowOptions, type FlowInput } from '../core/flow-options.ts';
import { resolveJobTypes, type ResolvedJobTypes } from '../registry/create.ts';
import { coalescerOf } from './create-coalescer.ts';
import type { TraceCarrier } from '../tracing/trace-context.ts';

export type { Caller } from '../auth/principal.ts';

export interface CreateJobInput extends FlowInput {
  jobType: string;
  payload?: unknown;
  queueName?: string | null;
  priority?: number | null;
  maxRetries?: number | null;
  /** When the job may run; it waits as SCHEDULED until then. */
  scheduledAt?: Date | null;
  parentJobId?: string | null;
  metadata?: unknown;
  /** Labels to search by (src/core/tags.ts). */
  tags?: readonly string[] | null;
}

export interface CreateJobsDeps {
  pool: pg.Pool;
  registry: HandlerRegistry;
  config: Pick<Config, 'JOB_PAYLOAD_MAX_BYTES' | 'CREATE_JOBS_MAX'> & Partial<Pick<Config, 'ALLOW_UNKNOWN_JOB_TYPES' | 'CREATE_COALESCE_MAX_JOBS'>>;
}

/** One schema per payload limit: building a zod schema (and compiling its fast path) costs far more than using it. */
const createJobSchemas = new Map<number, ReturnType<typeof buildCreateJobSchema>>();

function createJobSchema(maxBytes: number) {
  let schema = createJobSchemas.get(maxBytes);
  if (!schema) createJobSchemas.set(maxBytes, (schema = buildCreateJobSchema(maxBytes)));
  return schema;
}

function buildCreateJobSchema(maxBytes: number) {
  return z.object({
    jobType: z.string().min(1, 'must not be empty'),
    payload: jsonObject(maxBytes).default({}),
    queueName: z
      .string()
      .regex(QUEUE_NAME_FORMAT, 'must be 1-64 letters, digits or _.:- and start with a letter or digit')
      .nullish(),
    priority: z.number().int().min(-1000, 'must be at least -1000').max(1000, 'must be at most 1000').nullish(),
    maxRetries: z.number().int().min(0, 'must not be negative').max(100, 'must be at most 100').nullish(),
    scheduledAt: z.date({ message: 'must be a date-time' }).nullish(),
    parentJobId: z.uuid('must be a job id (UUID)').nullish(),
    metadata: jsonObject(maxBytes).default({}),
    tags: jobTagList.nullish(),
  });
}

/**
 * Validates one input against the registry and returns the row to insert.
 * `expectedKind` guards kind-specific types: they are created through their own API.
 */
export function prepareJob(
  deps: Pick<CreateJobsDeps, 'registry' | 'config'>,
  caller: Caller,
  input: CreateJobInput,
  options: { path?: (string | number)[]; kind?: JobKind; registered?: ResolvedJobTypes } = {},
): NewJob {
  const path = options.path ?? [];
  const kind = options.kind ?? JobKind.PLAIN;
  const parsed = parseInput(createJobSchema(deps.config.JOB_PAYLOAD_MAX_BYTES), input, path);
  const field = (name: string) => [...path, name].join('.');
  // A type this process does not host: checked against the registry in the database (src/registry/create.ts).
  const registered = deps.registry.get(parsed.jobType) ? undefined : options.registered?.prepare(parsed.jobType, parsed.payload, field, kind);
  const handler = registered ?? deps.registry.get(parsed.jobType);
  if (!handler) {
    throw new ValidationError(
      field('jobType'),
      `unknown job type "${parsed.jobType}"; known types: ${deps.registry.jobTypes.join(', ')}`,
    );
  }
  if ((handler.kind ?? JobKind.PLAIN) !== kind) {
    throw new ValidationError(field('jobType'), `jobs of type "${parsed.jobType}" are ${handler.kind} jobs and have their own create mutation`);
  }
  if (parsed.scheduledAt && input.debounce) throw new ValidationError(field('debounce'), 'cannot be combined with scheduledAt');
  const payload = registered ? parsed.payload : (parseInput(deps.registry.get(parsed.jobType)!.payload, parsed.payload, [...path, 'payload']) as Record<string, unknown>);
  return {
    id: randomUUID(),
    kind,
    jobType: parsed.jobType,
    payload,
    queueName: parsed.queueName ?? handler.defaults?.queueName ?? 'default',
    priority: parsed.priority ?? handler.defaults?.priority ?? 0,
    maxRetries: parsed.maxRetries ?? handler.defaults?.maxRetries ?? 3,
    scheduledAt: parsed.scheduledAt ?? null,
    parentJobId: parsed.parentJobId ?? null,
    createdBy: caller.principalId,
    tenantId: caller.tenantId,
    metadata: parsed.metadata,
    tags: parsed.tags ?? [],
    steps: handler.steps ?? [],
    flow: parseFlowOptions(input, path, handler.defaults),
  };
}

/** Checks that every referenced parent job exists in the job's tenant (inside the creating transaction). */
export async function assertParentsExist(db: Queryable, jobs: readonly NewJob[], path: (index: number) => string): Promise<void> {
  const parentIds = [...new Set(jobs.map((job) => job.parentJobId).filter((id): id is string => id !== null))];
  if (parentIds.length === 0) return;
  // Every job of one call has the caller's tenant: another tenant's parent is "no job".
  const found = await db.query<{ id: string }>('select id from job where id = any($1::uuid[]) and tenant_id = $2', [
    parentIds,
    jobs[0]!.tenantId,
  ]);
  const existing = new Set(found.rows.map((row) => row.id));
  const index = jobs.findIndex((job) => job.parentJobId !== null && !existing.has(job.parentJobId));
  if (index >= 0) throw new ValidationError(path(index), `no job with id ${jobs[index]!.parentJobId}`);
}

/** Checks that jobs named by id (e.g. a schedule template's dependsOn) exist in the tenant; another tenant's is "no job". */
export async function assertJobsExist(db: Queryable, tenantId: string, ids: readonly string[], field: (position: number) => string): Promise<void> {
  if (ids.length === 0) return;
  const found = await db.query<{ id: string }>('select id from job where id = any($1::uuid[]) and tenant_id = $2', [ids, tenantId]);
  const existing = new Set(found.rows.map((row) => row.id));
  const position = ids.findIndex((id) => !existing.has(id));
  if (position >= 0) throw new ValidationError(field(position), `no job with id ${ids[position]}`);
}

/** A kind's create input may name an idempotency key, as createJob's does (src/flow/idempotency.ts). */
export interface IdempotencyInput {
  idempotencyKey?: string | null;
  idempotencyKeyFreeAfterMs?: number | null;
}

/** A job of a kind, as its create mutation asks for it; the request itself lives in the kind's rows. */
export interface KindJobInput extends IdempotencyInput {
  kind: JobKind;
  jobType: string;
  priority?: number | null;
  maxRetries?: number | null;
  /** The kind's non-sensitive context (e.g. a BudgetJob's trigger). */
  metadata?: Record<string, unknown>;
  parentJobId?: string | null;
  /** Flow control: jobs with one key (within a tenant) run at most the handler's concurrencyLimit (default 1) at a time. */
  concurrencyKey?: string | null;
}

/**
 * Creates one job of a kind: the job row, its steps and queue entry, and the
 * kind's rows (`insertKindRows`, in the same transaction), all or nothing.
 * Every kind's create.ts goes through here. With an idempotency key that a
 * job of the same kind holds, it creates nothing and answers that job
 * (`created: false`); a key held by a job of another kind is a ValidationError.
 */
export async function createKindJob(
  deps: CreateJobsDeps,
  caller: Caller,
  input: KindJobInput,
  insertKindRows: (client: pg.PoolClient, job: NewJob) => Promise<void>,
): Promise<CreatedJob> {
  const job = prepareJob(
    deps,
    caller,
    {
      jobType: input.jobType,
      payload: {},
      priority: input.priority,
      maxRetries: input.maxRetries,
      idempotencyKey: input.idempotencyKey,
      idempotencyKeyFreeAfterMs: input.idempotencyKeyFreeAfterMs,
      metadata: input.metadata ?? {},
      parentJobId: input.parentJobId,
      concurrencyKey: input.concurrencyKey,
    },
    { kind: input.kind },
  );
  // The tenant's limits are checked by the database on insert (docs/quotas.md).
  return withQuotaErrors(() => withTransaction(deps.pool, async (client) => {
    if (job.parentJobId !== null) await assertParentsExist(client, [job], () => 'parentJobId');
    const [answer] = (await beforeInsertJobs(client, [job], (_index, name) => name)).answers;
    if (!answer!.created) {
      await assertHeldBySameKind(client, answer!.id, input.kind);
      return answer!;
    }
    await insertJobs(client, [job]);
    await insertKindRows(client, job);
    return answer!;
  }));
}

async function assertHeldBySameKind(db: Queryable, jobId: string, kind: JobKind): Promise<void> {
  const { rows } = await db.query<{ kind: JobKind }>('select kind from job where id = $1', [jobId]);
  const held = rows[0]?.kind;
  if (held !== kind) throw new ValidationError('idempotencyKey', `is held by job ${jobId}, a ${held} job, not a ${kind} job`);
}

/**
 * Creates plain jobs all-or-nothing; returns their ids in input order. With a
 * `listField` (e.g. "jobs"), error fields are prefixed with it and the index.
 */
export async function createJobs(
  deps: CreateJobsDeps,
  caller: Caller,
  inputs: readonly CreateJobInput[],
  listField?: string,
): Promise<string[]> {
  return (await createJobsReporting(deps, caller, inputs, listField)).map((job) => job.id);
}

/** A job this create inserted, with its row as inserted (SQL column names), when the create was one statement. */
export interface CreatedJobWithRow extends CreatedJob {
  readonly row?: InsertedJobRow;
}

/** createJobs, answering for each input whether it made its job or found one by its idempotency key. */
export async function createJobsReporting(
  deps: CreateJobsDeps,
  caller: Caller,
  inputs: readonly CreateJobInput[],
  listField?: string,
  /** The creating span's trace context, stored on each job (src/tracing/). */
  trace?: TraceCarrier,
): Promise<CreatedJobWithRow[]> {
  const list = listField ?? 'input';
  if (inputs.length === 0) throw new ValidationError(list, 'must contain at least one job');
  if (inputs.length > deps.config.CREATE_JOBS_MAX) {
    throw new ValidationError(list, `must contain at most ${deps.config.CREATE_JOBS_MAX} jobs (got ${inputs.length})`);
  }
  const pathOf = (index: number) => (listField ? [listField, index] : []);
  const registered = await resolveJobTypes(deps, inputs.map((input) => input.jobType), visibleTenant(caller));
  const jobs = inputs.map((input, index) => prepareJob(deps, caller, input, { path: pathOf(index), registered }));
  if (trace?.traceparent) for (const job of jobs) job.trace = trace;
  // The common create (no parent, key, dependency or step): one statement,
  // atomic on its own; begin and commit would be two more round trips.
  // Concurrent ones share a statement (create-coalescer.ts). The tenant's limits
  // are checked by the database on insert (docs/quotas.md): no statement more here.
  if (flowWritesNothing(jobs) && insertsInOneStatement(jobs)) {
    const coalescer = coalescerOf(deps.pool, deps.config.CREATE_COALESCE_MAX_JOBS ?? CREATE_COALESCE_MAX_JOBS_DEFAULT);
    const rows = new Map((await withQuotaErrors(() => coalescer.insert(jobs))).map((row) => [row.id, row]));
    return jobs.map((job): CreatedJobWithRow => ({ id: job.id, created: true, row: rows.get(job.id) }));
  }
  return withQuotaErrors(() => withTransaction(deps.pool, async (client) => {
    await assertParentsExist(client, jobs, (index) => [...pathOf(index), 'parentJobId'].join('.'));
    const { toInsert, answers } = await beforeInsertJobs(client, jobs, (index, name) => [...pathOf(index), name].join('.'));
    await insertJobs(client, toInsert);
    await afterInsertJobs(client, toInsert);
    return answers;
  }));
}
