// The spans of a job (docs/tracing.md), through @opentelemetry/api only: with
// no tracer provider registered (tracing off, the default) every span is the
// API's no-op one and nothing more is done. The trace of one job:
//
//   createJob (SERVER, child of the request's traceparent)
//     └─ job.attempt (CONSUMER), one per attempt, child of the traceparent the job stored
//          └─ job.step, one per durable step the attempt runs (ctx.step)
//
// Attempts are children, not links: one trace from the request to the last
// step is what a trace viewer shows whole.
import { context, INVALID_SPAN_CONTEXT, ProxyTracerProvider, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { carrierOf, contextOf, type TraceCarrier } from './trace-context.ts';

export const TRACER_NAME = 'jobwire';
const tracer = trace.getTracer(TRACER_NAME);

/** What the API's global provider delegates to while none is registered. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
const NOOP_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Whether a tracer provider is registered (jobwire's from the OTEL_* variables,
 * or an app's own). When none is, spans are skipped before any trace context
 * is parsed: tracing off costs a lookup per span.
 */
export function tracingRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

/** Span names. */
export const SPAN = { attempt: 'job.attempt', step: 'job.step' } as const;

/** Attribute names (one concept, one name: jobwire.job.* as the job's columns). */
export const ATTRIBUTE = {
  jobId: 'jobwire.job.id',
  jobType: 'jobwire.job.type',
  queue: 'jobwire.job.queue',
  attempt: 'jobwire.job.attempt',
  /** How the attempt ended: COMPLETED, RETRYING, FAILED, DEAD_LETTER, CANCELLED, WAITING, LOST. */
  outcome: 'jobwire.job.outcome',
  workerId: 'jobwire.worker.id',
  /** Jobs a createJobs request made. */
  jobCount: 'jobwire.job.count',
  stepName: 'jobwire.step.name',
} as const;

/** What an attempt's span says of its job. */
export interface TracedJob extends TraceCarrier {
  readonly id: string;
  readonly jobType: string;
  readonly queueName: string;
  readonly retryCount: number;
}

/** Ends a span as failed, with the error recorded (an exception event). */
export function failSpan(span: Span, error: unknown): void {
  const exception = error instanceof Error ? error : new Error(String(error));
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
}

/**
 * Runs a create request's work in its SERVER span, a child of the request's
 * trace context; `fn` gets the context to store on the jobs it creates: the
 * span's own, or (tracing off) the request's as it came, so that a remote
 * worker can still join the caller's trace.
 */
export async function inCreateSpan<T>(name: string, incoming: TraceCarrier, fn: (carrier: TraceCarrier, span: Span) => Promise<T>): Promise<T> {
  if (!tracingRegistered()) return fn(incoming, NOOP_SPAN);
  const parent = contextOf(incoming);
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
  if (!span.isRecording()) return fn(incoming, span);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(carrierOf(span.spanContext()), span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** What a create span made: the job's id (one job) or how many, and the type (createJob). */
export function describeCreated(span: Span, jobType: string | null, jobIds: readonly string[]): void {
  if (!span.isRecording()) return;
  if (jobType !== null) span.setAttribute(ATTRIBUTE.jobType, jobType);
  if (jobIds.length === 1) span.setAttribute(ATTRIBUTE.jobId, jobIds[0]!);
  else span.setAttribute(ATTRIBUTE.jobCount, jobIds.length);
}

/**
 * One attempt's span, a child of the trace context the job stored. The
 * in-process worker starts it when it runs the job (worker/job-report.ts); the
 * service starts it when a remote worker claims the job, and ends it at the
 * worker's report (remote-workers/attempt-spans.ts).
 */
export class AttemptSpan {
  readonly span: Span;
  /** The attempt's context: its steps' and the handler's own spans are its children. */
  readonly context: Context;
  #ended = false;

  constructor(job: TracedJob, workerId: string, startTime?: Date) {
    if (!tracingRegistered()) {
      this.span = NOOP_SPAN;
      this.context = ROOT_CONTEXT;
      return;
    }
    const parent = contextOf(job);
    this.span = tracer.startSpan(SPAN.attempt, { kind: SpanKind.CONSUMER, ...(startTime ? { startTime } : {}) }, parent);
    if (!this.span.isRecording()) {
      this.context = parent;
      return;
    }
    this.context = trace.setSpan(parent, this.span);
    this.span.setAttributes(attemptAttributes(job, workerId));
  }

  get recording(): boolean {
    return this.span.isRecording();
  }

  /** The traceparent of this attempt (a remote worker's spans join here); the job's own when tracing is off. */
  carrier(job: TraceCarrier): TraceCarrier {
    return this.recording ? carrierOf(this.span.spanContext()) : { traceparent: job.traceparent, tracestate: job.tracestate };
  }

  /** Runs `fn` with the attempt's span active, so spans the handler makes are its children. */
  run<T>(fn: () => T): T {
    return this.recording ? context.with(this.context, fn) : fn();
  }

  /** Runs a durable step in its own span, a child of the attempt's. */
  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (!this.recording) return fn();
    const span = tracer.startSpan(SPAN.step, { attributes: { [ATTRIBUTE.stepName]: name } }, this.context);
    try {
      return await context.with(trace.setSpan(this.context, span), fn);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  }

  /** A step reported as it ended (a remote worker's), from `startTime` to now. */
  recordStep(name: string, startTime: Date | undefined, error: string | null): void {
    if (!this.recording) return;
    const span = tracer.startSpan(SPAN.step, { attributes: { [ATTRIBUTE.stepName]: name }, ...(startTime ? { startTime } : {}) }, this.context);
    if (error !== null) failSpan(span, new Error(error));
    span.end();
  }

  /** Ends the attempt with its outcome; an error marks it failed. Later calls do nothing. */
  end(outcome: string, error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.recording) return;
    this.span.setAttribute(ATTRIBUTE.outcome, outcome);
    if (error !== undefined && error !== null) failSpan(this.span, error);
    this.span.end();
  }
}

function attemptAttributes(job: TracedJob, workerId: string): Attributes {
  return {
    [ATTRIBUTE.jobId]: job.id,
    [ATTRIBUTE.jobType]: job.jobType,
    [ATTRIBUTE.queue]: job.queueName,
    [ATTRIBUTE.attempt]: job.retryCount + 1,
    [ATTRIBUTE.workerId]: workerId,
    // OpenTelemetry's messaging conventions: a job is a message processed from its queue.
    'messaging.system': 'jobwire',
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': job.queueName,
    'messaging.message.id': job.id,
  };
}
