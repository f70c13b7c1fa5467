// The process's Prometheus metrics (prom-client), one registry per App so
// that several apps in one process (tests) do not collide. GraphQL operation
// timings come from yoga's Prometheus plugin on the same registry (graphql-metrics.ts).
//
// A label whose values a caller chooses (a queue name, a GraphQL operation
// name) would let anyone make series without end: each such label keeps the
// first METRICS_LABEL_VALUES_MAX values a process sees, and reports the others
// as `other` (LabelValues).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DEFAULT_LABEL_VALUES_MAX } from '../config.ts';
import { JobStatus } from '../job-state/statuses.ts';
import type { JobCounts } from './job-counts.ts';

type JobLabels = 'queue' | 'job_type';

/** The value of a bounded label past its first METRICS_LABEL_VALUES_MAX values. */
export const OTHER_LABEL_VALUE = 'other';


/** One label's values: the first `max` distinct ones as they are, any later one as `other`. */
export class LabelValues {
  readonly #kept = new Set<string>();
  constructor(readonly max: number) {}

  of(value: string): string {
    if (this.#kept.has(value)) return value;
    if (this.#kept.size >= this.max) return OTHER_LABEL_VALUE;
    this.#kept.add(value);
    return value;
  }
}

export class Metrics {
  readonly registry = new Registry();
  /** Queue names, chosen by whoever creates a job. */
  readonly queues: LabelValues;
  /** Bound of every caller-chosen label (METRICS_LABEL_VALUES_MAX); graphql-metrics.ts uses it too. */
  readonly labelValuesMax: number;

  constructor(options: { labelValuesMax?: number } = {}) {
    this.labelValuesMax = options.labelValuesMax ?? DEFAULT_LABEL_VALUES_MAX;
    this.queues = new LabelValues(this.labelValuesMax);
  }

  readonly jobsStarted = new Counter<JobLabels>({
    name: 'jobwire_jobs_started_total',
    help: 'Jobs whose handler this worker process started',
    labelNames: ['queue', 'job_type'],
    registers: [this.registry],
  });
  readonly jobsCompleted = new Counter<JobLabels>({
    name: 'jobwire_jobs_completed_total',
    help: 'Jobs this worker process ran to COMPLETED',
    labelNames: ['queue', 'job_type'],
    registers: [this.registry],
  });
  readonly jobsFailed = new Counter<JobLabels | 'status'>({
    name: 'jobwire_jobs_failed_total',
    help: 'Jobs this worker process ended FAILED (not retriable) or DEAD_LETTER (retries exhausted)',
    labelNames: ['queue', 'job_type', 'status'],
    registers: [this.registry],
  });
  readonly jobsRetried = new Counter<JobLabels>({
    name: 'jobwire_jobs_retried_total',
    help: 'Failed attempts this worker process queued again for an automatic retry (RETRYING)',
    labelNames: ['queue', 'job_type'],
    registers: [this.registry],
  });
  readonly jobsCancelled = new Counter<JobLabels>({
    name: 'jobwire_jobs_cancelled_total',
    help: 'Jobs this worker process ended CANCELLED (asked while running or before it started); jobs cancelled while queued show in jobwire_job_events_total',
    labelNames: ['queue', 'job_type'],
    registers: [this.registry],
  });
  readonly jobRunSeconds = new Histogram<'job_type' | 'status'>({
    name: 'jobwire_job_run_seconds',
    help: "Run time of one attempt of a job's handler, by job type and the status it led to",
    labelNames: ['job_type', 'status'],
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600],
    registers: [this.registry],
  });
  readonly jobEvents = new Counter<'status'>({
    name: 'jobwire_job_events_total',
    help: 'Job events (status changes of jobs and steps, from every process) this API process read from the event log and published to its subscribers',
    labelNames: ['status'],
    registers: [this.registry],
  });
  readonly listenReconnects = new Counter({
    name: 'jobwire_listen_reconnects_total',
    help: 'Times the LISTEN connection was lost and established again',
    registers: [this.registry],
  });

  readonly #jobEventCounters = new Map<string, { inc(): void }>();

  countJobEvent(status: string) {
    let counter = this.#jobEventCounters.get(status);
    if (!counter) this.#jobEventCounters.set(status, (counter = this.jobEvents.labels({ status })));
    counter.inc();
  }

  /** Counters of one queue and job type, looked up once (labels are hashed per call otherwise). */
  readonly #jobCounters = new Map<string, JobCounters>();

  /** Job types are registered handlers (a bounded set); queues are bounded here, and so is this cache. */
  forJob(queueName: string, jobType: string): JobCounters {
    const queue = this.queues.of(queueName);
    const key = `${queue}\u0000${jobType}`;
    let counters = this.#jobCounters.get(key);
    if (!counters) {
      const labels = { queue, job_type: jobType };
      counters = {
        started: this.jobsStarted.labels(labels),
        completed: this.jobsCompleted.labels(labels),
        retried: this.jobsRetried.labels(labels),
        cancelled: this.jobsCancelled.labels(labels),
        failed: (status) => this.jobsFailed.labels({ ...labels, status }),
        runSeconds: (status) => this.jobRunSeconds.labels({ job_type: jobType, status }),
      };
      this.#jobCounters.set(key, counters);
    }
    return counters;
  }

  /** Jobs by queue and status, and heartbeat ages, from a count refreshed in the background. */
  observeJobCounts(counts: JobCounts) {
    const queues = this.queues;
    const jobs = new Gauge<'queue' | 'status'>({
      name: 'jobwire_jobs',
      help: 'Jobs stored, by queue and status (counted at most every METRICS_JOB_COUNTS_MAX_AGE_MS; see jobwire_jobs_counted_at_seconds)',
      labelNames: ['queue', 'status'],
      registers: [this.registry],
      async collect() {
        const snapshot = await counts.current();
        this.reset();
        if (!snapshot) return;
        const labelled = snapshot.jobs.map((row) => ({ ...row, queue: queues.of(row.queueName) }));
        // Every status of every queue, so a series drops to 0 instead of vanishing.
        for (const queue of new Set(labelled.map((row) => row.queue))) for (const status of Object.values(JobStatus)) this.set({ queue, status }, 0);
        for (const row of labelled) this.inc({ queue: row.queue, status: row.status }, row.count);
      },
    });
    new Gauge({
      name: 'jobwire_jobs_counted_at_seconds',
      help: 'When the job counts of jobwire_jobs were taken (Unix time)',
      registers: [this.registry],
      async collect() {
        const snapshot = await counts.current();
        if (snapshot) this.set(snapshot.countedAt / 1000);
      },
    });
    new Gauge<'worker_id'>({
      name: 'jobwire_worker_heartbeat_age_seconds',
      help: "Seconds since each live worker process's last heartbeat (a worker silent for WORKER_DEAD_AFTER_MS is dead)",
      labelNames: ['worker_id'],
      registers: [this.registry],
      async collect() {
        const snapshot = await counts.current();
        this.reset();
        if (!snapshot) return;
        const since = (Date.now() - snapshot.countedAt) / 1000;
        for (const worker of snapshot.workers) this.set({ worker_id: worker.workerId }, worker.heartbeatAgeSeconds + since);
      },
    });
    return jobs;
  }

  /** Live subscriptions and websocket connections of this API process. */
  observeSubscribers(read: () => { events: number; jobs: number; websockets: number }) {
    new Gauge<'subscription'>({
      name: 'jobwire_subscribers',
      help: 'Live subscriptions of this API process: jobEvents (events) and jobUpdated (job)',
      labelNames: ['subscription'],
      registers: [this.registry],
      collect() {
        const now = read();
        this.set({ subscription: 'events' }, now.events);
        this.set({ subscription: 'job' }, now.jobs);
      },
    });
    new Gauge({
      name: 'jobwire_websocket_connections',
      help: 'graphql-ws connections open on this API process',
      registers: [this.registry],
      collect() {
        this.set(read().websockets);
      },
    });
  }
}

export interface JobCounters {
  started: { inc(): void };
  completed: { inc(): void };
  retried: { inc(): void };
  cancelled: { inc(): void };
  failed(status: string): { inc(): void };
  runSeconds(status: string): { observe(value: number): void };
}
