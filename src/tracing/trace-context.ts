// W3C trace context (https://www.w3.org/TR/trace-context/) as a job stores it:
// the traceparent and tracestate of the span that created the job, read from
// a request's headers or from the active span, and turned back into the
// parent of each attempt's span (src/tracing/job-spans.ts).
import { context, createTraceState, ROOT_CONTEXT, trace, TraceFlags, type Context, type SpanContext } from '@opentelemetry/api';

/** A job's trace context: its `traceparent` and `tracestate` columns. */
export interface TraceCarrier {
  readonly traceparent: string | null;
  readonly tracestate: string | null;
}

export const NO_TRACE: TraceCarrier = Object.freeze({ traceparent: null, tracestate: null });

/**
 * Version 00, as the database checks it (job_traceparent_format): an all-zero
 * trace or span id is invalid. Other versions are ignored, not refused: W3C
 * asks a receiver to start a new trace rather than fail the request.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
/** The database's bound (job_tracestate_length); W3C allows 32 members of at most 256 characters. */
export const TRACESTATE_MAX_LENGTH = 8192;

/** The span context a traceparent names (remote); undefined when it is not a valid version-00 traceparent. */
export function parseTraceparent(traceparent: string | null | undefined, tracestate?: string | null): SpanContext | undefined {
  if (!traceparent) return undefined;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match || match[1] === ZERO_TRACE_ID || match[2] === ZERO_SPAN_ID) return undefined;
  return {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
  };
}

/** A valid traceparent and its tracestate as a job stores them; NO_TRACE when the traceparent is missing or invalid. */
export function carrierFromHeaders(traceparent: string | null | undefined, tracestate: string | null | undefined): TraceCarrier {
  const parsed = parseTraceparent(traceparent);
  if (!parsed) return NO_TRACE;
  const state = tracestate?.trim();
  return { traceparent: traceparent!.trim(), tracestate: state && state.length <= TRACESTATE_MAX_LENGTH ? state : null };
}

/** The carrier of a span context (the span that creates a job, or an attempt's); NO_TRACE for an invalid one. */
export function carrierOf(spanContext: SpanContext): TraceCarrier {
  if (!trace.isSpanContextValid(spanContext)) return NO_TRACE;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  const state = spanContext.traceState?.serialize();
  return { traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`, tracestate: state && state.length <= TRACESTATE_MAX_LENGTH ? state : null };
}

/** The context whose parent is the carrier's span (ROOT_CONTEXT, a new trace, when it has none). */
export function contextOf(carrier: TraceCarrier, base: Context = ROOT_CONTEXT): Context {
  const spanContext = parseTraceparent(carrier.traceparent, carrier.tracestate);
  return spanContext ? trace.setSpanContext(base, spanContext) : base;
}

/** The trace context of the active span (an app's own tracing); NO_TRACE when none is active. */
export function activeTrace(): TraceCarrier {
  const spanContext = trace.getSpanContext(context.active());
  return spanContext ? carrierOf(spanContext) : NO_TRACE;
}

/**
 * The headers that carry the active span's trace context, for a request that
 * creates jobs (createJob over any HTTP client): the jobs join the caller's trace.
 */
export function traceHeaders(): Record<string, string> {
  const { traceparent, tracestate } = activeTrace();
  if (!traceparent) return {};
  return tracestate ? { traceparent, tracestate } : { traceparent };
}
