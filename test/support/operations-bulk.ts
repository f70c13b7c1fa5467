// GraphQL operations of bulk cancel and retry; codegen.ts turns them into typed documents.
import { graphql } from '../generated/gql.ts';

export const BulkJobCount = graphql(`
  query BulkJobCount($action: BulkJobAction!, $filter: JobFilter!) {
    bulkJobCount(action: $action, filter: $filter) {
      __typename
      ... on QueryBulkJobCountSuccess { data { count moreThanMax max } }
      ... on ValidationError { field message }
    }
  }
`);

export const CancelJobs = graphql(`
  mutation CancelJobs($filter: JobFilter!, $limit: Int) {
    cancelJobs(filter: $filter, limit: $limit) {
      __typename
      ... on MutationCancelJobsSuccess { data { affectedCount affectedJobIds moreMatching skipped { jobId message } } }
      ... on ValidationError { field message }
    }
  }
`);

export const RetryJobs = graphql(`
  mutation RetryJobs($filter: JobFilter!, $limit: Int) {
    retryJobs(filter: $filter, limit: $limit) {
      __typename
      ... on MutationRetryJobsSuccess { data { affectedCount affectedJobIds moreMatching skipped { jobId message } } }
      ... on ValidationError { field message }
    }
  }
`);
