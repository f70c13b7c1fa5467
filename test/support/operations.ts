// Every GraphQL operation the tests send; codegen.ts turns them into typed documents.
import { graphql } from '../generated/gql.ts';

export const JobFieldsFragment = graphql(`
  fragment JobFields on Job {
    __typename
    id
    kind
    jobType
    queueName
    status
    priority
    maxRetries
    retryCount
    errorMessage
    error
    result
    progress
    progressMessage
    createdBy
    workerId
    payload
    metadata
    scheduledAt
    startedAt
    completedAt
    failedAt
    cancelledAt
  }
`);

export const CreateJob = graphql(`
  mutation CreateJob($input: CreateJobInput!) {
    createJob(input: $input) {
      __typename
      ... on MutationCreateJobSuccess { data { ...JobFields } }
      ... on ValidationError { field message }
    }
  }
`);

export const CreateJobs = graphql(`
  mutation CreateJobs($jobs: [CreateJobInput!]!) {
    createJobs(jobs: $jobs) {
      __typename
      ... on MutationCreateJobsSuccess { data { ...JobFields } }
      ... on ValidationError { field message }
    }
  }
`);

export const CancelJob = graphql(`
  mutation CancelJob($id: ID!) {
    cancelJob(id: $id) {
      __typename
      ... on MutationCancelJobSuccess { data { ...JobFields cancelRequestedAt } }
      ... on Error { message }
      ... on ValidationError { field }
      ... on JobNotFoundError { jobId }
      ... on InvalidTransitionError { jobId action status allowedStatuses }
    }
  }
`);

export const RetryJob = graphql(`
  mutation RetryJob($id: ID!) {
    retryJob(id: $id) {
      __typename
      ... on MutationRetryJobSuccess { data { ...JobFields } }
      ... on Error { message }
      ... on ValidationError { field }
      ... on JobNotFoundError { jobId }
      ... on InvalidTransitionError { jobId action status allowedStatuses }
      ... on JobConflictError { jobId action constraint }
      ... on JobStillActiveError { jobId action status }
    }
  }
`);

export const JobWithHistory = graphql(`
  query JobWithHistory($id: ID!) {
    job(id: $id) {
      ...JobFields
      steps(first: 100) { totalCount edges { node { name position status errorMessage result } } }
      events(first: 100) { totalCount edges { node { status previousStatus message cursor step { name } } } }
    }
  }
`);

export const JobsPage = graphql(`
  query JobsPage($filter: JobFilter, $first: Int, $after: String) {
    jobs(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id
          status
          jobType
          steps(first: 10) { edges { node { name status } } }
          events(first: 10) { edges { node { status } } }
        }
      }
    }
  }
`);

export const Queues = graphql(`
  query Queues($queueName: String!) {
    queueStats(queueName: $queueName) {
      queueName pendingCount scheduledCount runningCount retryingCount completedCount failedCount deadLetterCount cancelledCount
    }
    queues { queueName pendingCount completedCount }
  }
`);

export const JobEvents = graphql(`
  subscription JobEvents($filter: JobEventFilter, $after: String) {
    jobEvents(filter: $filter, after: $after) {
      id
      cursor
      status
      previousStatus
      message
      job { id }
    }
  }
`);

export const JobUpdated = graphql(`
  subscription JobUpdated($id: ID!) {
    jobUpdated(id: $id) { id status progress progressMessage retryCount }
  }
`);

// Flow control (src/flow/)

export const CreateJobFlow = graphql(`
  mutation CreateJobFlow($input: CreateJobInput!) {
    createJob(input: $input) {
      __typename
      ... on MutationCreateJobSuccess { created data { id status waitingReason errorMessage dependsOn timeoutMs concurrencyKey concurrencyLimit } }
      ... on ValidationError { field message }
    }
  }
`);

export const CreateJobsFlow = graphql(`
  mutation CreateJobsFlow($jobs: [CreateJobInput!]!) {
    createJobs(jobs: $jobs) {
      __typename
      ... on MutationCreateJobsSuccess { created data { id status waitingReason } }
      ... on ValidationError { field message }
    }
  }
`);

export const JobFlowState = graphql(`
  query JobFlowState($id: ID!) {
    job(id: $id) {
      id
      status
      waitingReason
      errorMessage
      retryCount
      result
      events { edges { node { status previousStatus message } } }
    }
  }
`);

