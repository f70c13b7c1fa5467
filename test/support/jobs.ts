import type pg from 'pg';
import type { GraphQLTestClient } from './app.ts';
import { CreateJob } from './operations.ts';
import type { CreateJobInput } from '../generated/graphql.ts';

/** Creates a job and returns it; a typed error fails the test. */
export async function createJob(client: GraphQLTestClient, input: CreateJobInput) {
  const result = await client.request(CreateJob, { input });
  if (result.createJob.__typename !== 'MutationCreateJobSuccess') {
    throw new Error(`createJob failed: ${JSON.stringify(result.createJob)}`);
  }
  return result.createJob.data;
}

/** The job's current graphile-worker queue entry (job.queue_entry_id), if it exists. */
export async function queueEntryOf(pool: pg.Pool, jobId: string): Promise<{ id: string; run_at: Date; locked_at: Date | null } | null> {
  const { rows } = await pool.query(
    `select entry.id, entry.run_at, entry.locked_at
       from job join graphile_worker.jobs as entry on entry.id = job.queue_entry_id
      where job.id = $1`,
    [jobId],
  );
  return rows[0] ?? null;
}

/** Removes the job's waiting queue entry, as a worker that died while writing its outcome leaves it. */
export async function removeQueueEntry(pool: pg.Pool, jobId: string): Promise<void> {
  const { rowCount } = await pool.query(
    'select graphile_worker.complete_jobs(array(select queue_entry_id from job where id = $1 and queue_entry_id is not null))',
    [jobId],
  );
  if (rowCount !== 1) throw new Error(`job ${jobId} has no waiting queue entry`);
}
