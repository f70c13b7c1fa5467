// A worker process: graphile-worker running `run_job` and the retention cron,
// heartbeats so that a live worker can release the jobs of a dead one (instead
// of graphile-worker's 4-hour lock timeout) and queue again the jobs a dead one
// left without a queue entry (orphans.ts), and cancel delivery over LISTEN.
import { EventEmitter } from 'node:events';
import os from 'node:os';
import type pg from 'pg';
import { run, type Runner, type Task, type WorkerEvents } from 'graphile-worker';
import type { Config } from '../config.ts';
import { retryConnectionErrorsInGraphileWorker } from '../db/connection-errors.ts';
import { workerLogger } from '../db/migrate.ts';
import type { Listener } from '../db/listener.ts';
import type { Logger } from '../logger.ts';
import { Metrics } from '../metrics/metrics.ts';
import { CANCEL_CHANNEL } from '../job-state/cancel.ts';
import { createdJobId, JOB_TASK_CHANNEL, RUN_JOB_TASK } from '../job-state/queue-entry.ts';
import { registerJobTypes, registrationOf, touchWorkerJobTypes, type JobTypeRegistration } from '../registry/registry.ts';
import { nudgeWorkers, WorkerRouting } from '../registry/routing.ts';
import { createPurgeTask, PURGE_TASK } from '../jobs/retention.ts';
import { JobAbort } from '../core/job-abort.ts';
import { releaseDeadWorkers } from './dead-workers.ts';
import { OrphanSweep } from './orphans.ts';
import type { HandlerRegistry } from '../core/registry.ts';
import { WorkerLiveness } from './liveness.ts';
import { StallWatchdog } from './stall-watchdog.ts';
import { CANCELLED_REASON, SESSION_LOST_REASON, SHUTDOWN_REASON } from './abort-reasons.ts';
import { createRunJobTask } from './run-job.ts';
import { Scheduler } from '../jobs/schedules.ts';
import { WakeClock } from './wake-clock.ts';
import { ReadAhead } from './read-ahead.ts';
import { AgingSweep } from '../flow/aging.ts';

export interface WorkerDeps {
  config: Config;
  /** For the worker's own session (liveness.ts), outside the pool. */
  connectionString: string;
  pool: pg.Pool;
  listener: Listener;
  registry: HandlerRegistry;
  /** The job types this worker serves (each must be in the registry); default: every one in it. */
  jobTypes?: readonly string[];
  /** The queues it takes jobs from; default: WORKER_QUEUES, and unset there every queue. */
  queueNames?: readonly string[] | null;
  /** graphile-worker's pool stopped on its own: this process runs no more jobs (app.ts: the CLI exits). */
  onFatal?: (message: string) => void;
  logger: Logger;
  /** Job counters and run times; one is made if absent. */
  metrics?: Metrics;
  /** graphile-worker's events, for an observer (bench:throughput counts finished tasks); one is made if absent. */
  events?: WorkerEvents;
  /**
   * Also make the jobs of due schedules and purge old jobs (the service's workers); default true.
   * An app's worker (src/sdk/run-worker.ts) does neither: it may lack the job types schedules name.
   */
  serviceTasks?: boolean;
  /** Whether the database answers now (the stall watchdog checks nothing during an outage); always, if absent. */
  databaseAvailable?: () => boolean;
}

export interface WorkerHandle {
  /** graphile-worker's pool id: job.worker_id of the jobs this process runs. */
  readonly workerId: string;
  /** When this worker last recorded itself alive (Date.now()); readiness wants it recent. */
  readonly lastHeartbeatAt: number;
  /** Whether it holds its session lock (liveness.ts) now. */
  readonly holdsSessionLock: boolean;
  /** Set while jobs are due and untaken though this worker has had free slots for long (stall-watchdog.ts). */
  readonly stall: { since: number; detail: string } | null;
  stop(): Promise<void>;
}