export const JobFlowUpdated = graphql(`
  subscription JobFlowUpdated($id: ID!) {
    jobUpdated(id: $id) { id status waitingReason errorMessage startedAt }
  }
`);

export const PauseQueue = graphql(`
  mutation PauseQueue($queueName: String!) {
    pauseQueue(queueName: $queueName) {
      __typename
      ... on MutationPauseQueueSuccess { data { queueName paused pendingCount } }
      ... on ValidationError { field message }
    }
  }
`);

export const ResumeQueue = graphql(`
  mutation ResumeQueue($queueName: String!) {
    resumeQueue(queueName: $queueName) {
      __typename
      ... on MutationResumeQueueSuccess { data { queueName paused } }
      ... on ValidationError { field message }
    }
  }
`);

export const QueueUpdated = graphql(`
  subscription QueueUpdated($queueName: String!) {
    queueUpdated(queueName: $queueName) { queueName paused pendingCount runningCount completedCount }
  }
`);

/** jobEvents without `job`: its events come without their job rows (live.ts reads none for it). */
export const JobEventStatuses = graphql(`
  subscription JobEventStatuses($filter: JobEventFilter) {
    jobEvents(filter: $filter) { id status }
  }
`);

export const JobEventJobFragment = graphql(`
  fragment JobEventJob on JobEvent { job { id } }
`);

/** jobEvents selecting `job` through a fragment. */
export const JobEventsWithJobFragment = graphql(`
  subscription JobEventsWithJobFragment($filter: JobEventFilter) {
    jobEvents(filter: $filter) { id status ...JobEventJob }
  }
`);

export const FlowJobEvents = graphql(`
  subscription FlowJobEvents($filter: JobEventFilter) {
    jobEvents(filter: $filter) { status previousStatus message job { id } }
  }
`);

export const CreateSchedule = graphql(`
  mutation CreateSchedule($input: CreateScheduleInput!) {
    createSchedule(input: $input) {
      __typename
      ... on MutationCreateScheduleSuccess { data { id cron timezone paused nextRunAt missedTickPolicy } }
      ... on ValidationError { field message }
    }
  }
`);

export const PauseSchedule = graphql(`
  mutation PauseSchedule($id: ID!) {
    pauseSchedule(id: $id) {
      __typename
      ... on MutationPauseScheduleSuccess { data { id paused nextRunAt nextRunTimes } }
      ... on ScheduleNotFoundError { scheduleId message }
      ... on ValidationError { field message }
    }
  }
`);

export const DeleteSchedule = graphql(`
  mutation DeleteSchedule($id: ID!) {
    deleteSchedule(id: $id) {
      __typename
      ... on MutationDeleteScheduleSuccess { data }
      ... on ScheduleNotFoundError { scheduleId message }
      ... on ValidationError { field message }
    }
  }
`);

export const Schedules = graphql(`
  query Schedules {
    schedules {
      id
      cron
      paused
      nextRunTimes(count: 3)
      recentTicks(last: 3) { tickAt job { id status } }
    }
  }
`);

export const SetQueueRateLimit = graphql(`
  mutation SetQueueRateLimit($queueName: String!, $maxStarts: Int!, $intervalMs: Int!) {
    setQueueRateLimit(queueName: $queueName, maxStarts: $maxStarts, intervalMs: $intervalMs) {
      __typename
      ... on MutationSetQueueRateLimitSuccess { data { queueName rateLimit { maxStarts intervalMs } } }
      ... on ValidationError { field message }
    }
  }
`);

export const CreateCollectionJobKeyed = graphql(`
  mutation CreateCollectionJobKeyed($input: CreateCollectionJobInput!) {
    createCollectionJob(input: $input) {
      __typename
      ... on MutationCreateCollectionJobSuccess { created data { id symbols } }
      ... on ValidationError { field message }
    }
  }
`);

export const CreatePortfolioImportJobKeyed = graphql(`
  mutation CreatePortfolioImportJobKeyed($input: CreatePortfolioImportJobInput!) {
    createPortfolioImportJob(input: $input) {
      __typename
      ... on MutationCreatePortfolioImportJobSuccess { created data { id interval { start end } } }
      ... on PortfolioImportOverlapError { existingJobId }
      ... on ValidationError { field message }
    }
  }
`);
