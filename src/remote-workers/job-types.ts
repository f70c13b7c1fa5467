// A remote worker's job types in the job-type registry (src/registry/,
// docs/job-type-registry.md): `register` records them as an in-process
// worker's start does, so the API checks their payloads against the JSON
// Schema the worker sent, a job of a type no live worker serves waits with
// NO_WORKER, and `jobTypes` in GraphQL lists the worker. Its worker_job_type
// rows go with its `worker` row (on delete cascade) when it unregisters or its
// lease passes (the sweep, worker/dead-workers.ts): the registry's triggers
// then mark the jobs nobody serves any more NO_WORKER.
import { ValidationError } from '../core/errors.ts';
import type { Queryable } from '../db/pool.ts';
import { JobKind } from '../generated/prisma/enums.ts';
import { getRegisteredJobTypes, registerJobTypes, type JobTypeRegistration } from '../registry/registry.ts';
import type { JobTypeRegistrationInput } from './protocol.ts';

/**
 * Records that the worker serves these types (in these queues; null: every
 * queue), replacing what it registered before. A type it only named keeps the
 * registration it has (another worker's, or its own earlier one).
 */
export async function registerServedJobTypes(
  db: Queryable,
  workerRowId: string,
  types: readonly JobTypeRegistrationInput[],
  queueNames: readonly string[] | null,
): Promise<void> {
  const existing = await getRegisteredJobTypes(db, types.map((type) => type.name));
  const registrations: JobTypeRegistration[] = types.map(({ nameOnly, ...type }, index) => {
    const stored = existing.get(type.name);
    // Remote workers run plain jobs only: a kind's handlers live in the service.
    if (stored && stored.kind !== JobKind.PLAIN) {
      throw new ValidationError(`jobTypes.${index}`, `${type.name} is a ${stored.kind} job type, run by the service's own workers; a remote worker serves PLAIN job types only`);
    }
    return nameOnly && stored ? stored : { ...type, kind: JobKind.PLAIN };
  });
  await registerJobTypes(db, workerRowId, registrations, queueNames);
}

/** The job types the worker registered (with their queues; null: every queue). */
export async function servedJobTypes(db: Queryable, workerRowId: string): Promise<Map<string, string[] | null>> {
  const { rows } = await db.query<{ jobType: string; queueNames: string[] | null }>({
    name: 'jobwire-remote-worker-served',
    text: `select job_type as "jobType", queue_names as "queueNames" from worker_job_type where worker_id = $1`,
    values: [workerRowId],
  });
  return new Map(rows.map((row) => [row.jobType, row.queueNames]));
}
