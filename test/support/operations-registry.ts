// The job-type registry (src/registry/): operations the registry tests send.
import { graphql } from '../generated/gql.ts';

export const JobTypesWithWorkers = graphql(`
  query JobTypesWithWorkers {
    jobTypes {
      jobType
      description
      kind
      steps
      hosted
      payloadSchema
      resultSchema
      defaults { queueName maxRetries priority timeoutMs concurrencyLimit }
      registeredAt
      liveWorkerCount
      workers { workerId hostname pid queueNames lastSeenAt live remote }
    }
  }
`);

export const CreateRegistryJob = graphql(`
  mutation CreateRegistryJob($input: CreateJobInput!) {
    createJob(input: $input) {
      __typename
      ... on MutationCreateJobSuccess { data { id status jobType queueName waitingReason maxRetries } }
      ... on ValidationError { field message }
      ... on UnknownJobTypeError { field message jobType knownJobTypes }
    }
  }
`);

export const CreateRegistryJobs = graphql(`
  mutation CreateRegistryJobs($jobs: [CreateJobInput!]!) {
    createJobs(jobs: $jobs) {
      __typename
      ... on MutationCreateJobsSuccess { data { id } }
      ... on ValidationError { field message }
      ... on UnknownJobTypeError { field message jobType knownJobTypes }
    }
  }
`);

export const RegistryJob = graphql(`
  query RegistryJob($id: ID!) {
    job(id: $id) { id status waitingReason workerId }
  }
`);
