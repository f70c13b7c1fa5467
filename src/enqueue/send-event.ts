// Durable waits from the app's side: sendEvent and signalJob over the SQL
// functions send_event and signal_job (migration "waits"), with the app's own
// `pg` client, so the wake commits or rolls back with the app's rows.
// docs/workflows.md says how to use them.
import { AddJobError, type AddJobClient } from './add-job.ts';

const INVALID_PARAMETER_VALUE = '22023';

async function call<T>(client: AddJobClient, text: string, values: unknown[]): Promise<T> {
  try {
    const { rows } = await client.query(text, values);
    return rows[0]!.answer as T;
  } catch (error) {
    const pgError = error as { code?: string; column?: string; message?: string };
    if (pgError.code === INVALID_PARAMETER_VALUE && pgError.column) throw new AddJobError(pgError.column, pgError.message ?? '');
    throw error;
  }
}

/**
 * Sends an event in the client's current transaction: on commit, every job of
 * the tenant (default "default") waiting for an event of this name whose
 * `match` the data contains wakes, once. Answers how many it wakes. A refusal
 * throws AddJobError naming the field.
 */
export function sendEvent(client: AddJobClient, name: string, data: Record<string, unknown> = {}, options: { tenantId?: string } = {}): Promise<number> {
  return call<number>(client, 'select send_event($1, $2::jsonb, $3::jsonb) as answer', [name, JSON.stringify(data), JSON.stringify(options)]);
}

/** Signals one job (of the tenant, default "default") in the client's transaction; false when it does not wait for this signal. */
export function signalJob(client: AddJobClient, jobId: string, name: string, data: Record<string, unknown> = {}, options: { tenantId?: string } = {}): Promise<boolean> {
  return call<boolean>(client, 'select signal_job($1::uuid, $2, $3::jsonb, $4) as answer', [jobId, name, JSON.stringify(data), options.tenantId ?? 'default']);
}
