// WIRING POINT for the job-type registry (issue 25 point 2, src/registry/ on
// branch h25registry, migration 000031): a remote worker's `register` records
// the job types it serves here. Until that module is merged nothing is
// stored, and the types a worker claims are the ones it names in each claim.
// Once merged, the lead replaces the body with:
//
//   import { registerJobTypes } from '../registry/registry.ts';
//   await registerJobTypes(db, workerRowId, types.map((type) => ({ ...type, kind: 'PLAIN' })));
//
// The registration's fields (protocol.ts, jobTypeRegistration) are the
// registry's JobTypeRegistration but `kind`. With it: worker_job_type rows go
// with the remote worker's row when its lease passes (on delete cascade), so
// h25registry's NO_WORKER triggers apply to remote workers as they are; its
// servingWorkers() should judge liveness with WORKER_ALIVE
// (worker/dead-workers.ts), which honours a remote worker's lease_seconds; and
// a claim could then be limited to the types the worker registered.
import type { Queryable } from '../db/pool.ts';
import type { JobTypeRegistrationInput } from './protocol.ts';

export async function registerServedJobTypes(
  _db: Queryable,
  _workerRowId: string,
  _types: readonly JobTypeRegistrationInput[],
): Promise<void> {
  // Nothing to store until src/registry/ exists (see above).
}
