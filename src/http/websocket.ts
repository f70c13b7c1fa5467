// graphql-ws on the API's path: the token is checked at connection_init, before
// connection_ack; sockets per principal and subscriptions per socket are capped;
// revoked keys and expired tokens close their sockets (auth/open-sockets.ts).
import type { Server } from 'node:http';
import { Duplex } from 'node:stream';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { GraphQLError } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Logger } from '../logger.ts';
import { connectionToken, TokenError } from '../auth/authenticate.ts';
import { hostRefusal, type HostPolicy } from '../net/host-check.ts';
import { OpenSockets } from '../auth/open-sockets.ts';
import type { Principal } from '../auth/principal.ts';
import { createContext, type ApiServices, type GraphQLContext } from '../graphql/context.ts';
import { parseFailure } from '../graphql/error-masking.ts';
import { principalShareKey, shareExecutions, type DirectWriter, type MessageHead } from '../graphql/shared-execution.ts';
import { originAllowed } from '../graphql/http-guard.ts';
import { socketsPerPrincipalCap } from '../graphql/limits.ts';
import { GRAPHQL_PATH } from './yoga.ts';

/**
 * Raises an authenticated socket's message bound from WS_INIT_MAX_BYTES to
 * `maxBytes`. ws takes one maxPayload per server; its receiver keeps it in
 * `_maxPayload` (ws 8), set here. If that ever moves, the socket keeps the
 * smaller bound (safe) and the log says so (test/graphql/websocket-bounds.test.ts fails).
 */
