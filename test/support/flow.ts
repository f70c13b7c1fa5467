// Helpers for the flow-control tests.
import type { GraphQLTestClient } from './app.ts';
import { CreateJobFlow } from './operations.ts';
import type { CreateJobInput } from '../generated/graphql.ts';

/** Creates a job with flow options; a typed error fails the test. */
export async function createFlowJob(client: GraphQLTestClient, input: CreateJobInput) {
  const result = await client.request(CreateJobFlow, { input });
  if (result.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(`createJob failed: ${JSON.stringify(result.createJob)}`);
  return result.createJob.data;
}
