// HTTP + websocket server: graphql-yoga (GraphiQL at /graphql) and graphql-ws
// (graphql-transport-ws protocol) on the same path.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFetch } from '@whatwg-node/fetch';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createGraphQLError, createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { GraphQLError, subscribe } from 'graphql';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { createDashboardHandler } from '../http/dashboard.ts';
import { largestUpload } from '../kind-descriptor.ts';
import { healthAnswer } from '../health.ts';
import { bearerToken, connectionToken, TokenError } from '../auth/authenticate.ts';
import type { Principal } from '../auth/principal.ts';
import { EXAMPLE_TABS, GRAPHIQL_TITLE, graphiqlAssets } from './graphiql.ts';
import { createContext, type ApiServices, type GraphQLContext } from './context.ts';
import { CSRF_HEADER } from './csrf.ts';
import { createMaskError, parseFailure, yogaLogger } from './error-masking.ts';
import { guardRequest, originAllowed } from './http-guard.ts';
import { inputGuard } from './input-guard.ts';
import { createLimitPlugins, nameLimitSetting, socketsPerPrincipalCap } from './limits.ts';
import { schema } from './schema.ts';

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

export function graphiqlEnabled(config: ApiServices['config']): boolean {
  return config.GRAPHIQL_ENABLED ?? process.env.NODE_ENV !== 'production';
}

export function createYogaApp(services: ApiServices): YogaServerInstance<Record<string, unknown>, GraphQLContext> {
  const { config } = services;
  const graphiql = graphiqlEnabled(config) ? graphiqlAssets(GRAPHQL_PATH) : undefined;
  const graphqlLogger = services.logger.child({ component: 'graphql' });
  const maskError = createMaskError(graphqlLogger);
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema: services.schema ?? schema,
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
      subscribeWithGraphQLJs,
      useCSRFPrevention({ requestHeaders: [CSRF_HEADER] }),
      ...createLimitPlugins(config),
      // After the limits: it wraps graphql-armor's token-limited parse (input-guard.ts).
      inputGuard(config.INPUT_MAX_DEPTH, graphqlLogger),
      // GraphiQL's assets: plain GETs of static files, answered before any GraphQL.
      ...(graphiql ? [graphiql.plugin] : []),
      ...(services.metrics ? [operationTimings(services.metrics)] : []),
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

/**
 * GraphQL operation timings by operation name and type, on our registry and
 * served by the metrics endpoint (metrics/server.ts), not on the API's port.
 */
function operationTimings(metrics: Metrics): Plugin {
  return usePrometheus({
    registry: metrics.registry,
    endpoint: false,
    metrics: {
      graphql_envelop_request_duration: true,
      graphql_envelop_phase_parse: true,
      graphql_envelop_phase_validate: true,
      graphql_envelop_phase_execute: true,
      graphql_envelop_phase_subscribe: true,
      graphql_envelop_error_result: true,
      graphql_yoga_http_duration: true,
    },
  });
}

/** One debug line per HTTP request, once its response is sent (nothing is measured unless debug is on). */
function logRequests(logger: Logger, handler: RequestListener): RequestListener {
  if (!logger.isLevelEnabled('debug')) return handler;
  return (request, response) => {
    const started = performance.now();
    response.once('close', () => {
      logger.debug(
        { method: request.method, url: request.url, status: response.statusCode, durationMs: Math.round((performance.now() - started) * 10) / 10 },
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

/** Close codes of the websocket (graphql-ws keeps 4400-4499 for such reasons). */
export const WS_CLOSE = { unauthorized: 4401, forbidden: 4403, tooManySockets: 4429 } as const;

export async function startApiServer(services: ApiServices, host: string, port: number): Promise<ApiServer> {
  const { config } = services;
  const yoga = createYogaApp(services);
  const guard = {
    allowedOrigins: config.CORS_ALLOWED_ORIGINS,
    jsonMaxBytes: config.REQUEST_JSON_MAX_BYTES,
    // The file plus its form fields (operations, map), which are small.
    multipartMaxBytes: largestUpload(services.kinds, config) + config.REQUEST_JSON_MAX_BYTES,
  };
  const dashboard = createDashboardHandler();
  const server = createServer(
    logRequests(services.logger.child({ component: 'http' }), (request, response) => {
      // The dashboard's static files pass the same origin guard as the API (dashboard.ts).
      if (!guardRequest(request, response, guard)) return;
      if (!dashboard(request, response)) void yoga(request, response);
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
    verifyClient: ({ req }, done) =>
      originAllowed(req, config.CORS_ALLOWED_ORIGINS) ? done(true) : done(false, 403, 'origin not allowed (CORS_ALLOWED_ORIGINS)'),
  });
  const socketsByPrincipal = new Map<string, number>();
  const socketCap = socketsPerPrincipalCap(config);
  type Extra = { principal?: Principal; expiry?: NodeJS.Timeout };
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
        if (principal.expiresAt) {
          const left = Math.min(principal.expiresAt.getTime() - Date.now(), 2 ** 31 - 1);
          ctx.extra.expiry = setTimeout(() => socket.close(WS_CLOSE.unauthorized, 'Unauthorized: token expired'), Math.max(left, 0));
        }
        return true;
      },
      onClose: (ctx) => {
        clearTimeout(ctx.extra.expiry);
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
  const address = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${address.port}${GRAPHQL_PATH}`,
    server,
    get websocketCount() {
      return wsServer.clients.size;
    },
    async close() {
      await wsHandle.dispose();
      wsServer.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
