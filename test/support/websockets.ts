// One graphql-ws socket opened at once (not lazily), and how it ended up:
// acknowledged, or closed before that with a code and a reason.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { deferred } from './wait.ts';

export type SocketOutcome = 'acknowledged' | { code: number; reason: string };

/** `graphqlUrl` is the API's http URL; `token`, if given, goes in connection_init. */
export function connectSocket(graphqlUrl: string, token?: string) {
  const outcome = deferred<SocketOutcome>('connection_ack or a close');
  const client = createClient({
    url: graphqlUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : undefined,
    on: {
      connected: () => outcome.resolve('acknowledged'),
      closed: (event) => outcome.resolve({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason }),
    },
    onNonLazyError: () => undefined,
  });
  return { client, outcome: outcome.promise };
}
