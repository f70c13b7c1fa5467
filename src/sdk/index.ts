// The jobwire package ("jobwire"): what an app imports to define its own job
// types and run them in its own worker processes, against the database of a
// running jobwire service (docs/platform.md).
export { defineJobType, type JobType, type JobTypeDefinition, type PayloadOf, type ResultOf, type TypedJobResult } from './define-job-type.ts';
export { runWorker, type RunWorkerOptions, type RunningWorker } from './run-worker.ts';
export { SchemaNotReadyError } from './schema-check.ts';
// Durable waits (docs/workflows.md): what a handler's waits return, and the wakes an app sends in its transaction.
export type { JobWaitsContext, WaitForEventOptions, WaitForSignalOptions, WaitResult } from '../core/handler.ts';
// Child jobs (docs/workflows.md#child-jobs): what waitForChildren returns.
export type { ChildOutcome, ChildrenWaitResult, SpawnOptions, WaitForChildrenOptions } from '../core/handler.ts';
export { JobWaits } from '../worker/waits.ts';
export { sendEvent, signalJob } from '../enqueue/send-event.ts';
export { NonRetriableError, type JobContext, type JobHandler, type JobResult, type JobStream, type JobLog, type ProgressUpdate, type RunningJob } from '../core/handler.ts';
// Output streams' refusal past their bounds (docs/end-user-live-jobs.md#output-streams).
export { JobStreamLimitError } from '../jobs/job-streams.ts';
// Enqueue in the app's own transaction (docs/enqueue-in-your-transaction.md).
export { addJob, AddJobError, type AddJobClient, type AddJobOptions, type AddJobWithViewerTokenOptions } from '../enqueue/add-job.ts';
// Tokens for end users' browsers (docs/end-user-live-jobs.md).
export { createViewerToken, type ViewerToken, type ViewerTokenOptions } from './viewer-token.ts';
export { JobNotFoundError, TenantQuotaExceededError, ValidationError, type TenantQuotaLimit } from '../core/errors.ts';
// Tracing (docs/tracing.md): the active span's trace context as headers, for a createJob sent over HTTP.
export { traceHeaders } from '../tracing/trace-context.ts';
