import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { request, subscribe } from './api.ts';

export interface QueryState<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  /** Loads again (keeps showing the last data meanwhile). */
  reload: () => void;
}

/** Loads a query when its key changes; the latest answer wins, older ones are dropped. */
export function useQuery<T>(query: string, variables: Record<string, unknown>, enabled = true): QueryState<T> {
  const key = JSON.stringify(variables);
  const [state, setState] = useState<{ data: T | null; error: string | null; loading: boolean }>({ data: null, error: null, loading: enabled });
  const generation = useRef(0);
  const load = useCallback(() => {
    if (!enabled) return;
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, loading: true }));
    request<T>(query, JSON.parse(key)).then(
      (data) => mine === generation.current && setState({ data, error: null, loading: false }),
      (error: Error) => mine === generation.current && setState((previous) => ({ ...previous, error: error.message, loading: false })),
    );
  }, [query, key, enabled]);
  useEffect(load, [load]);
  return { ...state, reload: load };
}

/** A live subscription for as long as the component shows it (and its key stays the same). */
export function useSubscription<T>(query: string, variables: Record<string, unknown> | null, onData: (data: T) => void): string | null {
  const key = variables === null ? null : JSON.stringify(variables);
  const handler = useRef(onData);
  handler.current = onData;
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (key === null) return;
    setError(null);
    return subscribe<T>(query, JSON.parse(key), (data) => handler.current(data), (failure) => setError(failure.message));
  }, [query, key]);
  return error;
}

/** Runs fn at most once per interval, and once more after the last call, so the final state always shows. */
export function useThrottled(fn: () => void, intervalMs: number): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const last = useRef(0);
  const timer = useRef<number | null>(null);
  useEffect(() => () => void (timer.current !== null && clearTimeout(timer.current)), []);
  return useCallback(() => {
    const wait = last.current + intervalMs - Date.now();
    if (wait <= 0) {
      last.current = Date.now();
      latest.current();
    } else if (timer.current === null) {
      timer.current = window.setTimeout(() => {
        timer.current = null;
        last.current = Date.now();
        latest.current();
      }, wait);
    }
  }, [intervalMs]);
}
