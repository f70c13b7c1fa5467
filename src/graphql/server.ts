// HTTP + websocket server: graphql-yoga (GraphiQL at /graphql) and graphql-ws
// (graphql-transport-ws protocol) on the same path.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFetch } from '@whatwg-node/fetch';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { GraphQLError, subscribe } from 'graphql';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { JobwireError } from '../jobs/errors.ts';
import { STATEMENT_MAX_BYTES } from '../portfolios/kind.ts';
import { EXAMPLE_TABS, GRAPHIQL_TITLE, graphiqlAssets } from './graphiql.ts';
import { resolveCaller, type ApiServices, type GraphQLContext } from './context.ts';
import { createMaskError, parseFailure, yogaLogger } from './error-masking.ts';
import { inputGuard } from './input-guard.ts';
import { schema } from './schema.ts';

export const GRAPHQL_PATH = '/graphql';

/**
 * /health/live: the process runs. /health/ready: it can serve (health.ts),
 * 503 with the failing checks otherwise. Answered before GraphQL, without a query.
 */
function healthEndpoints(services: ApiServices): Plugin {
  return {
    onRequest({ url, endResponse, fetchAPI }) {
      if (url.pathname === '/health/live') {
        endResponse(fetchAPI.Response.json({ live: true }));
      } else if (url.pathname === '/health/ready') {
        const report = services.health?.readiness() ?? { ready: true, checks: {} };
        endResponse(fetchAPI.Response.json(report, { status: report.ready ? 200 : 503 }));
      }
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

export function createYogaApp(services: ApiServices): YogaServerInstance<Record<string, unknown>, GraphQLContext> {
  const graphiql = graphiqlAssets(GRAPHQL_PATH);
  const graphqlLogger = services.logger.child({ component: 'graphql' });
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    graphiql: { subscriptionsProtocol: 'WS', title: GRAPHIQL_TITLE, defaultTabs: EXAMPLE_TABS },
    // Bundled GraphiQL (yoga's default loads it from a CDN, unreachable
    // offline), its assets served as cached files (graphiql.ts).
    renderGraphiQL: graphiql.render,
    logging: yogaLogger(graphqlLogger),
    // Multipart uploads are cut off while they stream in: a file over the
    // largest limit any mutation accepts is answered 413 before it is buffered
    // whole. Each mutation still checks its own, smaller limit.
    fetchAPI: createFetch({
      formDataLimits: { fileSize: Math.max(services.config.IMPORT_UPLOAD_MAX_BYTES, STATEMENT_MAX_BYTES), files: 1 },
    }),
    context: ({ request }) => ({ ...services, caller: resolveCaller(request) }),
    plugins: [
      healthEndpoints(services),
      subscribeWithGraphQLJs,
      inputGuard(services.config.INPUT_MAX_DEPTH, graphqlLogger),
      graphiql.plugin,
      ...(services.metrics ? [operationTimings(services.metrics)] : []),
    ],
    // Client mistakes reach the client with their message and a code; a lost
    // database answers DATABASE_UNAVAILABLE (503); anything else is
    // "Unexpected error." with a correlation id (error-masking.ts).
    maskedErrors: { maskError: createMaskError(graphqlLogger) },
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

export async function startApiServer(services: ApiServices, host: string, port: number): Promise<ApiServer> {
  const yoga = createYogaApp(services);
  const server = createServer(logRequests(services.logger.child({ component: 'http' }), yoga));
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
  const wsServer = new WebSocketServer({ server, path: GRAPHQL_PATH });
  const wsHandle = useServer(
    {
      execute: (args: any) => args.rootValue.execute(args),
      subscribe: (args: any) => args.rootValue.subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
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
