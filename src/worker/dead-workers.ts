// Releasing the jobs of dead workers: the `worker` row whose heartbeat is too
// old is deleted and the queue entries it held are unlocked
// (graphile_worker.force_unlock_workers), so the next worker to take an entry
// takes the job over (job-state/take-over.ts: one attempt spent, the events say
// why). An in-process worker is dead WORKER_DEAD_AFTER_MS after its last
// heartbeat (runner.ts beats); a remote worker (src/remote-workers/) once its
// lease, lease_seconds after its last call, has passed. Run by every
// in-process worker's heartbeat (every worker), and by every API process that
// serves remote workers (remote ones only): whichever comes first.
import type { Queryable } from '../db/pool.ts';
import { REMOTE_WORKER_PREFIX, WORKER_ALIVE } from '../job-state/worker-alive.ts';

export { REMOTE_WORKER_PREFIX, WORKER_ALIVE };

/**
 * Releases the queue entries of dead workers (and of entries locked by no live
 * worker); returns the ids of the workers released. `leased`: remote workers
 * only (an API process's sweep: in-process workers are judged by in-process
 * workers, by their heartbeat and their session locks, under their settings).
 */
export async function releaseDeadWorkers(db: Queryable, deadAfterMs: number, which: 'all' | 'leased' = 'all'): Promise<string[]> {
  const leased = which === 'leased';
  const released = await db.query<{ worker_id: string }>(
    `with dead as (
       delete from worker w where not (${WORKER_ALIVE('w')}) ${leased ? 'and w.lease_seconds is not null' : ''}
        returning id
     ), silent as (
       select distinct locked_by as worker_id from graphile_worker._private_jobs
        where locked_by is not null
          and ${leased ? `starts_with(locked_by, '${REMOTE_WORKER_PREFIX}')` : 'greatest(locked_at, pg_postmaster_start_time()) < now() - make_interval(secs => $1 / 1000.0)'}
          and not exists (select 1 from worker w where w.id = locked_by and ${WORKER_ALIVE('w')})
       union select id from dead
     ), unlocked as (
       select graphile_worker.force_unlock_workers(array(select worker_id from silent))
     ), nudged as (
       -- Idle workers poll; a nudge makes the released entries run at once.
       select pg_notify('jobs:insert', '{"count":1}') where exists (select 1 from silent)
     )
     select worker_id from silent, unlocked, (select count(*) from nudged) as nudges`,
    [deadAfterMs],
  );
  return released.rows.map((row) => row.worker_id);
}
