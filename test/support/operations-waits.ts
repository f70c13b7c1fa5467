// Operations of the durable-waits tests (test/waits/).
import { graphql } from '../generated/gql.ts';

export const SendEvent = graphql(`
  mutation SendEvent($input: SendEventInput!) {
    sendEvent(input: $input) {
      __typename
      ... on MutationSendEventSuccess { data { wokenJobCount } }
      ... on ValidationError { field message }
    }
  }
`);

export const SignalJob = graphql(`
  mutation SignalJob($input: SignalJobInput!) {
    signalJob(input: $input) {
      __typename
      ... on MutationSignalJobSuccess { data { id status waitingReason } }
      ... on ValidationError { field message }
      ... on JobNotFoundError { jobId message }
      ... on JobNotWaitingError { jobId signalName message }
    }
  }
`);

export const JobWaitState = graphql(`
  query JobWaitState($id: ID!) {
    job(id: $id) {
      id
      status
      waitingReason
      retryCount
      result
      wait { reason step name match wakeAt }
      steps { edges { node { name status result } } }
      events { edges { node { status previousStatus message step { name } } } }
    }
  }
`);

export const JobWaitUpdated = graphql(`
  subscription JobWaitUpdated($id: ID!) {
    jobUpdated(id: $id) { id status waitingReason }
  }
`);

export const RerunJob = graphql(`
  mutation RerunJob($input: RerunJobInput!) {
    rerunJob(input: $input) {
      __typename
      ... on MutationRerunJobSuccess { data { id status } }
      ... on ValidationError { field message }
      ... on JobNotFoundError { message }
      ... on JobStillActiveError { message }
    }
  }
`);
