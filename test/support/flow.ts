// Helpers for the flow-control tests.
import { spawnWorker, startTestApp, type GraphQLTestClient } from './app.ts';
import { createTestDatabase } from './database.ts';
import { CreateJobFlow } from './operations.ts';
import type { CreateJobInput } from '../generated/graphql.ts';

/** Creates a job with flow options; a typed error fails the test. */
export async function createFlowJob(client: GraphQLTestClient, input: CreateJobInput) {
  const result = await client.request(CreateJobFlow, { input });
  if (result.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(`createJob failed: ${JSON.stringify(result.createJob)}`);
  return result.createJob.data;
}

/**
 * A fresh database, the API in this process (no worker) and two `work`
 * processes on it, as the flow guarantees must hold across processes. The
 * workers stop when the file ends.
 */
export async function startApiAndTwoWorkers(workerEnv: Record<string, string> = {}, apiEnv: Record<string, string> = {}) {
  const db = await createTestDatabase();
  const api = await startTestApp(db.url, { roles: { api: true, worker: false }, env: apiEnv });
  const workers = [await spawnWorker(db.url, workerEnv), await spawnWorker(db.url, workerEnv)];
  return { db, api, workers };
}
