// GraphQL operations of the ImportJob tests; codegen.ts turns them into typed documents.
import { graphql } from '../generated/gql.ts';

export const ImportJobFieldsFragment = graphql(`
  fragment ImportJobFields on ImportJob {
    id
    status
    duplicatePolicy { similarityThreshold action }
    importStatus
    errorMessage
    result
    sourceType
    filename
    fileSize
    rowCount
    processedRowCount
    successCount
    errorCount
  }
`);

export const CreateImportJob = graphql(`
  mutation CreateImportJob($input: CreateImportJobInput!) {
    createImportJob(input: $input) {
      __typename
      ... on MutationCreateImportJobSuccess { data { ...ImportJobFields } }
      ... on ValidationError { field message }
    }
  }
`);

/** ImportJob's counts by their new and their deprecated names. */
export const ImportCountsByOldNames = graphql(`
  query ImportCountsByOldNames($id: ID!) {
    importJob(id: $id) { rowCount processedRowCount totalRows processedRows }
  }
`);

export const GetImportJob = graphql(`
  query GetImportJob($id: ID!, $errorsFirst: Int, $errorsAfter: String) {
    importJob(id: $id) {
      ...ImportJobFields
      errors(first: $errorsFirst, after: $errorsAfter) {
        totalCount
        edges { node { type row line field message rawData existingId similarity } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
`);

export const ListImportJobs = graphql(`
  query ListImportJobs($status: JobStatus, $first: Int, $after: String) {
    importJobs(status: $status, first: $first, after: $after) {
      edges { cursor node { id status filename } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const QaPairs = graphql(`
  query QaPairs($search: String, $first: Int, $after: String) {
    qaPairs(search: $search, first: $first, after: $after) {
      edges { node { id question answer tags importJobId importRow duplicateOfId duplicateSimilarity } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const ImportJobUpdated = graphql(`
  subscription ImportJobUpdated($id: ID!) {
    jobUpdated(id: $id) {
      __typename
      id
      status
      ... on ImportJob { rowCount processedRowCount successCount errorCount }
    }
  }
`);