function allowMessages(socket: WebSocket, maxBytes: number, logger: Logger) {
  const receiver = (socket as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = maxBytes;
  else logger.error('cannot raise the websocket message bound after authentication (ws internals changed): messages stay within WS_INIT_MAX_BYTES');
}

/**
 * The stream ws writes a websocket's frames to, if whole frames may be written
 * to it here: no extension was negotiated (with permessage-deflate, ws would
 * compress its messages). A server's frames are never masked, so one message's
 * bytes may go to many sockets. ws 8 keeps the stream in `_socket`; if that
 * ever moves, messages go through ws's `send` (the same bytes, with more work
 * for each: an options object or two, the string encoded twice, two writes).
 */
function frameStream(socket: WebSocket): Duplex | undefined {
  if (socket.extensions !== '') return undefined;
  const stream = (socket as unknown as { _socket?: unknown })._socket;
  return stream instanceof Duplex ? stream : undefined;
}

/**
 * Up to this many bytes, a message is copied into one buffer after its frame's
 * header and written at once; a longer one is written in two parts, its shared
 * tail as it is.
 */
const ONE_BUFFER_MAX = 16 * 1024;

/**
 * Writes one text message (`head`, then `tail`) as a single unmasked,
 * uncompressed frame (RFC 6455 5.2), as ws's `send` would frame it; `written`
 * is called once it is written, or with an error if the stream is gone.
 */
function writeTextFrame(stream: Duplex, head: MessageHead, tail: Buffer, written: (error?: Error | null) => void): void {
  const length = head.byteLength + tail.length;
  const headerLength = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const whole = length <= ONE_BUFFER_MAX;
  const frame = Buffer.allocUnsafe(headerLength + (whole ? length : head.byteLength));
  frame[0] = 0x81; // FIN, text
  if (headerLength === 2) frame[1] = length;
  else if (headerLength === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(head.text, headerLength);
  if (whole) {
    tail.copy(frame, headerLength + head.byteLength);
    stream.write(frame, written);
    return;
  }
  stream.cork();
  stream.write(frame);
  stream.write(tail, written);
  stream.uncork();
}

/**
 * Writes one subscription's messages straight to its socket (graphql/
 * shared-execution.ts), as graphql-ws's own `send` would (nothing once the
 * socket is no longer open), each as one frame written at once to the socket's
 * stream, behind what ws has written before it. A message the kernel did not
 * take at once (`bufferedAmount`: the client reads slowly) is waited for before the next.
 */
export function directWriter(socket: WebSocket): DirectWriter {
  const stream = frameStream(socket);
  let unwritten = 0;
  let onWritten: (() => void) | null = null;
  // Called once a message is written, or with an error when the socket is gone.
  const written = () => {
    if (--unwritten > 0 || !onWritten) return;
    const resolve = onWritten;
    onWritten = null;
    resolve();
  };
  return {
    write(head, tail) {
      if (socket.readyState !== socket.OPEN) return undefined;
      unwritten++;
      if (stream) writeTextFrame(stream, head, tail, written);
      else socket.send(Buffer.concat([Buffer.from(head.text), tail]), { binary: false }, written);
      // ws's bufferedAmount: what its stream holds, and nothing of its own without an extension.
      if (unwritten === 0 || (stream ? stream.writableLength : socket.bufferedAmount) === 0) return undefined;
      return new Promise<void>((resolve) => (onWritten = resolve));
    },
  };
}

/** Close codes of the websocket (graphql-ws keeps 4400-4499 for such reasons). */
export const WS_CLOSE = { unauthorized: 4401, forbidden: 4403, tooManySockets: 4429 } as const;

export interface Websockets {
  /** graphql-ws connections open now. */
  readonly count: number;
  close(): Promise<void>;
}

/** graphql-ws on the listening HTTP server (after listen: see startApiServer). */
export async function startWebsocketServer(
  server: Server,
  services: ApiServices,
  yoga: YogaServerInstance<Record<string, unknown>, GraphQLContext>,
  hostPolicy: HostPolicy,
): Promise<Websockets> {
  const { config } = services;
  const wsServer = new WebSocketServer({
    server,
    path: GRAPHQL_PATH,
    // Before authentication a message (the connection_init) may be this big: a
    // bigger frame is refused at its header, before its payload is buffered
    // (1009). After connection_ack the bound is REQUEST_JSON_MAX_BYTES (allowMessages).
    maxPayload: config.WS_INIT_MAX_BYTES,
    verifyClient: ({ req }, done) => {
      const hostRefused = hostRefusal(req.headers.host, hostPolicy);
      if (hostRefused) return done(false, 403, hostRefused);
      return originAllowed(req, config.CORS_ALLOWED_ORIGINS) ? done(true) : done(false, 403, 'origin not allowed (CORS_ALLOWED_ORIGINS)');
    },
  });
  const wsLogger = services.logger.child({ component: 'websocket' });
  const socketsByPrincipal = new Map<string, number>();
  const socketCap = socketsPerPrincipalCap(config);
  // Revocation and expiry close open sockets (4401), within WS_AUTH_RECHECK_INTERVAL_MS.
  const openSockets = new OpenSockets(services.pool, services.listener, services.authenticator, config.WS_AUTH_RECHECK_INTERVAL_MS, wsLogger);
  await openSockets.start();
  type Extra = { principal?: Principal; shareKey?: string };
  const wsHandle = useServer<Record<string, unknown> | undefined, Extra>(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      // The token is checked before connection_ack; a refusal closes with a code and a reason.
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        let principal: Principal;
        try {
          const token = connectionToken(ctx.connectionParams);
          if (config.AUTH_ENABLED && token === undefined) {
            throw new TokenError('connection_init needs { "authorization": "Bearer <token>" }');
          }
          principal = await services.authenticator.authenticate(token);
        } catch (error) {
          if (!(error instanceof TokenError)) throw error;
          socket.close(WS_CLOSE.unauthorized, `Unauthorized: ${error.message}`);
          return false;
        }
        const open = socketsByPrincipal.get(principal.principalId) ?? 0;
        if (socketCap !== null && open >= socketCap) {
          socket.close(WS_CLOSE.tooManySockets, `Too many sockets: at most ${socketCap} per principal (WS_MAX_SOCKETS_PER_PRINCIPAL)`);
          return false;
        }
        socketsByPrincipal.set(principal.principalId, open + 1);
        ctx.extra.principal = principal;
        ctx.extra.shareKey = principalShareKey(principal);
        allowMessages(socket, config.REQUEST_JSON_MAX_BYTES, wsLogger);
        openSockets.add(socket, principal);
        socket.once('close', () => openSockets.delete(socket));
        return true;
      },
      onClose: (ctx) => {
        const principal = ctx.extra.principal;
        if (!principal) return;
        ctx.extra.principal = undefined;
        const open = (socketsByPrincipal.get(principal.principalId) ?? 1) - 1;
        if (open > 0) socketsByPrincipal.set(principal.principalId, open);
        else socketsByPrincipal.delete(principal.principalId);
      },
      onSubscribe: async (ctx, id, params) => {
        // ctx.subscriptions already holds this one.
        if (Object.keys(ctx.subscriptions).length > config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET) {
          return [
            new GraphQLError(
              `Too many subscriptions: at most ${config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET} per socket (WS_MAX_SUBSCRIPTIONS_PER_SOCKET)`,
              { extensions: { code: 'RATE_LIMITED', setting: 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET' } },
            ),
          ];
        }
        // The whole context in one object literal, and without graphql-ws's own fields (no
        // resolver reads them): added by yoga's context factory (Object.assign), the services
        // turned each subscription's context into a V8 dictionary, and spreading graphql-ws's
        // context gave each one a hidden class of its own: 2.6 KB a subscription in all
        // (docs/performance.md#memory).
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          ...createContext(services, ctx.extra.principal!),
        });
        let document;
        try {
          document = parse(params.query);
        } catch (error) {
          return [parseFailure(error, services.logger.child({ component: 'graphql' }))];
        }
        const args = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length) return errors;
        shareExecutions(args.contextValue, ctx.extra.shareKey!, params, { id, writer: directWriter(ctx.extra.socket) });
        return args;
      },
    },
    wsServer,
  );
  // After graphql-ws's own listener (which prints every socket error to the
  // console): a refused message (1009) is the client's, not an internal error.
  wsServer.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (error: Error & { code?: string }) => wsLogger.debug({ err: error, code: error.code }, 'websocket closed on a protocol error'));
  });
  return {
    get count() {
      return wsServer.clients.size;
    },
    async close() {
      openSockets.stop();
      await wsHandle.dispose();
      wsServer.close();
    },
  };
}
