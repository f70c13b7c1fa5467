// A job's steps: started (appended, or run again after an earlier attempt) and
// finished by the worker that runs the job. A step's status moves by
// STEP_TRANSITIONS (statuses.ts); the database's trigger enforces it.
import type { Queryable } from '../db/pool.ts';
import type { JobStatus } from './statuses.ts';

export interface StepRow {
  id: string;
  position: number;
  status: JobStatus;
  result: Record<string, unknown> | null;
}

export async function findStep(db: Queryable, jobId: string, name: string): Promise<StepRow | null> {
  const result = await db.query<StepRow>(
    'select id, position, status, result from job_step where job_id = $1 and name = $2',
    [jobId, name],
  );
  return result.rows[0] ?? null;
}

/** Starts a step: an existing one moves to RUNNING, a new one is appended. */
export async function startStep(db: Queryable, jobId: string, name: string, existing: StepRow | null): Promise<string> {
  if (existing) {
    await db.query(`update job_step set status = 'RUNNING', error_message = null where id = $1`, [existing.id]);
    return existing.id;
  }
  const result = await db.query<{ id: string }>(
    `insert into job_step (job_id, name, position, status)
     select $1, $2, coalesce(max(position) + 1, 0), 'RUNNING' from job_step where job_id = $1
     returning id`,
    [jobId, name],
  );
  return result.rows[0]!.id;
}

export async function finishStep(
  db: Queryable,
  stepId: string,
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED',
  result: Record<string, unknown> | null,
  errorMessage: string | null,
): Promise<void> {
  await db.query('update job_step set status = $2, result = $3, error_message = $4 where id = $1', [
    stepId,
    status,
    result === null ? null : JSON.stringify(result),
    errorMessage,
  ]);
}
