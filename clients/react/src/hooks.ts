// The hooks, made from a framework's useState and useEffect: React's
// (index.ts) and Preact's (preact.ts) share this code and these types.
import type { Client } from 'graphql-ws';
import { watchJob, watchJobEvents, watchJobStream, type Job, type JobEvent, type JobStreamChunk, type JobTypeName } from './core.js';

export interface Live<T> {
  data: T;
  error: unknown;
}

type SetState<S> = (value: S | ((old: S) => S)) => void;

/** What the hooks need of a framework: React's and Preact's hooks both fit. */
export interface HookRuntime {
  useState<S>(initial: S): [S, SetState<S>];
  useEffect(effect: () => void | (() => void), deps: readonly unknown[]): void;
}

export interface JobHooks {
  /**
   * The job's current state, live (null until the first answer). With a job
   * type (`useJob<'import.file'>`), `result` has that type's result type, as
   * registered from the generated client (see Register).
   */
  useJob<T extends JobTypeName = JobTypeName>(client: Client, id: string): Live<Job<T> | null>;
  /** Every event of the job, oldest first, live. */
  useJobEvents(client: Client, id: string): Live<JobEvent[]>;
  /** Every chunk of the job's stream `name`, in order, live. */
  useJobStream(client: Client, id: string, name: string): Live<JobStreamChunk[]>;
}

export function makeHooks({ useState, useEffect }: HookRuntime): JobHooks {
  return {
    useJob<T extends JobTypeName = JobTypeName>(client: Client, id: string): Live<Job<T> | null> {
      const [state, setState] = useState<Live<Job<T> | null>>({ data: null, error: null });
      useEffect(() => watchJob<T>(client, id, (job) => setState({ data: job, error: null }), (error) => setState((old) => ({ ...old, error }))), [client, id]);
      return state;
    },
    useJobEvents(client: Client, id: string): Live<JobEvent[]> {
      const [state, setState] = useState<Live<JobEvent[]>>({ data: [], error: null });
      useEffect(() => {
        setState({ data: [], error: null });
        return watchJobEvents(client, id, (event) => setState((old) => ({ data: [...old.data, event], error: null })), (error) => setState((old) => ({ ...old, error })));
      }, [client, id]);
      return state;
    },
    useJobStream(client: Client, id: string, name: string): Live<JobStreamChunk[]> {
      const [state, setState] = useState<Live<JobStreamChunk[]>>({ data: [], error: null });
      useEffect(() => {
        setState({ data: [], error: null });
        return watchJobStream(client, id, name, (chunk) => setState((old) => ({ data: [...old.data, chunk], error: null })), (error) => setState((old) => ({ ...old, error })));
      }, [client, id, name]);
      return state;
    },
  };
}
