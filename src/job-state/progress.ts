// Progress of a RUNNING job, written by the worker that holds it (throttled in worker/context.ts).
import type { Queryable } from '../db/pool.ts';

export async function writeProgress(db: Queryable, jobId: string, workerId: string, percent: number, message: string | null): Promise<void> {
  await db.query(
    `update job set progress = $3, progress_message = $4 where id = $1 and worker_id = $2 and status = 'RUNNING'`,
    [jobId, workerId, percent, message],
  );
}
