// HTTP + websocket server: graphql-yoga (GraphiQL at /graphql) and graphql-ws
// (graphql-transport-ws protocol) on the same path.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFetch } from '@whatwg-node/fetch';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createGraphQLError, createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { GraphQLError, subscribe } from 'graphql';
import type { Logger } from '../logger.ts';
import { graphqlMetrics } from '../metrics/graphql-metrics.ts';
import { createDashboardHandler } from './dashboard.ts';
import { largestUpload } from '../kind-descriptor.ts';
import { healthAnswer } from '../health.ts';
import { bearerToken, connectionToken, TokenError } from '../auth/authenticate.ts';
import { hostPolicy, hostRefusal } from '../net/host-check.ts';
import { OpenSockets } from '../auth/open-sockets.ts';
import { hasScope, type Principal } from '../auth/principal.ts';
import { isConnectionError } from '../db/retry.ts';
import { EXAMPLE_TABS, GRAPHIQL_TITLE, graphiqlAssets } from '../graphql/graphiql.ts';
import { createContext, type ApiServices, type GraphQLContext } from '../graphql/context.ts';
import { CSRF_HEADER } from '../graphql/csrf.ts';
import { createMaskError, DATABASE_UNAVAILABLE, parseFailure, yogaLogger } from '../graphql/error-masking.ts';
import { guardRequest, originAllowed, refuse } from '../graphql/http-guard.ts';
import { inputGuard } from '../graphql/input-guard.ts';
import { createLimitPlugins, nameLimitSetting, socketsPerPrincipalCap } from '../graphql/limits.ts';

export const GRAPHQL_PATH = '/graphql';

function isGraphQLError(value: unknown): value is GraphQLError {
  return value instanceof Error && value.name === 'GraphQLError';
}

/**
 * /health/live: the process runs. /health/ready: it can serve (health.ts),
 * 503 with the failing checks otherwise. Answered before GraphQL, without a query.
 */
function healthEndpoints(services: ApiServices): Plugin {
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      const answer = healthAnswer(url.pathname, services.health);
      if (answer) endResponse(fetchAPI.Response.json(answer.body, { status: answer.status }));
    },
  };
}

/**
 * Subscriptions run on graphql-js's `subscribe` instead of yoga's default
 * executor (@graphql-tools/executor, which adds @defer/@stream support that no
 * subscription here uses). Each event of a subscription is one execution, and
 * the default wraps each in an async generator and flattens those: with 1,000
 * subscribers that was the largest share of the bytes allocated per event
 * (~15%), and the API's memory grows with what the fan-out allocates. Results,
 * errors and plugin hooks (masking, logging) are unchanged; queries and
 * mutations keep the default executor.
 */
const subscribeWithGraphQLJs: Plugin = {
  onSubscribe: ({ setSubscribeFn }) => setSubscribeFn(subscribe),
};

export { CSRF_HEADER };

/**
 * No page of the API may be framed by another site (clickjacking GraphiQL into
 * running a mutation): every answer says so, in both the current and the old
 * header. The dashboard sets its own, stricter policy (http/dashboard.ts).
 */
const noFraming: Plugin = {
  onResponse({ response }) {
    if (!response.headers.has('content-security-policy')) response.headers.set('content-security-policy', "frame-ancestors 'none'");
    response.headers.set('x-frame-options', 'DENY');
  },
};

function unauthenticated(message: string) {
  return createGraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
}

/** Browser origins allowed to call the API besides its own (never a reflected origin). */
function corsOptions(allowedOrigins: readonly string[]) {
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!origin || !allowedOrigins.includes(origin)) return false as const;
    return { origin: [origin], credentials: true, methods: ['GET', 'POST'], allowedHeaders: ['authorization', 'content-type', CSRF_HEADER] };
  };
}

/** The largest multipart body: the largest file any mutation accepts plus its form fields (operations, map), which are small. */
function multipartMaxBytes(services: Pick<ApiServices, 'config' | 'kinds'>): number {
  return largestUpload(services.kinds, services.config) + services.config.REQUEST_JSON_MAX_BYTES;
}

export function graphiqlEnabled(config: ApiServices['config']): boolean {
  return config.GRAPHIQL_ENABLED ?? process.env.NODE_ENV !== 'production';
}

