// Enqueue inside the app's own transaction: a thin helper over the SQL
// function add_job (migration "open: add_job"), which writes what createJob
// writes. It takes the app's own `pg` client, so the job commits or rolls back
// with the app's rows. docs/enqueue-in-your-transaction.md says how to use it.
// With `viewerToken`, it also answers a viewer token of the job (as createJob's
// `viewerToken` argument), signed in this process: nothing more is written.
import { signViewerToken, viewerTokenTtl, type ViewerToken } from '../auth/viewer-tokens.ts';
import type { Queryable } from '../core/queryable.ts';
import { DEFAULT_TENANT } from '../auth/principal.ts';
import { tenantQuotaErrorOf } from '../core/errors.ts';
import { activeTrace } from '../tracing/trace-context.ts';

/** What add_job needs of a client: pg's Client, PoolClient and Pool all fit. */
export interface AddJobClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}

/** The options add_job takes; the names and bounds of createJob's input. */
export interface AddJobOptions {
  /** The tenant that owns the job (default "default"); it must exist: an API key names it or it owns a job. */
  tenantId?: string;
  queueName?: string;
  /** -1000..1000, higher runs first. */
  priority?: number;
  maxRetries?: number;
  /** When the job may run; it waits as SCHEDULED until then. */
  scheduledAt?: Date | string;
  parentJobId?: string;
  metadata?: Record<string, unknown>;
  idempotencyKey?: string;
  idempotencyKeyFreeAfterMs?: number;
  /** Job ids (UUIDs) this job waits for. */
  dependsOn?: string[];
  dependencyFailure?: 'CANCEL' | 'RUN';
  timeoutMs?: number;
  concurrencyKey?: string;
  concurrencyLimit?: number;
  /** At most maxStarts starts of the tenant's jobs with this key per intervalMs (docs/flow-control.md). */
  rateLimit?: { key: string; maxStarts: number; intervalMs: number };
  /** Labels to find the job by (jobs(filter: { tags })), as createJob's: at most 20, each 1-64 letters, digits or _.:=/- starting with a letter or digit. */
  tags?: string[];
}

/** addJob's options asking for a viewer token of the job as well. */
export interface AddJobWithViewerTokenOptions extends AddJobOptions {
  /** Answer a viewer token that reads the job: { expiresInSeconds } (1 to 86400, default 900). */
  viewerToken: { expiresInSeconds?: number };
}

/** add_job refused its input (SQLSTATE 22023): `field` names what is wrong, e.g. "payload.amount". Nothing was written. */
export class AddJobError extends Error {
  override readonly name = 'AddJobError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const INVALID_PARAMETER_VALUE = '22023';

/**
 * add_job with the job's trace context: the job row takes it from the
 * settings jobwire.traceparent and jobwire.tracestate (the columns' defaults),
 * set for this statement only: the subquery sets them before add_job runs,
 * and the settings the transaction had are put back after it.
 */
const ADD_TRACED_JOB = `select add_job($1, $2::jsonb, $3::jsonb) as id,
       set_config('jobwire.traceparent', coalesce(before.traceparent, ''), true),
       set_config('jobwire.tracestate', coalesce(before.tracestate, ''), true)
  from (select current_setting('jobwire.traceparent', true) as traceparent, current_setting('jobwire.tracestate', true) as tracestate,
               set_config('jobwire.traceparent', $4, true) as set_traceparent, set_config('jobwire.tracestate', $5, true) as set_tracestate) as before`;

/**
 * Adds one job in the client's current transaction (or on its own, outside
 * one) and answers its id; with an idempotency key the tenant holds, the id
 * of the job that holds it. A refusal throws AddJobError (bad input) or
 * TenantQuotaExceededError (a tenant's limit, docs/quotas.md) and, as any
 * failed statement, aborts the caller's transaction (use a savepoint to go on).
 * With `viewerToken`, answers { id, viewerToken }: a token that reads the job.
 */
export async function addJob(
  client: AddJobClient,
  jobType: string,
  payload: Record<string, unknown> | undefined,
  options: AddJobWithViewerTokenOptions,
): Promise<{ id: string; viewerToken: ViewerToken }>;
export async function addJob(client: AddJobClient, jobType: string, payload?: Record<string, unknown>, options?: AddJobOptions): Promise<string>;
export async function addJob(
  client: AddJobClient,
  jobType: string,
  payload: Record<string, unknown> = {},
  options: AddJobOptions & { viewerToken?: { expiresInSeconds?: number } } = {},
): Promise<string | { id: string; viewerToken: ViewerToken }> {
  const { viewerToken, ...jobOptions } = options;
  // Checked first: a bad one writes nothing.
  let ttlSeconds: number | null = null;
  if (viewerToken) {
    try {
      ttlSeconds = viewerTokenTtl(viewerToken.expiresInSeconds);
    } catch (error) {
      throw new AddJobError('options.viewerToken.expiresInSeconds', `options.viewerToken.${(error as Error).message}`);
    }
  }
  const sqlOptions = { ...jobOptions, scheduledAt: jobOptions.scheduledAt instanceof Date ? jobOptions.scheduledAt.toISOString() : jobOptions.scheduledAt };
  const values = [jobType, JSON.stringify(payload), JSON.stringify(sqlOptions)];
  // Called in a traced app (a span is active): the job stores that span's trace context (docs/tracing.md).
  const traced = activeTrace();
  let id: string;
  try {
    const { rows } = await (traced.traceparent
      ? client.query(ADD_TRACED_JOB, [...values, traced.traceparent, traced.tracestate ?? ''])
      : client.query('select add_job($1, $2::jsonb, $3::jsonb) as id', values));
    id = rows[0]!.id as string;
  } catch (error) {
    const pgError = error as { code?: string; column?: string; message?: string };
    if (pgError.code === INVALID_PARAMETER_VALUE && pgError.column) throw new AddJobError(pgError.column, pgError.message ?? '');
    // The tenant's limits (docs/quotas.md), checked by the database on insert.
    throw tenantQuotaErrorOf(error) ?? error;
  }
  if (ttlSeconds === null) return id;
  // add_job wrote the job in this tenant (or answered the tenant's job holding the key): nothing to look up.
  const token = await signViewerToken(client as Queryable, { tenantId: jobOptions.tenantId ?? DEFAULT_TENANT, jobIds: [id], tag: null, ttlSeconds, issuedBy: 'app' });
  return { id, viewerToken: token };
}
