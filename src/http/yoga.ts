// The GraphQL app (graphql-yoga): GraphiQL, CORS, CSRF prevention, limits,
// error masking, metrics, the health probes, and the principal of each request.
import { createFetch } from '@whatwg-node/fetch';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { createGraphQLError, createYoga, isAsyncIterable, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { graphqlMetrics } from '../metrics/graphql-metrics.ts';
import { largestUpload } from '../kind-descriptor.ts';
import { bearerToken, TokenError } from '../auth/authenticate.ts';
import type { Principal } from '../auth/principal.ts';
import { EXAMPLE_TABS, GRAPHIQL_TITLE, graphiqlAssets } from '../graphql/graphiql.ts';
import { createContext, releaseRequestCaches, type ApiServices, type GraphQLContext } from '../graphql/context.ts';
import { CSRF_HEADER } from '../graphql/csrf.ts';
import { createMaskError, yogaLogger } from '../graphql/error-masking.ts';
import { inputGuard } from '../graphql/input-guard.ts';
import { sharedSubscribe } from '../graphql/shared-execution.ts';
import { compiledQueries } from '../graphql/compiled-queries.ts';
import { createLimitPlugins, nameLimitSetting } from '../graphql/limits.ts';
import { corsOptions } from './cors.ts';
import { healthEndpoints } from './health-routes.ts';
import { noFraming } from './no-framing.ts';

export const GRAPHQL_PATH = '/graphql';

function isGraphQLError(value: unknown): value is GraphQLError {
  return value instanceof Error && value.name === 'GraphQLError';
}

/**
 * Subscriptions run on graphql-js's `subscribe` instead of yoga's default
 * executor (@graphql-tools/executor, which adds @defer/@stream support that no
 * subscription here uses). Each event of a subscription is one execution, and
 * the default wraps each in an async generator and flattens those: with 1,000
 * subscribers that was the largest share of the bytes allocated per event
 * (~15%), and the API's memory grows with what the fan-out allocates. Results,
 * errors and plugin hooks (masking, logging) are unchanged; queries run
 * compiled (graphql/compiled-queries.ts) and mutations keep the default
 * executor. Websocket subscriptions that asked the
 * same thing share each event's execution (graphql/shared-execution.ts).
 */
const subscribeWithGraphQLJs: Plugin = {
  onSubscribe: ({ setSubscribeFn }) => setSubscribeFn(sharedSubscribe),
};

/**
 * After a query or mutation has executed (all of it, when it streams), its
 * Pothos caches go (context.ts); a subscription's, once its event stream is
 * made: each event's execution makes its own, and thousands of subscriptions
 * would otherwise keep one each (1 KB) for their lifetime.
 */
const releaseCachesAfterExecution: Plugin = {
  onExecute: () => ({
    onExecuteDone: ({ args, result }) => {
      if (!isAsyncIterable(result)) return releaseRequestCaches(args.contextValue as object);
      return { onEnd: () => releaseRequestCaches(args.contextValue as object) };
    },
  }),
  onSubscribe: () => ({
    onSubscribeResult: ({ args }) => releaseRequestCaches(args.contextValue as object),
  }),
};

function unauthenticated(message: string) {
  return createGraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'www-authenticate': 'Bearer' } } },
  });
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
    // No second body bound here: the HTTP guard (graphql/http-guard.ts), in
    // front of every request yoga serves, refuses a POST without a
    // Content-Length (411) or over its kind's limit (413), and Node's parser
    // reads no more than the declared length. yoga's bound would wrap every
    // body in a TransformStream piped through Node's stream pipeline, which
    // (like Pothos' caches, graphql/context.ts) kept each request's objects
    // alive past two young-generation collections: promoted to the old
    // generation as garbage, which V8 let grow to 4 times the live heap
    // before a full collection. Without it ~40 % less was promoted under
    // createJob load (docs/performance.md#memory).
    maxRequestBodySize: false,
    // Websockets authenticate once, at connection_init, and pass their context in whole (http/websocket.ts).
    context: async (initial: { request?: Request; caller?: Principal }) => {
      if (initial.caller) return initial as GraphQLContext;
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
      // Queries run compiled (compiled-queries.ts); mutations and subscriptions as before.
      compiledQueries(),
      releaseCachesAfterExecution,
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
