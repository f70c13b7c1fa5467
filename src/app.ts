// Wires a process together: database (embedded unless DATABASE_URL), schema
// migration, the API and/or a worker, and an orderly stop.
import { createAuthenticator } from './auth/authenticate.ts';
import { checkListenPolicy, checkMetricsListenPolicy } from './auth/listen-policy.ts';
import type { Config } from './config.ts';
import type { ServiceConfig } from './service-config.ts';
import { DatabaseAvailability } from './db/availability.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.ts';
import { Listener } from './db/listener.ts';
import { migrateDatabase } from './db/migrate.ts';
import { releaseMigrationPools } from './db/migrate-pools.ts';
import { createPool } from './db/pool.ts';
import { createPrisma, type PrismaClient } from './db/prisma.ts';
import { waitForDatabase } from './db/wait-for-database.ts';
import { startApiServer, type ApiServer } from './http/server.ts';
import { buildSchema } from './http/schema.ts';
import { createKindServices, createRegistry } from './handlers.ts';
import { ProviderConnections } from './connections/connections.ts';
import type { KindDescriptor, KindServices } from './kind-descriptor.ts';
import { defaultKinds } from './kinds.ts';
import { Health } from './health.ts';
import { LiveEvents } from './jobs/live.ts';
import type { Logger } from './logger.ts';
import { JobCounts } from './metrics/job-counts.ts';
import { Metrics } from './metrics/metrics.ts';
import { startMetricsServer, type MetricsServer } from './http/metrics-server.ts';
import { hostPolicy } from './net/host-check.ts';
import type { HandlerRegistry } from './core/registry.ts';
import { startWorker, type WorkerHandle } from './worker/runner.ts';
import { startLeaseSweeper } from './remote-workers/lease-sweeper.ts';
import { createOutboundFetch, outboundOptions } from './net/outbound.ts';
import { WebhookService } from './webhooks/service.ts';

export interface Roles {
  api: boolean;
  worker: boolean;
}

export interface App {
  databaseUrl: string;
  api?: ApiServer;
  /** The API's event fan-out (its subscriber count shows what is live). */
  live?: LiveEvents;
  worker?: WorkerHandle;
  metrics: Metrics;
  /** The Prometheus endpoint, when METRICS_PORT is set. */
  metricsServer?: MetricsServer;
  /** Readiness of the process (also served at /health/ready by the API). */
  health: Health;
  stop(): Promise<void>;
}

export async function resolveDatabase(config: Config, logger: Logger): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  if (config.DATABASE_URL) {
    await waitForDatabase(config.DATABASE_URL, config.DATABASE_UNAVAILABLE_EXIT_AFTER_MS, logger);
    return { url: config.DATABASE_URL };
  }
  const embedded = await startEmbeddedPostgres({
    dataDir: config.DATA_DIR,
    port: config.EMBEDDED_POSTGRES_PORT,
    database: 'jobwire',
    logger,
  });
  logger.info({ dataDir: config.DATA_DIR, port: config.EMBEDDED_POSTGRES_PORT }, 'embedded Postgres started');
  return { url: embedded.connectionString, embedded };
}

export interface AppOptions {
  /** Job types to run; defaults to every built-in one (handlers.ts). */
  registry?: HandlerRegistry;
  /** Wraps the API's Prisma client, e.g. to record its queries (tests, bench:api); default: none. */
  wrapPrisma?: (prisma: PrismaClient) => PrismaClient;
  /**
   * Called when the process cannot go on, with the reason: the database has been
   * unreachable for DATABASE_UNAVAILABLE_EXIT_AFTER_MS, or graphile-worker's pool
   * stopped on its own. The CLI exits (for a supervisor to restart it); the
   * default logs the reason at fatal level only.
   */
  onFatal?: (message: string) => void;
  /** The job kinds served (src/kinds.ts); default: every built-in one. */
  kinds?: readonly KindDescriptor<any>[];
  /** Replaces some of the kinds' services (e.g. budgetProviders); default: each kind's configured ones over the tenants' connections. */
  services?: Partial<KindServices>;
}