export async function startWorker(deps: WorkerDeps): Promise<WorkerHandle> {
  const { config, pool, listener, registry } = deps;
  const serviceTasks = deps.serviceTasks ?? true;
  const logger = deps.logger.child({ component: 'worker' });
  const running = new Map<string, JobAbort>();

  const jobTypes = deps.jobTypes ?? registry.jobTypes;
  for (const jobType of jobTypes) if (!registry.get(jobType)) throw new Error(`worker: job type "${jobType}" has no handler in the registry`);
  const queueNames = deps.queueNames !== undefined ? deps.queueNames : (config.WORKER_QUEUES ?? null);
  // Registered at the first heartbeat (the worker row first): name, schemas, defaults (src/registry/).
  const registrations = jobTypes.map((jobType) => registrationOf(registry.get(jobType)!));
  let routing: WorkerRouting | undefined;

  // A lone job into an idle worker is read while get_job (or the local queue's fetch) locks it (read-ahead.ts).
  let listenerGeneration = 0;
  const onReconnected = () => listenerGeneration++;
  listener.on('reconnected', onReconnected);
  const readAhead = new ReadAhead({
    pool,
    tasks: () => (routing ? Object.keys(routing.taskList) : []),
    listenerGeneration: () => (listener.connected ? listenerGeneration : null),
  });

  const onNotification = (channel: string, payload: string) => {
    if (channel === JOB_TASK_CHANNEL) {
      // A create used a queue new to the database: a worker serving every queue takes it from now on.
      if (routing?.add(payload)) nudgeWorkers(pool).catch((error) => logger.warn({ err: error }, 'could not nudge workers'));
      return;
    }
    if (channel !== CANCEL_CHANNEL) return;
    readAhead.cancelHeard();
    const jobId = payload;
    const abort = running.get(jobId);
    if (abort && !abort.aborted) {
      logger.info({ jobId }, 'cancel requested; aborting the job');
      abort.abort(CANCELLED_REASON);
    }
  };
  listener.on('notification', onNotification);
  await listener.listen(CANCEL_CHANNEL);
  await listener.listen(JOB_TASK_CHANNEL);

  // Durable waits that end by time resume on time, not at the next poll (wake-clock.ts).
  const wakeClock = new WakeClock({ pool, logger });
  const runJob = createRunJobTask({
    wakeClock,
    pool,
    registry,
    logger,
    config,
    running,
    metrics: deps.metrics ?? new Metrics(),
    serves: (jobType, queueName) => routing!.serves(jobType, queueName),
    readAhead,
  });
  const events: WorkerEvents = deps.events ?? new EventEmitter();
  let workerId: string | undefined;
  events.on('pool:create', ({ workerPool }) => {
    workerId = workerPool.id;
  });
  events.on('localQueue:getJobs:complete', ({ jobs }) => runJob.prefetch(jobs));
  events.on('localQueue:returnJobs', ({ jobs }) => runJob.forget(jobs));
  // Emitted before graphile-worker nudges an idle slot or its local queue (so the read ahead precedes
  // that get_job). `running` holds the jobs of the local queue too: empty, the worker holds nothing.
  events.on('pool:listen:notification', ({ message }) => {
    if (message.channel === 'jobs:insert' && running.size === 0) readAhead.jobCreated(createdJobId(message.payload));
  });
  if (config.WORKER_LOCAL_QUEUE_SIZE === 0) {
    events.on('worker:getJob:start', ({ worker }) => readAhead.getJobStarted(worker));
    events.on('worker:getJob:empty', ({ worker }) => readAhead.nothingTaken(worker));
  }

  // Every task takes a slot: the watchdog knows when one has been free for long (stall-watchdog.ts).
  let onStalled = (message: string) => logger.fatal(message);
  const watchdog = new StallWatchdog({
    pool,
    tasks: () => (routing ? [RUN_JOB_TASK, ...routing.jobTasks] : [RUN_JOB_TASK]),
    logger,
    concurrency: config.WORKER_CONCURRENCY,
    stallAfterMs: config.WORKER_STALL_AFTER_MS,
    exitAfterMs: config.WORKER_STALL_EXIT_AFTER_MS,
    checkIntervalMs: Math.max(100, Math.min(5000, Math.round(config.WORKER_STALL_AFTER_MS / 6))),
    databaseAvailable: deps.databaseAvailable ?? (() => true),
    onStalled: (message) => onStalled(message),
  });
  const inSlot =
    (task: Task): Task =>
    async (payload, helpers) => {
      watchdog.taskStarted();
      try {
        return await task(payload, helpers);
      } finally {
        watchdog.taskEnded();
      }
    };

  // Routing (src/registry/routing.ts): the task list names the types and queues this worker serves.
  routing = new WorkerRouting(
    { jobTypes, queueNames, task: inSlot(runJob.task) },
    {
      [RUN_JOB_TASK]: inSlot(runJob.task),
      // An app's worker (src/sdk) runs no retention purge: the service's workers do.
      ...(serviceTasks ? { [PURGE_TASK]: inSlot(createPurgeTask({ pool, logger, retentionDays: config.JOB_RETENTION_DAYS, rules: config.JOB_RETENTION, pauseMs: config.JOB_RETENTION_PAUSE_MS })) } : {}),
    },
  );
  const workerRouting = routing;

  // A Postgres restart must not kill the process through graphile-worker's own writes.
  retryConnectionErrorsInGraphileWorker();
  const runner: Runner = await run({
    pgPool: pool,
    ...graphileWorkerSettings(config),
    noHandleSignals: true,
    logger: workerLogger(logger),
    events,
    taskList: workerRouting.taskList,
    // Daily at 03:00; one run per day across all workers (graphile-worker's cron is distributed).
    crontab: serviceTasks ? `0 3 * * * ${PURGE_TASK} ?max=1` : '',
  });
  if (!workerId) throw new Error('graphile-worker started without a worker pool');
  const id = workerId;

  // Flow control: recurring schedules make their jobs from every worker process (jobs/schedules.ts).
  const scheduler = serviceTasks ? new Scheduler({ pool, registry, config, logger }) : undefined;
  scheduler?.start();
  // Aging (flow/aging.ts): one sweep per step across all workers.
  const aging = new AgingSweep(pool, config.JOB_AGING_STEP_MS, logger);
  aging.start();

  const heartbeat = new Heartbeat(pool, id, config, logger, { registrations, queueNames, routing: workerRouting });
  // The session lock first, then the heartbeat row: a worker seen in the table always had its lock.
  const liveness = new WorkerLiveness({
    connectionString: deps.connectionString,
    workerId: id,
    logger,
    intervalMs: config.WORKER_LIVENESS_INTERVAL_MS,
    takeOverAfterMs: config.WORKER_TAKE_OVER_AFTER_MS,
    onSessionLost: () => {
      for (const abort of running.values()) abort.abort(SESSION_LOST_REASON);
    },
    onWorkersReleased: (deadWorkers, entries) => {
      logger.warn({ deadWorkers, entries }, 'released the jobs of dead workers (their session lock was free)');
      heartbeat.expectOrphans();
    },
  });
  await liveness.start();
  await heartbeat.beat();
  heartbeat.start();
  let stopping = false;
  // graphile-worker stops its pool by itself only on an error it could not ride out; say so loudly.
  // With batched completions (WORKER_COMPLETE_BATCH_DELAY_MS >= 0) graphile-worker
  // 0.17 does not retry a lost connection: its pool shuts down, and the process
  // exits for its supervisor to restart it rather than stay up without running jobs.
  const fatal = (message: string, error?: unknown) => {
    if (stopping) return;
    if (deps.onFatal) {
      if (error) logger.error({ err: error }, 'graphile-worker failed');
      deps.onFatal(message);
    } else logger.fatal({ err: error }, message);
  };
  onStalled = (message) => fatal(message);
  watchdog.start();
  wakeClock.start();
  runner.promise.then(
    () => fatal('graphile-worker stopped on its own; this process runs no more jobs'),
    (error) => fatal('graphile-worker failed; this process runs no more jobs', error),
  );
  logger.info({ workerId: id, concurrency: config.WORKER_CONCURRENCY }, 'worker started');

  return {
    workerId: id,
    get lastHeartbeatAt() {
      return heartbeat.lastBeatAt;
    },
    get holdsSessionLock() {
      return liveness.holdsLock;
    },
    get stall() {
      return watchdog.stall;
    },
    async stop() {
      stopping = true;
      watchdog.stop();
      wakeClock.stop();
      // Running handlers get their signal; their jobs are re-queued (see run-job.ts).
      await scheduler?.stop();
      await aging.stop();
      for (const abort of running.values()) abort.abort(SHUTDOWN_REASON);
      await runner.stop();
      await runJob.drain();
      await heartbeat.stop();
      // Released after the heartbeat row is gone, so no one takes this worker for dead while it stops.
      await liveness.stop();
      listener.off('notification', onNotification);
      listener.off('reconnected', onReconnected);
      logger.info({ workerId: id }, 'worker stopped');
    },
  };
}