export function createYogaApp(services: ApiServices): YogaServerInstance<Record<string, unknown>, GraphQLContext> {
  const { config } = services;
  const graphiql = graphiqlEnabled(config) ? graphiqlAssets(GRAPHQL_PATH) : undefined;
  const graphqlLogger = services.logger.child({ component: 'graphql' });
  const maskError = createMaskError(graphqlLogger, { statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS, acquireTimeoutMs: config.DATABASE_POOL_ACQUIRE_TIMEOUT_MS });
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema: services.schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // GraphiQL sends the CSRF header with every request it makes (it posts
    // JSON, which CSRF prevention lets through anyway; a GET would need it).
    graphiql: graphiql
      ? { subscriptionsProtocol: 'WS', title: GRAPHIQL_TITLE, defaultTabs: EXAMPLE_TABS, additionalHeaders: { [CSRF_HEADER]: '1' } }
      : false,
    cors: corsOptions(config.CORS_ALLOWED_ORIGINS),
    // Bundled GraphiQL (yoga's default loads it from a CDN, unreachable
    // offline), its assets served as cached files (graphiql.ts).
    ...(graphiql ? { renderGraphiQL: graphiql.render } : {}),
    logging: yogaLogger(graphqlLogger),
    // Multipart uploads are cut off while they stream in: a file over the
    // largest limit any mutation accepts is answered 413 before it is buffered
    // whole. Each mutation still checks its own, smaller limit.
    fetchAPI: createFetch({
      formDataLimits: { fileSize: largestUpload(services.kinds, services.config), files: 1 },
    }),
    // yoga's own body bound (25 MB by default) would refuse uploads that
    // a kind allows (IMPORT_UPLOAD_MAX_BYTES); the HTTP guard has checked the declared
    // length of each kind of body already, this is the backstop at the largest.
    maxRequestBodySize: multipartMaxBytes(services),
    // Websockets authenticate once, at connection_init, and pass their principal in.
    context: async (initial: { request?: Request; principal?: Principal }) => {
      if (initial.principal) return createContext(services, initial.principal);
      try {
        return createContext(services, await services.authenticator.authenticate(bearerToken(initial.request?.headers.get('authorization'))));
      } catch (error) {
        if (error instanceof TokenError) throw unauthenticated(error.message);
        throw error;
      }
    },
    plugins: [
      // First: probes answer before CSRF prevention (a plain GET) and without a token.
      healthEndpoints(services),
      noFraming,
      subscribeWithGraphQLJs,
      useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
      ...createLimitPlugins(config),
      // After the limits: it wraps graphql-armor's token-limited parse (input-guard.ts).
      inputGuard(config.INPUT_MAX_DEPTH, graphqlLogger),
      // GraphiQL's assets: plain GETs of static files, answered before any GraphQL.
      ...(graphiql ? [graphiql.plugin] : []),
      ...(services.metrics ? [graphqlMetrics(services.metrics)] : []),
    ],
    // Client mistakes reach the client with their message and a code; a lost
    // database answers DATABASE_UNAVAILABLE (503); anything else is
    // "Unexpected error." with a correlation id (error-masking.ts).
    maskedErrors: {
      maskError: (error, message) => {
        // Errors in the request itself (syntax, validation, limits) lose the
        // parser's own error (it quotes the body), and limit errors name their setting.
        if (isGraphQLError(error) && !error.originalError) {
          delete (error.extensions as Record<string, unknown>).originalError;
          nameLimitSetting(error);
        }
        return maskError(error, message);
      },
    },
  });
}

function isUpload(request: IncomingMessage): boolean {
  return request.method === 'POST' && /^multipart\/form-data/i.test(request.headers['content-type'] ?? '');
}

/**
 * The principal of a multipart request, checked from its headers alone: without
 * a token, with a refused one, or without jobs:write (every upload is a mutation)
 * it is answered before its body is read, and the body is never parsed or kept
 * (http-guard.ts: dropped as it arrives, or the connection closed). The
 * principal goes on to yoga's context.
 */