export async function startApp(config: ServiceConfig, logger: Logger, roles: Roles, options: AppOptions = {}): Promise<App> {
  // Before anything starts: an API that would be open to others without authentication does not.
  if (roles.api) await checkListenPolicy(config, logger);
  await checkMetricsListenPolicy(config, logger);
  const database = await resolveDatabase(config, logger);
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.reverse()) {
      await fn().catch((error) => logger.error({ err: error }, 'error while stopping'));
    }
  };
  if (database.embedded) stops.push(database.embedded.stop);
  const onFatal = options.onFatal ?? ((message: string) => logger.fatal(message));
  try {
    await migrateDatabase(database.url, logger);
    releaseMigrationPools();
    // The API's pool bounds each statement and the wait for a connection
    // (DATABASE_STATEMENT_TIMEOUT_MS, DATABASE_POOL_ACQUIRE_TIMEOUT_MS): one
    // request cannot hold a connection for long, nor wait for one without end.
    // A worker's pool does not: its handlers' transactions and graphile-worker's
    // own work may take long, and a worker waits its turn. `start` has both.
    const apiPool = roles.api
      ? createPool(database.url, config.DATABASE_POOL_SIZE, logger, {
          statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
          acquireTimeoutMs: config.DATABASE_POOL_ACQUIRE_TIMEOUT_MS,
        })
      : undefined;
    const workerPool = roles.worker || !apiPool ? createPool(database.url, config.DATABASE_POOL_SIZE, logger) : undefined;
    for (const each of [apiPool, workerPool]) if (each) stops.push(() => each.end());
    /** Where jobs run (handlers, the worker); and what serves requests (the API, readiness, tokens, metrics). */
    const jobsPool = workerPool ?? apiPool!;
    const pool = apiPool ?? workerPool!;
    const availability = new DatabaseAvailability({
      connectionString: database.url,
      logger,
      exitAfterMs: config.DATABASE_UNAVAILABLE_EXIT_AFTER_MS,
      onGiveUp: onFatal,
    });
    await availability.start();
    stops.push(() => availability.stop());
    const listener = new Listener(database.url, logger);
    await listener.start();
    stops.push(() => listener.stop());
    const health = new Health({
      pool,
      availability,
      listener,
      logger,
      heartbeatFreshMs: Math.min(config.WORKER_DEAD_AFTER_MS, 2 * config.WORKER_HEARTBEAT_INTERVAL_MS + 1000),
    });
    await health.checkMigrations();
    const providerConnections = new ProviderConnections(pool, config);
    const kinds = options.kinds ?? defaultKinds;
    const services = createKindServices(kinds, config, { providerConnections }, options.services);
    const registry = options.registry ?? createRegistry({ pool: jobsPool, config, kinds, providerConnections, services });
    const metrics = new Metrics({ labelValuesMax: config.METRICS_LABEL_VALUES_MAX });
    listener.on('reconnected', () => metrics.listenReconnects.inc());
    // Tokens of API requests and of metrics scrapes (admin only).
    const authenticator = createAuthenticator(config, pool);

    let api: ApiServer | undefined;
    let live: LiveEvents | undefined;
    let worker: WorkerHandle | undefined;
    if (roles.worker) {
      worker = await startWorker({
        config,
        connectionString: database.url,
        pool: jobsPool,
        listener,
        registry,
        logger,
        onFatal,
        metrics,
        databaseAvailable: () => availability.available,
      });
      stops.push(() => worker!.stop());
      health.setWorker(worker);
      // Webhooks: job events to deliveries, deliveries sent, operator alerts (src/webhooks/service.ts).
      const webhooks = new WebhookService({ pool: jobsPool, listener, keyring: providerConnections.keyring, outbound: createOutboundFetch(outboundOptions(config)), config, logger });
      await webhooks.start();
      stops.push(() => webhooks.stop());
    }
    if (roles.api) {
      // Prisma serves the API's reads only (no handler reads through it): one
      // client, made by the API alone, since a client holds its schema's graph
      // (~12 MB of heap) and, once it has queried, its own query compiler.
      const prisma = createPrisma(pool);
      stops.push(() => prisma.$disconnect());
      const apiPrisma = options.wrapPrisma?.(prisma) ?? prisma;
      live = new LiveEvents(pool, listener, logger, (jobIds) => prisma.job.findMany({ where: { id: { in: jobIds } } }), metrics);
      await live.start();
      stops.push(async () => live!.stop());
      api = await startApiServer(
        { ...services, config, pool, prisma: apiPrisma, registry, providerConnections, kinds, schema: buildSchema(kinds), live, listener, logger, health, authenticator, metrics },
        config.HOST,
        config.PORT,
      );
      stops.push(() => api!.close());
      // Remote workers' leases end even where no in-process worker runs.
      stops.push(startLeaseSweeper(pool, config.WORKER_DEAD_AFTER_MS, logger));
      const [liveEvents, apiServer] = [live, api];
      metrics.observeSubscribers(() => ({ ...liveEvents.subscriptionCounts, websockets: apiServer.websocketCount }));
    }
    let metricsServer: MetricsServer | undefined;
    if (config.METRICS_PORT !== undefined) {
      metrics.observeJobCounts(new JobCounts(pool, config.METRICS_JOB_COUNTS_MAX_AGE_MS, logger));
      metricsServer = await startMetricsServer(metrics, authenticator, config.METRICS_HOST, config.METRICS_PORT, logger, health, hostPolicy(config));
      stops.push(() => metricsServer!.close());
    }
    return { databaseUrl: database.url, api, live, worker, metrics, metricsServer, health, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
