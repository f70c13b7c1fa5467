// runWorker: an app's own worker process, running the app's job types against
// the database of a running jobwire service. The service owns the schema: this
// never migrates, it checks that the schema is the one this package was built for.
import type { Logger } from 'pino';
import { loadConfig } from '../service-config.ts';
import { Listener } from '../db/listener.ts';
import { createPool } from '../db/pool.ts';
import { createLogger } from '../logger.ts';
import type { JobHandler } from '../core/handler.ts';
import { HandlerRegistry } from '../core/registry.ts';
import { startWorker } from '../worker/runner.ts';
import { assertSchemaCurrent } from './schema-check.ts';

export interface RunWorkerOptions {
  /** The database of the jobwire service (postgres://...). */
  databaseUrl: string;
  /** The job types this worker runs (defineJobType); jobwire's built-in job types are not run here. */
  jobTypes: readonly JobHandler<any>[];
  /**
   * Only jobs of these queues (default: settings.WORKER_QUEUES, and unset there any queue of
   * the given job types). Routing (docs/job-type-registry.md#routing): the worker registers
   * its types for these queues and takes no job of another queue.
   */
  queues?: readonly string[];
  /** Jobs run at once by this worker. */
  concurrency: number;
  /** A pino logger; default: JSON lines on stdout at level `info`. */
  logger?: Logger;
  /**
   * Other settings of the service's worker by their environment names (WORKER_POLL_INTERVAL_MS,
   * JOB_PROGRESS_THROTTLE_MS, DATABASE_POOL_SIZE, ...; see the service's configuration), validated the same way.
   */
  settings?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Called when this worker cannot go on (graphile-worker stopped on its own, or it took no
   * work for WORKER_STALL_EXIT_AFTER_MS): exit for a supervisor to restart the process.
   * Default: log it at fatal level and exit with code 1.
   */
  onFatal?: (message: string) => void;
}

export interface RunningWorker {
  /** job.workerId of the jobs this worker runs. */
  readonly workerId: string;
  /** Stops taking jobs; running jobs get their signal aborted (reason 'shutdown') and are queued again. */
  stop(): Promise<void>;
}

export async function runWorker(options: RunWorkerOptions): Promise<RunningWorker> {
  if (!options.jobTypes?.length) throw new TypeError('runWorker: jobTypes must name at least one job type (defineJobType)');
  const queueNames = options.queues === undefined ? undefined : checkQueues(options.queues);
  const settings = Object.fromEntries(Object.entries(options.settings ?? {}).map(([key, value]) => [key, String(value)]));
  // The same validation as the service's environment, with no kind's settings (none of jobwire's kinds run here).
  const config = loadConfig({ ...settings, DATABASE_URL: options.databaseUrl, WORKER_CONCURRENCY: String(options.concurrency) }, []);
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const registry = new HandlerRegistry();
  for (const jobType of options.jobTypes) registry.register(jobType);

  const pool = createPool(options.databaseUrl, config.DATABASE_POOL_SIZE, logger);
  const listener = new Listener(options.databaseUrl, logger);
  try {
    await assertSchemaCurrent(pool, options.databaseUrl);
    await listener.start();
    const worker = await startWorker({
      config,
      connectionString: options.databaseUrl,
      pool,
      listener,
      registry,
      logger,
      serviceTasks: false,
      // Unset: WORKER_QUEUES of settings, and unset there every queue (startWorker's default).
      ...(queueNames ? { queueNames } : {}),
      onFatal:
        options.onFatal ??
        ((message) => {
          logger.fatal(message);
          process.exit(1);
        }),
    });
    return {
      workerId: worker.workerId,
      async stop() {
        await worker.stop();
        await listener.stop();
        await pool.end();
      },
    };
  } catch (error) {
    await listener.stop().catch(() => undefined);
    await pool.end().catch(() => undefined);
    throw error;
  }
}

function checkQueues(queues: readonly string[]): string[] {
  if (!Array.isArray(queues) || queues.length === 0) {
    throw new TypeError('runWorker: queues must name at least one queue (leave it out to serve every queue)');
  }
  for (const queue of queues) {
    if (typeof queue !== 'string' || queue.trim() === '') throw new TypeError(`runWorker: queues: ${JSON.stringify(queue)} is not a queue name`);
  }
  return [...new Set(queues)];
}
