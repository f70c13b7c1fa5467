// Every GraphQL operation the dashboard sends, with the shapes it reads.

export type JobStatus = 'PENDING' | 'SCHEDULED' | 'RUNNING' | 'RETRYING' | 'COMPLETED' | 'FAILED' | 'DEAD_LETTER' | 'CANCELLED';
export const JOB_STATUSES: JobStatus[] = ['PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING', 'COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'];
export const ACTIVE_STATUSES: JobStatus[] = ['PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING'];
export const RETRIABLE_STATUSES: JobStatus[] = ['FAILED', 'DEAD_LETTER', 'CANCELLED'];

export interface QueueStats {
  queueName: string;
  pendingCount: number;
  scheduledCount: number;
  runningCount: number;
  retryingCount: number;
  completedCount: number;
  failedCount: number;
  deadLetterCount: number;
  cancelledCount: number;
}

const QUEUE_FIELDS = `queueName pendingCount scheduledCount runningCount retryingCount completedCount failedCount deadLetterCount cancelledCount`;

export const QueuesUpdated = `subscription QueuesUpdated { queuesUpdated { ${QUEUE_FIELDS} } }`;

export interface ThroughputMinute {
  minute: string;
  completedCount: number;
  failedCount: number;
}
export const Throughput = `query Throughput($minutes: Int) { jobThroughput(minutes: $minutes) { minute completedCount failedCount } }`;

/** The job types the service runs, with their kinds (the kind filter lists these: the server's kinds, none named here). */
export const JobTypes = `query JobTypes { jobTypes { jobType kind } }`;

/** The Job types view: every type, its schema and defaults, and the workers serving it (src/registry/). */
export interface JobTypeWorker {
  workerId: string;
  hostname: string;
  pid: number;
  queueNames: string[] | null;
  lastSeenAt: string;
  live: boolean;
}
export interface JobTypeEntry {
  jobType: string;
  description: string;
  kind: string;
  hosted: boolean;
  steps: string[];
  payloadSchema: unknown;
  resultSchema: unknown;
  defaults: { queueName: string; maxRetries: number; priority: number; timeoutMs: number | null; concurrencyLimit: number | null };
  registeredAt: string | null;
  liveWorkerCount: number;
  workers: JobTypeWorker[];
}
export const JobTypesView = `query JobTypesView {
  jobTypes {
    jobType description kind hosted steps payloadSchema resultSchema registeredAt liveWorkerCount
    defaults { queueName maxRetries priority timeoutMs concurrencyLimit }
    workers { workerId hostname pid queueNames lastSeenAt live }
  }
}`;

export interface JobSummary {
  id: string;
  kind: string;
  jobType: string;
  queueName: string;
  status: JobStatus;
  progress: number;
  progressMessage: string | null;
  retryCount: number;
  maxRetries: number;
  errorMessage: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  failedAt: string | null;
  cancelledAt: string | null;
  cancelRequestedAt: string | null;
  scheduledAt: string | null;
  /** Why a queued job does not run yet (e.g. NO_WORKER: no live worker serves its type); null when nothing holds it. */
  waitingReason: string | null;
}

const SUMMARY_FIELDS = `id kind jobType queueName status progress progressMessage retryCount maxRetries errorMessage
  createdAt startedAt completedAt failedAt cancelledAt cancelRequestedAt scheduledAt waitingReason`;

export interface JobFilter {
  statuses?: JobStatus[];
  kinds?: string[];
  queueNames?: string[];
  jobTypes?: string[];
  createdAfter?: string;
  createdBefore?: string;
  tags?: string[];
  createdBy?: string[];
  metadataContains?: Record<string, unknown>;
  payloadContains?: Record<string, unknown>;
  errorContains?: string;
}

export interface JobsPage {
  jobs: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: Array<{ node: JobSummary }> };
}
export const JobsList = `query JobsList($filter: JobFilter, $first: Int, $after: String) {
  jobs(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ${SUMMARY_FIELDS} } }
  }
}`;

export const JobProgress = `subscription JobProgress($id: ID!) { jobUpdated(id: $id) { ${SUMMARY_FIELDS} } }`;

export interface JobStep {
  id: string;
  name: string;
  position: number;
  status: JobStatus;
  errorMessage: string | null;
  startedAt: string | null;
  completedAt: string | null;
}

export interface JobEvent {
  id: string;
  cursor: string;
  status: JobStatus;
  previousStatus: JobStatus | null;
  message: string | null;
  createdAt: string;
  step: { name: string } | null;
}

export interface JobDetail extends JobSummary {
  __typename: string;
  payload: Record<string, unknown>;
  result: Record<string, unknown> | null;
  metadata: Record<string, unknown>;
  priority: number;
  workerId: string | null;
  createdBy: string | null;
  updatedAt: string;
  parentJob: { id: string; jobType: string } | null;
  /** What its handler waits for (a durable wait), while it waits. */
  wait: { reason: string; step: string; name: string | null; wakeAt: string | null } | null;
  steps: { edges: Array<{ node: JobStep }> };
  /** The kind's facts (its descriptor's dashboard detail); null for PLAIN jobs. */
  kindDetail: { title: string; facts: Array<{ label: string; value: string }> } | null;
  // Lists some kinds add below their facts.
  importErrors?: {
    totalCount: number;
    edges: Array<{ node: { row: number; line: number; type: string; field: string | null; message: string; similarity: number | null } }>;
  };
  symbols?: string[];
  failedSymbols?: Array<{ symbol: string; error: string; failedAt: string }>;
}