async function authenticateUpload(request: IncomingMessage, response: ServerResponse, services: ApiServices): Promise<Principal | null> {
  const answer = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
    refuse(request, response, status, message, code, headers);
    return null;
  };
  let principal: Principal;
  try {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) {
      // The code every field answers without a token (graphql/builder.ts).
      return answer(401, 'NotAuthorizedError', 'an upload needs a token (Authorization: Bearer <API key or JWT>); it is refused before its body is read', {
        'www-authenticate': 'Bearer',
      });
    }
    principal = await services.authenticator.authenticate(token);
  } catch (error) {
    if (error instanceof TokenError) return answer(401, 'UNAUTHENTICATED', error.message, { 'www-authenticate': 'Bearer' });
    if (isConnectionError(error)) return answer(503, DATABASE_UNAVAILABLE, 'the database is unavailable to check the token; retry in a few seconds', { 'retry-after': '2' });
    services.logger.error({ err: error }, 'authenticating an upload failed');
    return answer(500, 'INTERNAL_SERVER_ERROR', 'authentication failed; see the log');
  }
  if (!hasScope(principal, 'jobs:write')) return answer(403, 'NotAuthorizedError', 'an upload needs the scope jobs:write');
  return principal;
}

/** One debug line per HTTP request, once its response is sent (nothing is measured unless debug is on). */
function logRequests(logger: Logger, handler: RequestListener): RequestListener {
  if (!logger.isLevelEnabled('debug')) return handler;
  return (request, response) => {
    const started = performance.now();
    response.once('close', () => {
      logger.debug(
        // The path only: a GET's query string carries its variables, which may hold a secret.
        { method: request.method, url: request.url?.split('?')[0], status: response.statusCode, durationMs: Math.round((performance.now() - started) * 10) / 10 },
        'http request',
      );
    });
    return handler(request, response);
  };
}

export interface ApiServer {
  url: string;
  server: Server;
  /** graphql-ws connections open now. */
  readonly websocketCount: number;
  close(): Promise<void>;
}

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

/** Close codes of the websocket (graphql-ws keeps 4400-4499 for such reasons). */
export const WS_CLOSE = { unauthorized: 4401, forbidden: 4403, tooManySockets: 4429 } as const;

export async function startApiServer(services: ApiServices, host: string, port: number): Promise<ApiServer> {
  const { config } = services;
  const yoga = createYogaApp(services);
  const guard = {
    hostPolicy: hostPolicy(config),
    allowedOrigins: config.CORS_ALLOWED_ORIGINS,
    jsonMaxBytes: config.REQUEST_JSON_MAX_BYTES,
    multipartMaxBytes: multipartMaxBytes(services),
  };
  const dashboard = createDashboardHandler();
  const server = createServer(
    logRequests(services.logger.child({ component: 'http' }), (request, response) => {
      // The dashboard's static files pass the same origin guard as the API (dashboard.ts).
      if (!guardRequest(request, response, guard)) return;
      if (dashboard(request, response)) return;
      // An upload is authenticated before yoga reads (and buffers) its body.
      if (config.AUTH_ENABLED && isUpload(request)) {
        void authenticateUpload(request, response, services).then((principal) => principal && yoga(request, response, { principal }));
        return;
      }
      void yoga(request, response);
    }),
  );
  // Listening first: a port in use fails the start (main.ts says so in one
  // line). Attached before, the websocket server would take the error as its
  // own, print it and leave the process running without its API.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const wsServer = new WebSocketServer({
    server,
    path: GRAPHQL_PATH,
    // Before authentication a message (the connection_init) may be this big: a
    // bigger frame is refused at its header, before its payload is buffered
    // (1009). After connection_ack the bound is REQUEST_JSON_MAX_BYTES (allowMessages).
    maxPayload: config.WS_INIT_MAX_BYTES,
    verifyClient: ({ req }, done) => {
      const hostRefused = hostRefusal(req.headers.host, guard.hostPolicy);
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
  type Extra = { principal?: Principal };
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
      onSubscribe: async (ctx, _id, params) => {
        // ctx.subscriptions already holds this one.
        if (Object.keys(ctx.subscriptions).length > config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET) {
          return [
            new GraphQLError(
              `Too many subscriptions: at most ${config.WS_MAX_SUBSCRIPTIONS_PER_SOCKET} per socket (WS_MAX_SUBSCRIPTIONS_PER_SOCKET)`,
              { extensions: { code: 'RATE_LIMITED', setting: 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET' } },
            ),
          ];
        }
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          principal: ctx.extra.principal,
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
  const address = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${address.port}${GRAPHQL_PATH}`,
    server,
    get websocketCount() {
      return wsServer.clients.size;
    },
    async close() {
      openSockets.stop();
      await wsHandle.dispose();
      wsServer.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
