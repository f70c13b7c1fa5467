// GraphQL operations of the budget job tests; codegen.ts turns them into typed documents.
import { graphql } from '../generated/gql.ts';

export const BudgetJobFieldsFragment = graphql(`
  fragment BudgetJobFields on BudgetJob {
    id
    status
    budgetStatus
    budgetId
    budgetJobType
    jobType
    failureReason
    errorMessage
    retryCount
    result
    startedAt
    completedAt
    payeeId
    snapshotId
    syncedTransactionCount
    suggestionCount
    appliedSuggestionCount
    notAppliedSuggestionCount
    budgetMetadata { fullResync trigger suggestionIds }
    parentJob { id jobType }
    steps { edges { node { name position status errorMessage } } }
  }
`);

export const BudgetErrorFieldsFragment = graphql(`
  fragment BudgetErrorFields on Error {
    __typename
    message
    ... on ValidationError { field }
    ... on BudgetNotFoundError { budgetId }
    ... on BudgetProviderFailedError { budgetId code }
    ... on ProviderConnectionMissingError { provider }
    ... on SuggestionNotFoundError { suggestionId field }
    ... on SuggestionOfAnotherBudgetError { suggestionId budgetId field }
    ... on SuggestionAlreadyAppliedError { suggestionId field }
    ... on SnapshotNotFoundError { snapshotId budgetId }
    ... on PayeeNotFoundError { payeeId budgetId }
  }
`);

export const CreateBudgetSyncJob = graphql(`
  mutation CreateBudgetSyncJob($input: BudgetSyncJobInput!) {
    createBudgetSyncJob(input: $input) {
      __typename
      ... on MutationCreateBudgetSyncJobSuccess { created data { ...BudgetJobFields } }
      ... on Error { ...BudgetErrorFields }
    }
  }
`);

export const CreateSyncAndSuggestJob = graphql(`
  mutation CreateSyncAndSuggestJob($input: BudgetSyncJobInput!) {
    createSyncAndSuggestJob(input: $input) {
      __typename
      ... on MutationCreateSyncAndSuggestJobSuccess { created data { ...BudgetJobFields } }
      ... on Error { ...BudgetErrorFields }
    }
  }
`);

export const CreateSuggestionsGenerateJob = graphql(`
  mutation CreateSuggestionsGenerateJob($input: BudgetJobInput!) {
    createSuggestionsGenerateJob(input: $input) {
      __typename
      ... on MutationCreateSuggestionsGenerateJobSuccess { created data { ...BudgetJobFields } }
      ... on Error { ...BudgetErrorFields }
    }
  }
`);

export const CreateSuggestionsRetryPayeeJob = graphql(`
  mutation CreateSuggestionsRetryPayeeJob($input: SuggestionsRetryPayeeJobInput!) {
    createSuggestionsRetryPayeeJob(input: $input) {
      __typename
      ... on MutationCreateSuggestionsRetryPayeeJobSuccess { created data { ...BudgetJobFields } }
      ... on Error { ...BudgetErrorFields }
    }
  }
`);

export const CreateSuggestionsApplyJob = graphql(`
  mutation CreateSuggestionsApplyJob($input: SuggestionsApplyJobInput!) {
    createSuggestionsApplyJob(input: $input) {
      __typename
      ... on MutationCreateSuggestionsApplyJobSuccess { created data { ...BudgetJobFields } }
      ... on Error { ...BudgetErrorFields }
    }
  }
`);

export const CreateSnapshotCreateJob = graphql(`
  mutation CreateSnapshotCreateJob($input: BudgetJobInput!) {
    createSnapshotCreateJob(input: $input) {
      __typename
      ... on MutationCreateSnapshotCreateJobSuccess { created data { ...BudgetJobFields } }
      ... on Error { ...BudgetErrorFields }
    }
  }
`);

export const CreateSnapshotRedownloadJob = graphql(`
  mutation CreateSnapshotRedownloadJob($input: SnapshotRedownloadJobInput!) {
    createSnapshotRedownloadJob(input: $input) {
      __typename
      ... on MutationCreateSnapshotRedownloadJobSuccess { created data { ...BudgetJobFields } }
      ... on Error { ...BudgetErrorFields }
    }
  }
`);

export const GetBudgetJob = graphql(`
  query GetBudgetJob($id: ID!) {
    job(id: $id) { ... on BudgetJob { ...BudgetJobFields } }
  }
`);

/** BudgetJob's counts by their new and their deprecated names. */
export const BudgetCountsByOldNames = graphql(`
  query BudgetCountsByOldNames($id: ID!) {
    job(id: $id) {
      ... on BudgetJob {
        syncedTransactionCount suggestionCount appliedSuggestionCount notAppliedSuggestionCount
        transactionsSynced suggestionsMade suggestionsApplied suggestionsNotApplied
      }
    }
  }
`);

export const BudgetJobs = graphql(`
  query BudgetJobs($budgetId: ID!, $first: Int, $after: String) {
    budgetJobs(budgetId: $budgetId, first: $first, after: $after) {
      edges { node { ...BudgetJobFields } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const BudgetSuggestions = graphql(`
  query BudgetSuggestions($budgetId: ID!, $status: CategorySuggestionStatus, $first: Int, $after: String) {
    budgetSuggestions(budgetId: $budgetId, status: $status, first: $first, after: $after) {
      edges { node { id budgetId transactionId payeeId suggestedCategoryId confidence evidenceCount status notAppliedReason appliedAt appliedByJobId } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const BudgetSnapshots = graphql(`
  query BudgetSnapshots($budgetId: ID!) {
    budgetSnapshots(budgetId: $budgetId) {
      edges { node { id budgetId sha256 sizeBytes compressedSizeBytes createdByJobId verifiedAt redownloadedSha256 contentChanged } }
    }
  }
`);

export const AcceptSuggestions = graphql(`
  mutation AcceptSuggestions($input: AnswerSuggestionsInput!) {
    acceptSuggestions(input: $input) {
      __typename
      ... on MutationAcceptSuggestionsSuccess { data { id status } }
      ... on Error { ...BudgetErrorFields }
    }
  }
`);

export const RejectSuggestions = graphql(`
  mutation RejectSuggestions($input: AnswerSuggestionsInput!) {
    rejectSuggestions(input: $input) {
      __typename
      ... on MutationRejectSuggestionsSuccess { data { id status } }
      ... on Error { ...BudgetErrorFields }
    }
  }
`);

export const CreateBudgetSchedule = graphql(`
  mutation CreateBudgetSchedule($input: CreateBudgetScheduleInput!) {
    createBudgetSchedule(input: $input) {
      __typename
      ... on MutationCreateBudgetScheduleSuccess { data { id cron timezone } }
      ... on Error { ...BudgetErrorFields }
    }
  }
`);

export const BudgetJobUpdated = graphql(`
  subscription BudgetJobUpdated($id: ID!) {
    jobUpdated(id: $id) { id status progress ... on BudgetJob { budgetStatus syncedTransactionCount suggestionCount } }
  }
`);
