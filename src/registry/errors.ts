import { JobwireError } from '../jobs/errors.ts';

/**
 * A create names a job type that no worker has registered and this process
 * does not host (allowed only with ALLOW_UNKNOWN_JOB_TYPES).
 */
export class UnknownJobTypeError extends JobwireError {
  override name = 'UnknownJobTypeError';
  constructor(
    /** The input field that names it, e.g. `jobs.2.jobType`. */
    readonly field: string,
    readonly jobType: string,
    readonly knownJobTypes: readonly string[],
  ) {
    super(`${field}: unknown job type "${jobType}": no worker has registered it; known types: ${knownJobTypes.join(', ') || 'none'}`);
  }
}
