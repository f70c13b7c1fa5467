// The job-type registry in the database (tables job_type and worker_job_type,
// migration 000032): every worker records the job types it serves when it
// starts, and its heartbeat keeps them seen. The API validates payloads of
// types it does not host against what is recorded here; the jobTypes query
// lists it; a SQL add_job or a remote worker protocol registers through the
// same functions. See docs/job-type-registry.md.
import type { Queryable } from '../db/pool.ts';
import { JobKind } from '../generated/prisma/enums.ts';
import type { JobHandler } from '../core/handler.ts';
import { WORKER_ALIVE } from '../job-state/worker-alive.ts';
import { toJsonSchema, type JsonSchema } from './json-schema.ts';

/** What a worker registers of one job type. */
export interface JobTypeRegistration {
  name: string;
  description: string;
  kind: JobKind;
  payloadSchema: JsonSchema;
  resultSchema: JsonSchema | null;
  steps: readonly string[];
  defaults: {
    queueName: string;
    maxRetries: number;
    priority: number;
    timeoutMs: number | null;
    concurrencyLimit: number | null;
  };
}

/** A registered job type as stored. */
export interface RegisteredJobType extends JobTypeRegistration {
  registeredAt: Date;
  updatedAt: Date;
}

/** A worker serving a job type. */
export interface ServingWorker {
  workerId: string;
  hostname: string;
  pid: number;
  /** The queues it takes jobs of this type from; null: every queue. */
  queueNames: string[] | null;
  /** Its last heartbeat (an in-process worker) or call (a remote worker, whose lease it renewed). */
  lastSeenAt: Date;
  /** Whether it is alive: its heartbeat within WORKER_DEAD_AFTER_MS, or a remote worker's lease not passed. */
  live: boolean;
  /** A remote worker (src/remote-workers/), alive while its lease lasts. */
  remote: boolean;
  /** A tenant's remote worker serves that tenant only; null: every tenant (in-process and admin workers). */
  tenantId: string | null;
}

/**
 * Whether a tenant may see a worker: one that may run its jobs (null: every
 * tenant sees every worker). One tenant never sees another's remote workers.
 */
export const workerVisibleTo = (tenantId: string | null) => (worker: ServingWorker) =>
  tenantId === null || worker.tenantId === null || worker.tenantId === tenantId;

/** The registration of a handler: its payload zod schema printed as JSON Schema, its defaults filled in. */
export function registrationOf(handler: JobHandler<any>): JobTypeRegistration {
  return {
    name: handler.jobType,
    description: handler.description,
    kind: handler.kind ?? JobKind.PLAIN,
    payloadSchema: toJsonSchema(handler.payload),
    resultSchema: handler.result ? toJsonSchema(handler.result) : null,
    steps: handler.steps ?? [],
    defaults: {
      queueName: handler.defaults?.queueName ?? 'default',
      maxRetries: handler.defaults?.maxRetries ?? 3,
      priority: handler.defaults?.priority ?? 0,
      timeoutMs: handler.defaults?.timeoutMs ?? null,
      concurrencyLimit: handler.defaults?.concurrencyLimit ?? null,
    },
  };
}

/**
 * Records that this worker serves these job types (in these queues; null:
 * every queue), replacing what it registered before. Each type's description,
 * schemas and defaults are the latest registration's (updated_at moves only
 * when they change). The worker row must exist (runner.ts's heartbeat writes it).
 */
