// The framework-free core: one graphql-ws client per token, reconnecting for
// ever with backoff, and subscriptions that resume where they were. A stream
// or event subscription keeps the last sequence (cursor) it delivered in its
// own variables, which graphql-ws sends again when it re-subscribes after a
// reconnect; anything at or before it is dropped, so nothing arrives twice.
import { createClient, type Client } from 'graphql-ws';

export interface JobwireClientOptions {
  /** The API's websocket URL, e.g. wss://jobs.example.com/graphql. */
  url: string;
  /** A viewer token (createViewerToken) or any token the API takes. */
  token: string;
}

export function createJobwireClient({ url, token }: JobwireClientOptions): Client {
  return createClient({
    url,
    lazy: true,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: Number.POSITIVE_INFINITY,
    // Every close is retried but an expired or refused token's (4401, 4403): a new token is needed then.
    shouldRetry: (event) => !(event && typeof event === 'object' && 'code' in event && [4401, 4403].includes((event as CloseEvent).code)),
  });
}

/**
 * Register your job types' results here to type the hooks by job type, with
 * the client `jobwire codegen` generates:
 *
 *   import type {} from '@jobwire/react';
 *   import type { JobResults } from './jobwire-client/index.js';
 *   declare module '@jobwire/react' { interface Register { jobResults: JobResults } }
 *
 * Then `useJob<'import.file'>(client, id).data?.result` has import.file's result type.
 */
export interface Register {}

/** Each job type's result: the registered JobResults, else any JSON object for any type name. */
export type JobResultsOf = Register extends { jobResults: infer Results } ? Results : Record<string, Record<string, unknown>>;

/** The job types the hooks know: the registered ones (any name when none is registered). */
export type JobTypeName = keyof JobResultsOf & string;

export interface Job<T extends JobTypeName = JobTypeName> {
  id: string;
  /** The job's type; `jobType` of a typed hook is the type it was given. */
  jobType: T;
  status: string;
  progress: number;
  progressMessage: string | null;
  /** Set once it COMPLETED: the job type's result (typed by Register). */
  result: JobResultsOf[T] | null;
  errorMessage: string | null;
}

export interface JobEvent {
  cursor: string;
  status: string;
  previousStatus: string | null;
  message: string | null;
  createdAt: string;
}

export interface JobStreamChunk {
  sequence: number;
  chunk: unknown;
  createdAt: string;
}

type Unsubscribe = () => void;

const JOB = `subscription JobwireJob($id: ID!) { jobUpdated(id: $id) { id jobType status progress progressMessage result errorMessage } }`;
const EVENTS = `subscription JobwireJobEvents($ids: [ID!], $after: String) { jobEvents(filter: { jobIds: $ids }, after: $after) { cursor status previousStatus message createdAt } }`;
const STREAM = `subscription JobwireJobStream($id: ID!, $name: String!, $after: Int) { jobStream(jobId: $id, name: $name, after: $after) { sequence chunk createdAt } }`;

/** The job's state now and after every change. */
export function watchJob<T extends JobTypeName = JobTypeName>(client: Client, id: string, onJob: (job: Job<T>) => void, onError: (error: unknown) => void): Unsubscribe {
  return client.subscribe<{ jobUpdated: Job<T> }>({ query: JOB, variables: { id } }, sink((data) => onJob(data.jobUpdated), onError));
}

/** The job's events from the start (or `after`), then live; resumed after a reconnect from the last one delivered. */
export function watchJobEvents(client: Client, id: string, onEvent: (event: JobEvent) => void, onError: (error: unknown) => void, after: string | null = null): Unsubscribe {
  const variables: { ids: string[]; after: string | null } = { ids: [id], after: after ?? 'ZXZlbnQ6MDow' /* the start of the log: event:0:0 */ };
  const seen = new Set<string>();
  return client.subscribe<{ jobEvents: JobEvent }>(
    { query: EVENTS, variables },
    sink((data) => {
      if (seen.has(data.jobEvents.cursor)) return;
      seen.add(data.jobEvents.cursor);
      variables.after = data.jobEvents.cursor;
      onEvent(data.jobEvents);
    }, onError),
  );
}

/** A job's output stream from the start (or after `after`), then live; resumed after a reconnect from the last sequence delivered. */
export function watchJobStream(client: Client, id: string, name: string, onChunk: (chunk: JobStreamChunk) => void, onError: (error: unknown) => void, after = 0): Unsubscribe {
  const variables = { id, name, after };
  return client.subscribe<{ jobStream: JobStreamChunk }>(
    { query: STREAM, variables },
    sink((data) => {
      // Sequences have no gaps: anything else is a repeat (or a reordering this never sees).
      if (data.jobStream.sequence !== variables.after + 1) return;
      variables.after = data.jobStream.sequence;
      onChunk(data.jobStream);
    }, onError),
  );
}

function sink<T>(onData: (data: T) => void, onError: (error: unknown) => void) {
  return {
    next: (value: { data?: T | null; errors?: unknown }) => (value.errors ? onError(value.errors) : value.data && onData(value.data)),
    error: onError,
    complete: () => undefined,
  };
}
