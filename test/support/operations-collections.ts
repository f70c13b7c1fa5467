// GraphQL operations of the CollectionJob tests; codegen.ts turns them into typed documents.
import { graphql } from '../generated/gql.ts';

export const CollectionJobFieldsFragment = graphql(`
  fragment CollectionJobFields on CollectionJob {
    id
    status
    errorMessage
    symbols
    timeframe
    rangeFrom
    rangeTo
    provider
    result
    stats { symbolCount completedSymbolCount failedSymbolCount candleCount newCandleCount }
    failedSymbols { symbol error failedAt }
  }
`);

export const CreateCollectionJob = graphql(`
  mutation CreateCollectionJob($input: CreateCollectionJobInput!) {
    createCollectionJob(input: $input) {
      __typename
      ... on MutationCreateCollectionJobSuccess { data { ...CollectionJobFields } }
      ... on ValidationError { field message }
    }
  }
`);

export const GetCollectionJob = graphql(`
  query GetCollectionJob($id: ID!) {
    collectionJob(id: $id) { ...CollectionJobFields }
  }
`);

export const ListCollectionJobs = graphql(`
  query ListCollectionJobs($status: JobStatus, $since: DateTime, $first: Int, $after: String) {
    collectionJobs(status: $status, since: $since, first: $first, after: $after) {
      edges { cursor node { id status } }
      pageInfo { hasNextPage endCursor }
    }
    runningCollectionJobs { id }
  }
`);

export const DeleteCollectionJob = graphql(`
  mutation DeleteCollectionJob($id: ID!) {
    deleteCollectionJob(id: $id) {
      __typename
      ... on MutationDeleteCollectionJobSuccess { data { id } }
      ... on Error { message }
      ... on InvalidTransitionError { status }
    }
  }
`);

export const Candles = graphql(`
  query Candles($symbol: String!, $timeframe: String!, $rangeFrom: DateTime, $rangeTo: DateTime, $first: Int, $after: String) {
    candles(symbol: $symbol, timeframe: $timeframe, rangeFrom: $rangeFrom, rangeTo: $rangeTo, first: $first, after: $after) {
      edges { node { ts open high low close volume } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

/** The deprecated argument names (from, to) beside the new ones, for clients written before the rename. */
export const CandlesByOldArgumentNames = graphql(`
  query CandlesByOldArgumentNames($symbol: String!, $timeframe: String!, $from: DateTime, $to: DateTime, $rangeFrom: DateTime, $rangeTo: DateTime) {
    candles(symbol: $symbol, timeframe: $timeframe, from: $from, to: $to, rangeFrom: $rangeFrom, rangeTo: $rangeTo, first: 100) {
      edges { node { ts } }
    }
  }
`);

/** CollectionStats by its new and its deprecated field names. */
export const CollectionStatsByOldNames = graphql(`
  query CollectionStatsByOldNames($id: ID!) {
    collectionJob(id: $id) {
      stats { symbolCount completedSymbolCount failedSymbolCount candleCount total completed failed totalCandles }
    }
  }
`);

export const CollectionJobUpdated = graphql(`
  subscription CollectionJobUpdated($id: ID!) {
    jobUpdated(id: $id) {
      __typename
      id
      status
      ... on CollectionJob { stats { symbolCount completedSymbolCount failedSymbolCount candleCount newCandleCount } }
    }
  }
`);
