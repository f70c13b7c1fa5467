// Why a job's abort switch (core/job-abort.ts) was thrown: the run-job task
// reads the reason to decide the attempt's outcome (worker/run-job.ts).
export const CANCELLED_REASON = 'cancelled';
export const SHUTDOWN_REASON = 'shutdown';
/** The worker lost its database session: its jobs may be taken over (liveness.ts), so their handlers stop. */
export const SESSION_LOST_REASON = 'session-lost';
/** The job left its queued status before RUNNING was written (another worker took it over). */
export const LOST_REASON = 'lost';
