// GraphQL operations of the portfolio import tests.
import { graphql } from '../generated/gql.ts';

export const CreatePortfolioImportJob = graphql(`
  mutation CreatePortfolioImportJob($input: CreatePortfolioImportJobInput!) {
    createPortfolioImportJob(input: $input) {
      __typename
      ... on MutationCreatePortfolioImportJobSuccess {
        data { id status portfolioId accountId source interval { start end } }
      }
      ... on Error { message }
      ... on ValidationError { field }
      ... on PortfolioImportOverlapError { portfolioId existingJobId existingInterval { start end } }
    }
  }
`);

export const PortfolioImportJob = graphql(`
  query PortfolioImportJob($id: ID!) {
    portfolioImportJob(id: $id) {
      id status errorMessage result portfolioId interval { start end } tradeCount cashTransactionCount positionCount
      events(first: 20) { edges { node { status previousStatus message } } }
    }
  }
`);

export const PortfolioImportJobs = graphql(`
  query PortfolioImportJobs($portfolioId: ID!, $first: Int, $after: String) {
    portfolioImportJobs(portfolioId: $portfolioId, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { id status interval { start end } } }
    }
  }
`);

export const PortfolioImportExists = graphql(`
  query PortfolioImportExists($portfolioId: ID!, $interval: DateIntervalInput!) {
    portfolioImportExists(portfolioId: $portfolioId, interval: $interval)
  }
`);

export const PortfolioActivity = graphql(`
  query PortfolioActivity($portfolioId: ID!, $first: Int, $after: String) {
    portfolioTrades(portfolioId: $portfolioId, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node { tradeId tradeDate symbol quantity tradePrice currency } }
    }
    portfolioCashTransactions(portfolioId: $portfolioId, first: 100) {
      totalCount
      edges { node { transactionId date type amount currency } }
    }
    portfolioPositions(portfolioId: $portfolioId, first: 100) {
      totalCount
      edges { node { conid reportDate symbol quantity } }
    }
  }
`);

export const PortfolioImportEvents = graphql(`
  subscription PortfolioImportEvents($portfolioId: ID!) {
    portfolioImportEvents(portfolioId: $portfolioId) {
      __typename jobId portfolioId timestamp
      ... on PortfolioImportJobFailed { error errorMessage jobError }
    }
  }
`);