/** The graphile-worker settings we expose (also used by the benchmark's raw runs). */
export function graphileWorkerSettings(
  config: Pick<Config, 'WORKER_CONCURRENCY' | 'WORKER_POLL_INTERVAL_MS' | 'WORKER_LOCAL_QUEUE_SIZE' | 'WORKER_COMPLETE_BATCH_DELAY_MS'>,
) {
  return {
    concurrency: config.WORKER_CONCURRENCY,
    pollInterval: config.WORKER_POLL_INTERVAL_MS,
    preset: {
      worker: {
        ...(config.WORKER_LOCAL_QUEUE_SIZE > 0 ? { localQueue: { size: config.WORKER_LOCAL_QUEUE_SIZE } } : {}),
        completeJobBatchDelay: config.WORKER_COMPLETE_BATCH_DELAY_MS,
      },
    },
  };
}

class Heartbeat {
  #timer: NodeJS.Timeout | null = null;
  readonly #orphans: OrphanSweep;

  constructor(
    private readonly pool: pg.Pool,
    private readonly workerId: string,
    private readonly config: Pick<Config, 'WORKER_HEARTBEAT_INTERVAL_MS' | 'WORKER_DEAD_AFTER_MS'>,
    private readonly logger: Logger,
    private readonly serving: { registrations: readonly JobTypeRegistration[]; queueNames: readonly string[] | null; routing: WorkerRouting },
  ) {
    this.#orphans = new OrphanSweep(pool, logger, config.WORKER_DEAD_AFTER_MS);
  }

