// The spans of attempts that remote workers run (docs/tracing.md): the
// service starts an attempt's span when a worker claims the job, hands the
// worker that span's traceparent with the job (its own spans join the trace
// there), records each step the worker reports as a child span, and ends the
// attempt's span at the worker's report (complete, fail, a lost lease, or the
// job given back). Spans live in the process that answered the claim: a report
// that another API process answers ends nothing here, and such a span is
// ended as LOST once nothing was heard of its job for the longest lease.
// With tracing off, nothing is kept: a claim hands the job's own traceparent.
import { AttemptSpan } from '../tracing/job-spans.ts';
import type { TraceCarrier } from '../tracing/trace-context.ts';
import type { LeasedJob } from '../job-state/lease.ts';
import { MAX_LEASE_SECONDS } from './protocol.ts';

/** Attempt spans kept at most: past it, the oldest is ended as LOST (a bound on memory, whatever workers do). */
export const MAX_OPEN_ATTEMPTS = 10_000;
const SWEEP_EVERY_MS = 10_000;

interface OpenAttempt {
  readonly span: AttemptSpan;
  /** The worker that claimed it (its row id): only its reports end the span. */
  readonly workerRowId: string;
  /** When each step the worker reported RUNNING started. */
  readonly steps: Map<string, Date>;
  heardAt: number;
}

export class RemoteAttemptSpans {
  readonly #open = new Map<string, OpenAttempt>();
  #sweptAt = Date.now();

  /** Open attempt spans (tests, bounds). */
  get size(): number {
    return this.#open.size;
  }

  /** A worker claimed the job: its attempt's span starts; answers the trace context to hand the worker. */
  claimed(workerRowId: string, job: LeasedJob): TraceCarrier {
    const span = new AttemptSpan(job, workerRowId);
    if (!span.recording) return { traceparent: job.traceparent, tracestate: job.tracestate };
    this.#sweep();
    // Claimed again (its lease passed, its worker reported to another process): the earlier attempt is over.
    this.#end(job.id, 'LOST');
    if (this.#open.size >= MAX_OPEN_ATTEMPTS) this.#end(this.#open.keys().next().value!, 'LOST');
    this.#open.set(job.id, { span, workerRowId, steps: new Map(), heardAt: Date.now() });
    return span.carrier(job);
  }

  /** The worker reported on the job (an extension, a step, progress): its span is not stale. */
  heard(workerRowId: string, jobId: string): void {
    const open = this.#mine(workerRowId, jobId);
    if (open) open.heardAt = Date.now();
  }

  /** A step the worker reported: RUNNING starts it, COMPLETED or FAILED ends it as a child span of the attempt. */
  step(workerRowId: string, jobId: string, name: string, status: 'RUNNING' | 'COMPLETED' | 'FAILED', errorMessage: string | null): void {
    const open = this.#mine(workerRowId, jobId);
    if (!open) return;
    open.heardAt = Date.now();
    if (status === 'RUNNING') {
      if (!open.steps.has(name)) open.steps.set(name, new Date());
      return;
    }
    open.span.recordStep(name, open.steps.get(name), status === 'FAILED' ? (errorMessage ?? 'step failed') : null);
    open.steps.delete(name);
  }

  /** The attempt ended (its outcome: the job's status, or LOST); an error marks its span failed. */
  ended(workerRowId: string, jobId: string, outcome: string, error?: { name: string; message: string }): void {
    if (!this.#mine(workerRowId, jobId)) return;
    this.#end(jobId, outcome, error && Object.assign(new Error(error.message), { name: error.name }));
  }

  #mine(workerRowId: string, jobId: string): OpenAttempt | undefined {
    const open = this.#open.get(jobId);
    return open?.workerRowId === workerRowId ? open : undefined;
  }

  #end(jobId: string, outcome: string, error?: Error): void {
    const open = this.#open.get(jobId);
    if (!open) return;
    this.#open.delete(jobId);
    open.span.end(outcome, error);
  }

  /** Spans of jobs nothing was heard of for the longest lease: their reports went elsewhere, or never came. */
  #sweep(): void {
    const now = Date.now();
    if (now - this.#sweptAt < SWEEP_EVERY_MS) return;
    this.#sweptAt = now;
    for (const [jobId, open] of this.#open) if (now - open.heardAt > MAX_LEASE_SECONDS * 1000) this.#end(jobId, 'LOST');
  }
}

/** This process's: one tracer provider per process, one set of open attempts. */
export const remoteAttemptSpans = new RemoteAttemptSpans();
