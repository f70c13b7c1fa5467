import type pg from 'pg';
import type { Config } from '../config.ts';
import type { PrismaClient } from '../db/prisma.ts';
import type { Caller } from '../jobs/create.ts';
import type { LiveEvents } from '../jobs/live.ts';
import type { Health } from '../health.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { HandlerRegistry } from '../worker/registry.ts';

/** What resolvers share for the life of the API process. */
export interface ApiServices {
  config: Config;
  pool: pg.Pool;
  prisma: PrismaClient;
  registry: HandlerRegistry;
  live: LiveEvents;
  logger: Logger;
  /** GraphQL operation timings are recorded on its registry (yoga's Prometheus plugin). */
  metrics?: Metrics;
  /** Readiness for /health/ready; absent in tests that build the API alone. */
  health?: Health;
}

export interface GraphQLContext extends ApiServices {
  /** Who is asking; `created_by` comes from here, never from input. */
  caller: Caller;
}

/**
 * Until authentication lands every request is the local development principal;
 * authorization rules live in scope-auth (builder.ts), so tokens change no resolver.
 */
export function resolveCaller(_request?: Request | unknown): Caller {
  return { principalId: 'local-dev' };
}
