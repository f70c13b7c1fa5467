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
