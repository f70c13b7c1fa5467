// The one way the dashboard talks to jobwire: GraphQL at /graphql over HTTP
// (queries, mutations) and graphql-ws (subscriptions), with the same token:
// `Authorization: Bearer <token>` over HTTP, `{ authorization }` in connection_init.
import { createClient, type Client } from 'graphql-ws';

const TOKEN_KEY = 'jobwire.token';
const GRAPHQL_PATH = '/graphql';

export function getToken(): string {
  return localStorage.getItem(TOKEN_KEY) ?? '';
}

/** Saves the token (empty: none) and reconnects with it. */
export function setToken(token: string): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  location.reload();
}

const authorization = () => (getToken() ? `Bearer ${getToken()}` : null);

export class ApiError extends Error {
  override name = 'ApiError';
}

/** Runs a query or mutation; GraphQL and HTTP errors become an ApiError with the server's message. */
export async function request<Result>(query: string, variables: Record<string, unknown> = {}): Promise<Result> {
  const auth = authorization();
  const response = await fetch(GRAPHQL_PATH, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(auth ? { authorization: auth } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: Result; errors?: Array<{ message: string }> };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`${response.status} ${response.statusText}`);
  }
  if (body.errors?.length) throw new ApiError(body.errors.map((error) => error.message).join('; '));
  if (!response.ok || !body.data) throw new ApiError(`${response.status} ${response.statusText}`);
  return body.data;
}

export type ConnectionState = 'connecting' | 'live' | 'offline';
const connectionListeners = new Set<(state: ConnectionState) => void>();
let connectionState: ConnectionState = 'connecting';

function setConnectionState(state: ConnectionState) {
  connectionState = state;
  connectionListeners.forEach((listener) => listener(state));
}

export function watchConnection(listener: (state: ConnectionState) => void): () => void {
  connectionListeners.add(listener);
  listener(connectionState);
  return () => connectionListeners.delete(listener);
}

let client: Client | null = null;

function wsClient(): Client {
  client ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${GRAPHQL_PATH}`,
    connectionParams: () => {
      const auth = authorization();
      return auth ? { authorization: auth } : {};
    },
    // An operator's tab stays open for hours: reconnect for ever, with graphql-ws' backoff.
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    keepAlive: 15_000,
    on: {
      connecting: () => setConnectionState('connecting'),
      connected: () => setConnectionState('live'),
      closed: () => setConnectionState('offline'),
    },
  });
  return client;
}

/** A live subscription; returns its stop function. Resubscribes by itself after a reconnect. */
export function subscribe<Result>(
  query: string,
  variables: Record<string, unknown>,
  onData: (data: Result) => void,
  onError: (error: Error) => void = (error) => console.error(error),
): () => void {
  return wsClient().subscribe<Result>(
    { query, variables },
    {
      next: (message) => {
        if (message.errors?.length) onError(new ApiError(message.errors.map((error) => error.message).join('; ')));
        else if (message.data) onData(message.data as Result);
      },
      error: (error) => onError(error instanceof Error ? error : new ApiError(describeCloseEvent(error))),
      complete: () => undefined,
    },
  );
}

function describeCloseEvent(error: unknown): string {
  const event = error as { code?: number; reason?: string } | null;
  if (event && typeof event.code === 'number') return `connection closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`;
  return String(error);
}
