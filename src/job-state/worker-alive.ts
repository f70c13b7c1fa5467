// Whether a `worker` row is alive, in SQL: shared by the dead-worker sweep
// (worker/dead-workers.ts), the remote workers' leases and the registry's
// list of serving workers, so that all three judge a worker the same way.

/**
 * Whether worker `w` is alive, in SQL; `deadAfterMs` names the parameter
 * holding WORKER_DEAD_AFTER_MS (in-process workers). A remote worker is alive
 * while its lease (lease_seconds after its last call) lasts. Silence is
 * counted from the server's start at the earliest: no worker can beat while
 * the database is down, so a restart does not make every worker look dead.
 */
export const WORKER_ALIVE = (w: string, deadAfterMs = '$1') =>
  `greatest(${w}.last_heartbeat_at, pg_postmaster_start_time()) >= now() - coalesce(make_interval(secs => ${w}.lease_seconds), make_interval(secs => ${deadAfterMs} / 1000.0))`;

/** The row ids of remote workers start with this (src/remote-workers/workers.ts). */
export const REMOTE_WORKER_PREFIX = 'remote:';
