import { contextCacheSymbol, initContextCache } from '@pothos/core';
import type pg from 'pg';
import type { Authenticator } from '../auth/authenticate.ts';
import type { Principal } from '../auth/principal.ts';
import { TenantScopedPrisma } from '../auth/tenant-scope.ts';
import { viewerScopedPrisma } from '../auth/viewer-scope.ts';
import type { Config } from '../config.ts';
import type { PrismaClient } from '../db/prisma.ts';
import type { Caller } from '../auth/principal.ts';
import type { LiveEvents } from '../jobs/live.ts';
import type { Listener } from '../db/listener.ts';
import type { Health } from '../health.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { HandlerRegistry } from '../core/registry.ts';
import type { ProviderConnections } from '../connections/connections.ts';
import type { GraphQLSchema } from 'graphql';
import type { KindDescriptor, KindServices } from '../kind-descriptor.ts';

/** What resolvers share for the life of the API process; the kinds' services (e.g. budgetProvider) among it. */
export interface ApiServices extends KindServices {
  config: Config;
  pool: pg.Pool;
  /** Unscoped: sees every tenant. Resolvers get a scoped one in GraphQLContext. */
  prisma: PrismaClient;
  registry: HandlerRegistry;
  /** Each tenant's saved provider credentials (src/connections). */
  providerConnections: ProviderConnections;
  /** The kinds served (src/kinds.ts): their upload limits bound multipart requests. */
  kinds: readonly KindDescriptor<any>[];
  /** The schema with those kinds' types (http/schema.ts builds it; the built-in kinds': service-schema.ts). */
  schema: GraphQLSchema;
  live: LiveEvents;
  /** The process's LISTEN connection (graphql/flow/schema.ts: queue pause and resume, live). */
  listener: Listener;
  logger: Logger;
  authenticator: Authenticator;
  /** GraphQL operation timings are recorded on its registry (yoga's Prometheus plugin). */
  metrics?: Metrics;
  /** Readiness for /health/ready; absent in tests that build the API alone. */
  health?: Health;
}

export interface GraphQLContext extends ApiServices {
  /** Who is asking; `created_by` and the tenant of new rows come from here, never from input. */
  caller: Caller;
  /** Scoped to the caller's tenant (src/auth/tenant-scope.ts); unscoped for admin. */
  prisma: PrismaClient;
  /** The HTTP request (yoga adds it to the context; a websocket operation has none): its trace headers (graphql/request-trace.ts). */
  readonly request?: Request;
}

const scopedClients = new WeakMap<PrismaClient, TenantScopedPrisma>();

/** A request's context: authorization rules live in scope-auth (builder.ts), tenant rules in tenant-scope.ts. */
export function createContext(services: ApiServices, caller: Principal): GraphQLContext {
  let scoped = scopedClients.get(services.prisma);
  if (!scoped) scopedClients.set(services.prisma, (scoped = new TenantScopedPrisma(services.prisma)));
  const prisma = scoped.for(caller);
  // A viewer token reads its jobs only (auth/viewer-scope.ts).
  // Pothos keys its per-request caches on the object initContextCache adds (see releaseRequestCaches).
  return { ...services, ...initContextCache(), caller, prisma: caller.viewer ? viewerScopedPrisma(prisma, caller.viewer) : prisma };
}

/**
 * Lets go of Pothos' per-request caches once an operation has executed.
 * They live in WeakMaps keyed by the context's cache key, and each cache
 * points back at the context (and through it at the request and the
 * answer). V8's young-generation collector (Node 20) keeps a WeakMap's
 * values alive without asking whether their key still is, so that cycle kept
 * every request's objects through two collections: promoted to the old
 * generation as garbage (with yoga's body bound, http/yoga.ts, ~25 KB a
 * createJob), which V8 lets grow to 4 times the live heap before a full
 * collection (docs/performance.md#memory). A
 * fresh key leaves the old one reachable from nothing but the WeakMaps.
 */
export function releaseRequestCaches(context: object): void {
  (context as Record<symbol, unknown>)[contextCacheSymbol] = {};
}
