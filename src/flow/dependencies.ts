// Dependencies: a job created with dependsOn waits (waiting_reason
// DEPENDENCIES, its queue entry waiting until released) until every job it depends on has
// COMPLETED. What happens when one finishes is the database's job
// (job_settle_dependents, migration "flow: dependencies"): it releases the
// dependent, or cancels it naming the dependency, in the transaction that
// finished the dependency, whichever process wrote it.
import type { Queryable } from '../db/pool.ts';
import { ValidationError } from '../core/errors.ts';
import { JobStatus } from '../job-state/statuses.ts';
import { DependencyFailure, type FlowOptions } from '../core/flow-options.ts';

const UNSUCCESSFUL: readonly string[] = [JobStatus.FAILED, JobStatus.DEAD_LETTER, JobStatus.CANCELLED];

interface DependentJob {
  id: string;
  flow: FlowOptions;
}

/**
 * Checks and locks the jobs that new jobs depend on (in the creating
 * transaction: none of them can finish unseen before the dependency rows
 * commit) and marks them as depended on. Returns the ids of the new jobs that
 * must wait. Unknown ids (another tenant's job is one), and jobs that
 * already failed (unless the dependent runs anyway), are validation errors
 * naming the entry. A new job can only depend on jobs that exist already, so
 * dependencies never form a cycle.
 */
export async function lockDependencies(
  db: Queryable,
  tenantId: string,
  jobs: readonly DependentJob[],
  fieldOf: (index: number, dependency: number) => string,
): Promise<Set<string>> {
  const ids = [...new Set(jobs.flatMap((job) => job.flow.dependsOn))];
  const waiting = new Set<string>();
  if (ids.length === 0) return waiting;
  const { rows } = await db.query<{ id: string; status: JobStatus }>(
    `select id, status from job where id = any($1::uuid[]) and tenant_id = $2 order by id for update`,
    [ids, tenantId],
  );
  const status = new Map(rows.map((row) => [row.id, row.status]));
  jobs.forEach((job, index) => {
    job.flow.dependsOn.forEach((dependencyId, position) => {
      const found = status.get(dependencyId);
      if (found === undefined) throw new ValidationError(fieldOf(index, position), `no job with id ${dependencyId}`);
      if (UNSUCCESSFUL.includes(found) && job.flow.dependencyFailure === DependencyFailure.CANCEL) {
        throw new ValidationError(
          fieldOf(index, position),
          `job ${dependencyId} is ${found} and will not complete; pass dependencyFailure: RUN to run anyway`,
        );
      }
      const settled = found === JobStatus.COMPLETED || UNSUCCESSFUL.includes(found);
      if (!settled) waiting.add(job.id);
    });
  });
  await db.query(`update job set has_dependents = true where id = any($1::uuid[]) and not has_dependents`, [ids]);
  return waiting;
}

/** Records the dependencies of jobs just inserted. */
export async function insertDependencies(db: Queryable, jobs: readonly DependentJob[]): Promise<void> {
  const rows = jobs.flatMap((job) =>
    job.flow.dependsOn.map((dependsOn) => ({ job_id: job.id, depends_on_job_id: dependsOn, on_failure: job.flow.dependencyFailure })),
  );
  if (rows.length === 0) return;
  await db.query(
    `insert into job_dependency (job_id, depends_on_job_id, on_failure)
     select job_id, depends_on_job_id, on_failure
       from jsonb_to_recordset($1::jsonb) as x(job_id uuid, depends_on_job_id uuid, on_failure text)`,
    [JSON.stringify(rows)],
  );
}