  /** Whether the job types are registered for the worker row as it is now (a row re-created after being found dead is not). */
  #registered = false;

  /** When this worker last recorded itself alive (Date.now()). */
  lastBeatAt = 0;

  start() {
    this.#timer = setInterval(() => {
      // A failed beat (the database away) is simply tried again at the next interval.
      this.beat().catch((error) => this.logger.warn({ err: error }, 'heartbeat failed'));
    }, this.config.WORKER_HEARTBEAT_INTERVAL_MS);
    this.#timer.unref();
  }

  /** A worker was found dead by its session lock: its orphans, if any, are looked for. */
  expectOrphans() {
    this.#orphans.expect();
  }

  /** Records this worker alive, then releases the jobs of workers that are not. */
  async beat() {
    const { rows } = await this.pool.query<{ inserted: boolean }>(
      `insert into worker (id, hostname, pid) values ($1, $2, $3)
       on conflict (id) do update set last_heartbeat_at = now()
       returning (xmax = 0) as inserted`,
      [this.workerId, os.hostname(), process.pid],
    );
    this.lastBeatAt = Date.now();
    // The registry (src/registry/): the types this worker serves, registered with its row, seen at each beat.
    if (rows[0]?.inserted) this.#registered = false;
    if (!this.#registered) {
      await registerJobTypes(this.pool, this.workerId, this.serving.registrations, this.serving.queueNames);
      this.#registered = true;
    } else {
      await touchWorkerJobTypes(this.pool, this.workerId);
    }
    if (await this.serving.routing.refresh(this.pool)) await nudgeWorkers(this.pool);
    const released = await releaseDeadWorkers(this.pool, this.config.WORKER_DEAD_AFTER_MS);
    if (released.length > 0) {
      this.logger.warn({ deadWorkers: released }, 'released the jobs of dead workers');
      this.#orphans.expect();
    }
    await this.#orphans.tick();
  }

  async stop() {
    if (this.#timer) clearInterval(this.#timer);
    await this.pool.query('delete from worker where id = $1', [this.workerId]).catch(() => undefined);
  }
}
