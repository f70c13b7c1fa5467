// Flow control on the create path: idempotency keys and dependencies, applied
// in the creating transaction around the insert of the job rows
// (jobs/create.ts calls these).
import type { Queryable } from '../db/pool.ts';
import type { NewJob } from '../job-state/insert.ts';
import { insertDependencies, lockDependencies } from './dependencies.ts';
import { holdIdempotencyKeys } from './idempotency.ts';
import { debounceJobs } from './debounce.ts';

/** The answer to one create input: the job, and whether this create made it (false: its idempotency key named an existing job). */
export interface CreatedJob {
  readonly id: string;
  readonly created: boolean;
}

/**
 * Whether beforeInsertJobs and afterInsertJobs read and write nothing for
 * these jobs (no parent to check, no idempotency key, no dependency): the
 * insert alone is then the whole create (jobs/create.ts skips the
 * transaction). A flow option that adds a statement to either must be named here.
 */
export function flowWritesNothing(jobs: readonly NewJob[]): boolean {
  return jobs.every((job) => job.parentJobId === null && job.flow.idempotencyKey === null && job.flow.dependsOn.length === 0 && job.flow.debounce === null);
}

/**
 * Before the insert: holds idempotency keys and checks dependencies, both
 * within the jobs' tenant (every job of one call has the caller's tenant).
 * Returns the jobs to insert (those whose key was free) and the answer for
 * each input, in input order. Inputs of one batch with the same key get one job.
 */
export async function beforeInsertJobs(
  db: Queryable,
  jobs: readonly NewJob[],
  fieldOf: (index: number, name: string) => string,
): Promise<{ toInsert: NewJob[]; answers: CreatedJob[] }> {
  if (jobs.length === 0) return { toInsert: [], answers: [] };
  const tenantId = jobs[0]!.tenantId;
  if (jobs.some((job) => job.tenantId !== tenantId)) throw new Error('beforeInsertJobs: the jobs of one call belong to one tenant');
  const firstWithKey = new Map<string, NewJob>();
  for (const job of jobs) {
    const key = job.flow.idempotencyKey;
    if (key !== null && !firstWithKey.has(key)) firstWithKey.set(key, job);
  }
  const held =
    firstWithKey.size === 0
      ? new Map<string, string>()
      : await holdIdempotencyKeys(
          db,
          tenantId,
          [...firstWithKey].map(([key, job]) => ({ key, jobId: job.id, freeAfterMs: job.flow.idempotencyKeyFreeAfterMs })),
        );
  // Debounce is refused with an idempotency key or dependencies (core/flow-options.ts).
  const debounced = await debounceJobs(db, jobs);
  const answers = jobs.map((job): CreatedJob => {
    const debounce = debounced.get(job.id);
    if (debounce !== undefined) return debounce;
    const key = job.flow.idempotencyKey;
    if (key === null) return { id: job.id, created: true };
    const existing = held.get(key);
    if (existing !== undefined) return { id: existing, created: false };
    const first = firstWithKey.get(key)!;
    return { id: first.id, created: first === job };
  });
  const toInsert = jobs.filter((_job, index) => answers[index]!.created);
  const indexOf = new Map(jobs.map((job, index) => [job.id, index]));
  const waiting = await lockDependencies(db, tenantId, toInsert, (index, position) =>
    fieldOf(indexOf.get(toInsert[index]!.id)!, `dependsOn.${position}`),
  );
  for (const job of toInsert) if (waiting.has(job.id)) job.waitingReason = 'DEPENDENCIES';
  return { toInsert, answers };
}

/** After the insert: records the dependencies of the jobs inserted. */
export async function afterInsertJobs(db: Queryable, inserted: readonly NewJob[]): Promise<void> {
  await insertDependencies(db, inserted);
}
