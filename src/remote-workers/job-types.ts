// WIRING POINT for the job-type registry (issue 25 point 2, src/registry/ on
// branch h25registry): a remote worker's `register` records the job types it
// serves here. Until that module is merged nothing is stored, and the types a
// worker claims are the ones it names in each claim. Once merged, the lead
// replaces the body with:
//
//   import { registerJobTypes } from '../registry/registry.ts';
//   await registerJobTypes(db, workerRowId, types.map((type) => ({ ...type, kind: 'PLAIN' })));
//
// (the registration's fields below are the registry's JobTypeRegistration, kind aside).
import type { Queryable } from '../db/pool.ts';
import type { JobTypeRegistrationInput } from './protocol.ts';

export async function registerServedJobTypes(
  _db: Queryable,
  _workerRowId: string,
  _types: readonly JobTypeRegistrationInput[],
): Promise<void> {
  // Nothing to store until src/registry/ exists (see above).
}
