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

/**
 * Waits for a condition that no event announces (e.g. a worker locking a
 * queue entry), checking it every 10 ms.
 */
export async function eventually(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
