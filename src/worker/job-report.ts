// What one attempt leaves behind besides its status: log lines, metrics and
// its span (src/tracing/job-spans.ts; the API's no-op span when tracing is off).
import { JobStatus } from '../job-state/statuses.ts';
import type { JobRow } from '../job-state/job-row.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { AttemptSpan } from '../tracing/job-spans.ts';

const OUTCOME_MESSAGES: Partial<Record<JobStatus, string>> = {
  [JobStatus.COMPLETED]: 'job completed',
  [JobStatus.FAILED]: 'job failed',
  [JobStatus.DEAD_LETTER]: 'job failed; no retries left',
  [JobStatus.RETRYING]: 'job failed; will retry',
  [JobStatus.CANCELLED]: 'job cancelled',
};

/**
 * One attempt's log lines (info: started, then its outcome, with the job's id,
 * type, queue, attempt and run time) and its metrics. Lines go through the
 * process's logger with the fields inline: a child logger per job costs more
 * than a short job (see lazyChild).
 */
export class JobReport {
  readonly #info: boolean;
  readonly #counters: ReturnType<Metrics['forJob']>;
  #startedAt = 0;
  #durationMs = 0;
  /** Set when the attempt fails and will be retried. */
  retryInMs: number | undefined;
  /** Set when the attempt is given back to the queue, not the job's fault (shutdown, lost session). */
  requeuedBecause: string | undefined;
  /** The attempt's span: the handler runs in it, each step in a child (worker/context.ts). */
  readonly span: AttemptSpan;
  /** What the handler threw or failed with: recorded on the span. */
  failure: unknown;

  constructor(
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly job: JobRow,
    private readonly workerId: string,
  ) {
    this.#info = logger.isLevelEnabled('info');
    this.#counters = metrics.forJob(job.queueName, job.jobType);
    this.span = new AttemptSpan(job, workerId);
  }

  #fields() {
    const { job } = this;
    return { jobId: job.id, jobType: job.jobType, queue: job.queueName, attempt: job.retryCount + 1, workerId: this.workerId };
  }

  /** The handler starts. */
  started() {
    this.#startedAt = performance.now();
    this.#counters.started.inc();
    if (this.#info) this.logger.info(this.#fields(), 'job started');
  }

  /** The handler returned or threw. */
  ended() {
    this.#durationMs = performance.now() - this.#startedAt;
  }

  /** The attempt ended at a durable wait (worker/waits.ts): the job goes on later, in another attempt. */
  waiting() {
    this.span.end('WAITING');
  }

  outcome(status: JobStatus, applied: boolean, error?: string | null) {
    const failed = status === JobStatus.FAILED || status === JobStatus.DEAD_LETTER || (status === JobStatus.RETRYING && this.requeuedBecause === undefined);
    this.span.end(applied ? status : 'LOST', failed ? (this.failure ?? error ?? undefined) : undefined);
    if (!applied) {
      this.logger.warn({ ...this.#fields(), status }, 'job was taken over by another worker; outcome dropped');
      return;
    }
    const requeued = status === JobStatus.RETRYING && this.requeuedBecause !== undefined;
    const counters = this.#counters;
    if (this.#startedAt) counters.runSeconds(status).observe(this.#durationMs / 1000);
    if (status === JobStatus.COMPLETED) counters.completed.inc();
    else if (status === JobStatus.CANCELLED) counters.cancelled.inc();
    else if (status === JobStatus.FAILED || status === JobStatus.DEAD_LETTER) counters.failed(status).inc();
    else if (status === JobStatus.RETRYING && !requeued) counters.retried.inc();
    if (!this.#info) return;
    const durationMs = Math.round(this.#durationMs * 10) / 10;
    const message = requeued ? `job re-queued: ${this.requeuedBecause}` : (OUTCOME_MESSAGES[status] ?? 'job finished');
    this.logger.info(
      { ...this.#fields(), status, durationMs, ...(error ? { error } : {}), ...(this.retryInMs !== undefined ? { retryInMs: this.retryInMs } : {}) },
      message,
    );
  }
}
