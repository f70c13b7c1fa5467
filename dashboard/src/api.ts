// The one way the dashboard talks to jobwire: GraphQL at /graphql over HTTP
// (queries, mutations) and graphql-ws (subscriptions), authenticated exactly
// like any other client: `Authorization: Bearer <API key>` and the CSRF header
// over HTTP, `{ authorization: "Bearer <API key>" }` in connection_init. With
// authentication off (loopback only) no key is needed; with it on, the page
// asks for one (components/auth-gate.tsx) and keeps it in sessionStorage: for this tab
// only, gone when it closes.
import { createClient, type Client } from 'graphql-ws';
import { CSRF_HEADER } from '../../src/graphql/csrf.ts';

/** sessionStorage key of the API key (or JWT). */
export const TOKEN_KEY = 'jobwire.token';
const GRAPHQL_PATH = '/graphql';
/** graphql-ws close code of a refused or expired token (src/http/websocket.ts WS_CLOSE.unauthorized). */
const WS_UNAUTHORIZED = 4401;

export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** Saves the token (empty: none) and reloads, so every request and the websocket use it. */
export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
}

const authorization = () => (getToken() ? `Bearer ${getToken()}` : null);

/**
 * Why the API refuses this page as a whole: no key while authentication is on
 * (`needs-key`), a key it does not accept (`refused`, HTTP 401 or websocket
 * 4401), or a request it refuses outright (`forbidden`, HTTP 403: origin or CSRF).
 */
export type AuthProblem = { kind: 'needs-key' | 'refused' | 'forbidden'; message: string };
const authListeners = new Set<(problem: AuthProblem | null) => void>();
let authProblem: AuthProblem | null = null;

function reportAuthProblem(problem: AuthProblem) {
  // The first problem stays: later requests fail for the same reason.
  if (authProblem) return;
  authProblem = problem;
  authListeners.forEach((listener) => listener(problem));
}

export function watchAuthProblem(listener: (problem: AuthProblem | null) => void): () => void {
  authListeners.add(listener);
  listener(authProblem);
  return () => authListeners.delete(listener);
}

/** A refusal for want of a token (scope-auth's NotAuthorizedError "... needs a token ..."). */
const needsToken = (error: { message: string; extensions?: { code?: unknown } }) =>
  error.extensions?.code === 'NotAuthorizedError' && /needs a token/.test(error.message);

export class ApiError extends Error {
  override name = 'ApiError';
}

type GraphQLErrorBody = { message: string; extensions?: { code?: unknown } };

/**
 * Runs a query or mutation; GraphQL and HTTP errors become an ApiError with the
 * server's message. A missing or refused key is also reported to the auth gate.
 */
export async function request<Result>(query: string, variables: Record<string, unknown> = {}): Promise<Result> {
  const auth = authorization();
  const response = await fetch(GRAPHQL_PATH, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      // Not needed for a JSON post, sent anyway: the API's rule for browsers (docs/security.md, Browsers).
      [CSRF_HEADER]: '1',
      ...(auth ? { authorization: auth } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: Result; errors?: GraphQLErrorBody[] };
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`${response.status} ${response.statusText}`);
  }
  const message = body.errors?.map((error) => error.message).join('; ') || `${response.status} ${response.statusText}`;
  if (response.status === 401) {
    reportAuthProblem({ kind: auth ? 'refused' : 'needs-key', message });
    throw new ApiError(`The API key was refused: ${message}`);
  }
  if (response.status === 403) {
    reportAuthProblem({ kind: 'forbidden', message });
    throw new ApiError(`Refused by the API (403): ${message}`);
  }
  if (body.errors?.some(needsToken)) {
    reportAuthProblem({ kind: 'needs-key', message });
    throw new ApiError('An API key is needed (authentication is on).');
  }
  if (body.errors?.some((error) => error.extensions?.code === 'NotAuthorizedError')) {
    throw new ApiError(`Not allowed with this API key: ${message}`);
  }
  if (body.errors?.length) throw new ApiError(message);
  if (!response.ok || !body.data) throw new ApiError(`${response.status} ${response.statusText}`);
  return body.data;
}

export type ConnectionState = 'connecting' | 'live' | 'offline' | 'unauthorized';
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
    // An operator's tab stays open for hours: reconnect for ever, with graphql-ws'
    // backoff (except after 4401, which graphql-ws treats as final: a new key reloads the page).
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    keepAlive: 15_000,
    on: {
      connecting: () => setConnectionState('connecting'),
      connected: () => setConnectionState('live'),
      closed: (event) => {
        // 4401: no key, or one refused or expired; graphql-ws does not retry it.
        const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
        if (code === WS_UNAUTHORIZED) {
          const message = (reason ?? '').replace(/^Unauthorized: /, '') || 'unauthorized';
          reportAuthProblem({ kind: authorization() ? 'refused' : 'needs-key', message });
          setConnectionState('unauthorized');
        } else setConnectionState('offline');
      },
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
