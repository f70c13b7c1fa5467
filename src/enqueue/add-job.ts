// Enqueue inside the app's own transaction: a thin helper over the SQL
// function add_job (migration "open: add_job"), which writes what createJob
// writes. It takes the app's own `pg` client, so the job commits or rolls back
// with the app's rows. docs/enqueue-in-your-transaction.md says how to use it.
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
 * of the job that holds it. A refusal throws AddJobError and, as any failed
 * statement, aborts the caller's transaction (use a savepoint to go on).
 */
export async function addJob(
  client: AddJobClient,
  jobType: string,
  payload: Record<string, unknown> = {},
  options: AddJobOptions = {},
): Promise<string> {
  const sqlOptions = { ...options, scheduledAt: options.scheduledAt instanceof Date ? options.scheduledAt.toISOString() : options.scheduledAt };
  const values = [jobType, JSON.stringify(payload), JSON.stringify(sqlOptions)];
  // Called in a traced app (a span is active): the job stores that span's trace context (docs/tracing.md).
  const traced = activeTrace();
  try {
    const { rows } = await (traced.traceparent
      ? client.query(ADD_TRACED_JOB, [...values, traced.traceparent, traced.tracestate ?? ''])
      : client.query('select add_job($1, $2::jsonb, $3::jsonb) as id', values));
    return rows[0]!.id as string;
  } catch (error) {
    const pgError = error as { code?: string; column?: string; message?: string };
    if (pgError.code === INVALID_PARAMETER_VALUE && pgError.column) throw new AddJobError(pgError.column, pgError.message ?? '');
    throw error;
  }
}