const DETAIL_FIELDS = `__typename ${SUMMARY_FIELDS} payload result metadata priority workerId createdBy updatedAt
  parentJob { id jobType }
  wait { reason step name wakeAt }
  steps(first: 100) { edges { node { id name position status errorMessage startedAt completedAt } } }
  kindDetail { title facts { label value } }
  ... on ImportJob {
    importErrors: errors(first: 50) { totalCount edges { node { row line type field message similarity } } }
  }
  ... on CollectionJob { symbols failedSymbols { symbol error failedAt } }`;

// Pages are at most PAGE_SIZE_MAX (100 by default): the first 100 events come
// with the job, jobEvents(after: the last one's cursor) replays the rest.
export const JobPageQuery = `query JobPage($id: ID!) {
  job(id: $id) {
    ${DETAIL_FIELDS}
    events(first: 100) { edges { node { id cursor status previousStatus message createdAt step { name } } } }
  }
}`;

export const JobDetailUpdated = `subscription JobDetailUpdated($id: ID!) { jobUpdated(id: $id) { ${DETAIL_FIELDS} } }`;

export const JobEventsAfter = `subscription JobEventsAfter($filter: JobEventFilter, $after: String) {
  jobEvents(filter: $filter, after: $after) { id cursor status previousStatus message createdAt step { name } }
}`;

export const CancelJob = `mutation CancelJob($id: ID!) {
  cancelJob(id: $id) { __typename ... on Error { message } ... on MutationCancelJobSuccess { data { id status } } }
}`;
export const SignalJob = `mutation SignalJob($input: SignalJobInput!) {
  signalJob(input: $input) { __typename ... on Error { message } ... on MutationSignalJobSuccess { data { id status } } }
}`;
export const RetryJob = `mutation RetryJob($id: ID!) {
  retryJob(id: $id) { __typename ... on Error { message } ... on MutationRetryJobSuccess { data { id status } } }
}`;

export type BulkAction = 'CANCEL' | 'RETRY';
export interface BulkCount {
  bulkJobCount: { __typename: string; message?: string; data?: { count: number; moreThanMax: boolean; max: number } };
}
export const BulkJobCount = `query BulkJobCount($action: BulkJobAction!, $filter: JobFilter!) {
  bulkJobCount(action: $action, filter: $filter) { __typename ... on Error { message } ... on QueryBulkJobCountSuccess { data { count moreThanMax max } } }
}`;

export interface BulkResult {
  __typename: string;
  message?: string;
  data?: { affectedCount: number; moreMatching: boolean; skipped: Array<{ jobId: string; message: string }> };
}
const BULK_RESULT = `data { affectedCount moreMatching skipped { jobId message } }`;
export const CancelJobs = `mutation CancelJobs($filter: JobFilter!) {
  cancelJobs(filter: $filter) { __typename ... on Error { message } ... on MutationCancelJobsSuccess { ${BULK_RESULT} } }
}`;
export const RetryJobs = `mutation RetryJobs($filter: JobFilter!) {
  retryJobs(filter: $filter) { __typename ... on Error { message } ... on MutationRetryJobsSuccess { ${BULK_RESULT} } }
}`;

// Job logs: jobLogs replays the stored lines after `after`, then follows live ones.
export interface JobLogLine {
  sequence: number;
  attempt: number;
  level: 'INFO' | 'WARN' | 'ERROR';
  message: string;
  fields: Record<string, unknown>;
  createdAt: string;
}

export const JobLogsAfter = `subscription JobLogsAfter($jobId: ID!, $after: Int) {
  jobLogs(jobId: $jobId, after: $after) { sequence attempt level message fields createdAt }
}`;

// A job's children (Job.childJobs), for the job page's tree: each with its own
// children's count; nested levels are loaded by their own ChildJobs query.
export interface ChildJob {
  id: string;
  jobType: string;
  status: JobStatus;
  waitingReason: string | null;
  cancelRequestedAt: string | null;
  childJobs: { totalCount: number };
}
export interface ChildJobsPage {
  job: { id: string; childJobs: { totalCount: number; edges: Array<{ node: ChildJob }> } } | null;
}
export const ChildJobs = `query ChildJobs($id: ID!, $first: Int) {
  job(id: $id) {
    id
    childJobs(first: $first) {
      totalCount
      edges { node { id jobType status waitingReason cancelRequestedAt childJobs(first: 1) { totalCount } } }
    }
  }
}`;
/** Events of the given jobs' children: the tree reloads a level when one comes. */
export const ChildJobEvents = `subscription ChildJobEvents($filter: JobEventFilter, $after: String) { jobEvents(filter: $filter, after: $after) { id cursor } }`;
