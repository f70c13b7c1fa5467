// GraphQL operations of the provider connection tests.
import { graphql } from '../generated/gql.ts';

export const SaveProviderConnection = graphql(`
  mutation SaveProviderConnection($provider: ConnectionProvider!, $token: Secret!, $queryId: String) {
    saveProviderConnection(provider: $provider, token: $token, queryId: $queryId) {
      __typename
      ... on MutationSaveProviderConnectionSuccess { data { provider tokenLast4 createdAt updatedAt } }
      ... on Error { message }
      ... on ValidationError { field }
      ... on ConnectionStorageUnavailableError { setting }
    }
  }
`);

export const DeleteProviderConnection = graphql(`
  mutation DeleteProviderConnection($provider: ConnectionProvider!) {
    deleteProviderConnection(provider: $provider) {
      __typename
      ... on MutationDeleteProviderConnectionSuccess { data { provider tokenLast4 } }
      ... on Error { message }
      ... on ProviderConnectionMissingError { provider }
    }
  }
`);

export const ProviderConnections = graphql(`
  query ProviderConnections {
    providerConnections { provider tokenLast4 createdAt updatedAt }
  }
`);
