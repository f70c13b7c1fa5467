// Rerun from a step (docs/workflows.md#rerun-from-a-step): a finished job
// (COMPLETED, FAILED, DEAD_LETTER, CANCELLED) is queued again with the named
// step and the later ones reset to PENDING (their results dropped) and the
// earlier ones kept COMPLETED with their results, so the handler replays them
// without running them. The job's events stay; the rerun is one more, naming
// the step and who asked. Migration 000041 lets only a transaction that sets
// jobwire.rerun make these moves (COMPLETED → PENDING, a step back to PENDING).
import type pg from 'pg';
import { withTransaction } from '../db/pool.ts';
import { visibleTenant, type Caller } from '../auth/principal.ts';
import { JobNotFoundError, JobStillActiveError, ValidationError } from '../core/errors.ts';
import { lockJob, setEventMessage } from './job-row.ts';
import { queueJobsAgain } from './queue-entry.ts';
import { JobStatus, TERMINAL_STATUSES } from './statuses.ts';

export interface RerunInput {
  jobId: string;
  fromStep: string;
  /** A new payload (replacing the stored one), or undefined to keep it. */
  payload?: Record<string, unknown>;
}

/**
 * Checks a new payload for the job's type (the caller's registry, or the
 * database's job_type schema) and answers it as stored; throws ValidationError.
 */
export type ValidateRerunPayload = (db: pg.PoolClient, jobType: string, payload: Record<string, unknown>) => Promise<Record<string, unknown>>;

export async function rerunJob(pool: pg.Pool, caller: Caller, input: RerunInput, validatePayload: ValidateRerunPayload): Promise<void> {
  await withTransaction(pool, async (client) => {
    const job = await lockJob(client, input.jobId, visibleTenant(caller));
    if (!job) throw new JobNotFoundError(input.jobId);
    if (!TERMINAL_STATUSES.includes(job.status)) throw new JobStillActiveError(input.jobId, 'rerun', job.status, TERMINAL_STATUSES);
    const { rows: steps } = await client.query<{ name: string; position: number }>(
      `select name, position from job_step where job_id = $1 order by position`,
      [input.jobId],
    );
    const from = steps.find((step) => step.name === input.fromStep);
    if (!from) {
      const known = steps.length ? `its steps: ${steps.map((s) => JSON.stringify(s.name)).join(', ')}` : 'it has no steps';
      throw new ValidationError('fromStep', `job ${input.jobId} has no step ${JSON.stringify(input.fromStep)}; ${known}`);
    }
    const payload = input.payload === undefined ? null : await validatePayload(client, job.jobType, input.payload);

    await client.query(`select set_config('jobwire.rerun', 'on', true)`);
    await client.query(
      `update job_step set status = 'PENDING', result = null, error_message = null where job_id = $1 and position >= $2 and status <> 'PENDING'`,
      [input.jobId, from.position],
    );
    await setEventMessage(client, `rerun from step "${input.fromStep}" by ${caller.principalId}${payload ? ' with a new payload' : ''}`);
    await client.query(
      `update job set status = 'PENDING', retry_count = 0, error_message = null, error = null, result = null, worker_id = null,
                      scheduled_at = null, progress = 0, progress_message = null, payload = coalesce($2::jsonb, payload)
        where id = $1`,
      [input.jobId, payload === null ? null : JSON.stringify(payload)],
    );
    await client.query(`select set_config('jobwire.rerun', '', true)`);
    await queueJobsAgain(client, [{ jobId: input.jobId, jobType: job.jobType, queueName: job.queueName, runAt: null, priority: job.priority, maxRetries: job.maxRetries }]);
  });
}

export { JobStatus };
