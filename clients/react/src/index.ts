// React hooks (Preact: alias react to preact/compat) for jobwire's live jobs.
import { useEffect, useState } from 'react';
import type { Client } from 'graphql-ws';
import { watchJob, watchJobEvents, watchJobStream, type Job, type JobEvent, type JobStreamChunk } from './core.ts';

export { createJobwireClient, watchJob, watchJobEvents, watchJobStream, type Job, type JobEvent, type JobStreamChunk, type JobwireClientOptions } from './core.ts';

export interface Live<T> {
  data: T;
  error: unknown;
}

/** The job's current state, live (null until the first answer). */
export function useJob(client: Client, id: string): Live<Job | null> {
  const [state, setState] = useState<Live<Job | null>>({ data: null, error: null });
  useEffect(() => watchJob(client, id, (job) => setState({ data: job, error: null }), (error) => setState((old) => ({ ...old, error }))), [client, id]);
  return state;
}

/** Every event of the job, oldest first, live. */
export function useJobEvents(client: Client, id: string): Live<JobEvent[]> {
  const [state, setState] = useState<Live<JobEvent[]>>({ data: [], error: null });
  useEffect(() => {
    setState({ data: [], error: null });
    return watchJobEvents(client, id, (event) => setState((old) => ({ data: [...old.data, event], error: null })), (error) => setState((old) => ({ ...old, error })));
  }, [client, id]);
  return state;
}

/** Every chunk of the job's stream `name`, in order, live. */
export function useJobStream(client: Client, id: string, name: string): Live<JobStreamChunk[]> {
  const [state, setState] = useState<Live<JobStreamChunk[]>>({ data: [], error: null });
  useEffect(() => {
    setState({ data: [], error: null });
    return watchJobStream(client, id, name, (chunk) => setState((old) => ({ data: [...old.data, chunk], error: null })), (error) => setState((old) => ({ ...old, error })));
  }, [client, id, name]);
  return state;
}