export async function registerJobTypes(
  db: Queryable,
  workerId: string,
  types: readonly JobTypeRegistration[],
  queueNames: readonly string[] | null = null,
): Promise<void> {
  const rows = types.map((type) => ({
    name: type.name,
    description: type.description,
    kind: type.kind,
    payload_schema: type.payloadSchema,
    result_schema: type.resultSchema,
    steps: type.steps,
    default_queue_name: type.defaults.queueName,
    default_max_retries: type.defaults.maxRetries,
    default_priority: type.defaults.priority,
    default_timeout_ms: type.defaults.timeoutMs,
    default_concurrency_limit: type.defaults.concurrencyLimit,
  }));
  await db.query(
    `with registered as (
       insert into job_type as t (name, description, kind, payload_schema, result_schema, steps, default_queue_name,
                                  default_max_retries, default_priority, default_timeout_ms, default_concurrency_limit)
       select name, description, kind, payload_schema, result_schema, coalesce(array(select jsonb_array_elements_text(steps)), '{}'),
              default_queue_name, default_max_retries, default_priority, default_timeout_ms, default_concurrency_limit
         from jsonb_to_recordset($2::jsonb) as x(name text, description text, kind job_kind, payload_schema jsonb, result_schema jsonb,
              steps jsonb, default_queue_name text, default_max_retries int, default_priority int, default_timeout_ms int,
              default_concurrency_limit int)
       on conflict (name) do update set
         description = excluded.description, kind = excluded.kind, payload_schema = excluded.payload_schema,
         result_schema = excluded.result_schema, steps = excluded.steps, default_queue_name = excluded.default_queue_name,
         default_max_retries = excluded.default_max_retries, default_priority = excluded.default_priority,
         default_timeout_ms = excluded.default_timeout_ms, default_concurrency_limit = excluded.default_concurrency_limit,
         updated_at = now()
       where (t.description, t.kind, t.payload_schema, t.result_schema, t.steps, t.default_queue_name, t.default_max_retries,
              t.default_priority, t.default_timeout_ms, t.default_concurrency_limit)
             is distinct from
             (excluded.description, excluded.kind, excluded.payload_schema, excluded.result_schema, excluded.steps,
              excluded.default_queue_name, excluded.default_max_retries, excluded.default_priority, excluded.default_timeout_ms,
              excluded.default_concurrency_limit)
       returning name
     ), dropped as (
       delete from worker_job_type where worker_id = $1 and job_type <> all ($3::text[])
     )
     insert into worker_job_type (worker_id, job_type, queue_names)
     select $1, name, $4::text[] from unnest($3::text[]) as name
     on conflict (worker_id, job_type) do update set queue_names = excluded.queue_names, last_seen_at = now()
       where worker_job_type.queue_names is distinct from excluded.queue_names`,
    [workerId, JSON.stringify(rows), types.map((type) => type.name), queueNames],
  );
}

/** The heartbeat: this worker's job types were seen now. */
export async function touchWorkerJobTypes(db: Queryable, workerId: string): Promise<void> {
  await db.query('update worker_job_type set last_seen_at = now() where worker_id = $1', [workerId]);
}

const JOB_TYPE_COLUMNS = `name, description, kind, payload_schema as "payloadSchema", result_schema as "resultSchema", steps,
  json_build_object('queueName', default_queue_name, 'maxRetries', default_max_retries, 'priority', default_priority,
                    'timeoutMs', default_timeout_ms, 'concurrencyLimit', default_concurrency_limit) as defaults,
  registered_at as "registeredAt", updated_at as "updatedAt"`;

/** A registered job type by name, or null. */
export async function getRegisteredJobType(db: Queryable, name: string): Promise<RegisteredJobType | null> {
  return (await getRegisteredJobTypes(db, [name])).get(name) ?? null;
}

/** The registered job types among these names. */
export async function getRegisteredJobTypes(db: Queryable, names: readonly string[]): Promise<Map<string, RegisteredJobType>> {
  if (names.length === 0) return new Map();
  const { rows } = await db.query<RegisteredJobType>(`select ${JOB_TYPE_COLUMNS} from job_type where name = any($1::text[])`, [names]);
  return new Map(rows.map((row) => [row.name, row]));
}

/** Every registered job type, by name. */
export async function listRegisteredJobTypes(db: Queryable): Promise<RegisteredJobType[]> {
  const { rows } = await db.query<RegisteredJobType>(`select ${JOB_TYPE_COLUMNS} from job_type order by name`);
  return rows;
}

/**
 * The workers serving these job types, live or not (a worker found dead is
 * deleted with its rows; until then it shows live: false). Live as the
 * dead-worker sweep judges (WORKER_ALIVE): an in-process worker's heartbeat
 * within deadAfterMs, a remote worker's lease not passed.
 */
/** The workers serving these job types, by type. */
export async function servingWorkers(db: Queryable, jobTypes: readonly string[], deadAfterMs: number): Promise<Map<string, ServingWorker[]>> {
  const { rows } = await db.query<ServingWorker & { jobType: string }>(
    `select s.job_type as "jobType", w.id as "workerId", w.hostname, w.pid, s.queue_names as "queueNames",
            greatest(s.last_seen_at, w.last_heartbeat_at) as "lastSeenAt", ${WORKER_ALIVE('w', '$2')} as live,
            w.lease_seconds is not null as remote, w.tenant_id as "tenantId"
       from worker_job_type s join worker w on w.id = s.worker_id
      where s.job_type = any($1::text[])
      order by s.job_type, w.started_at, w.id`,
    [jobTypes, deadAfterMs],
  );
  const byType = new Map<string, ServingWorker[]>();
  for (const { jobType, ...worker } of rows) byType.set(jobType, [...(byType.get(jobType) ?? []), worker]);
  return byType;
}

/** The live workers serving a job type. */
export async function liveWorkersFor(db: Queryable, jobType: string, deadAfterMs: number): Promise<ServingWorker[]> {
  return ((await servingWorkers(db, [jobType], deadAfterMs)).get(jobType) ?? []).filter((worker) => worker.live);
}
