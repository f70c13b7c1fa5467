// Spans recorded in the test's own process (docs/tracing.md): a tracer
// provider registered globally, as an app would, with an InMemorySpanExporter;
// tests await the spans they expect instead of polling.
import { randomBytes } from 'node:crypto';
import { trace, type Context } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { dispose } from './dispose.ts';
import { deferred } from './wait.ts';

export interface SpanRecorder {
  readonly exporter: InMemorySpanExporter;
  /** Resolves with the first finished span (already exported or to come) that matches. */
  waitFor(what: string, match: (span: ReadableSpan) => boolean, timeoutMs?: number): Promise<ReadableSpan>;
  spans(): ReadableSpan[];
}

/** Registers a tracer provider for this test file's process; unregistered when the file ends. */
export function recordSpans(): SpanRecorder {
  const exporter = new InMemorySpanExporter();
  const waiters = new Set<{ match: (span: ReadableSpan) => boolean; resolve: (span: ReadableSpan) => void }>();
  const notify: SpanProcessor = {
    onStart: () => undefined,
    onEnd: (span) => {
      for (const waiter of waiters) if (waiter.match(span)) waiter.resolve(span);
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
  // The exporter first: a span a waiter gets is in the exporter already.
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter), notify] });
  provider.register();
  dispose(async () => {
    await provider.shutdown();
    trace.disable();
  });
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    async waitFor(what, match, timeoutMs = 20_000) {
      const seen = exporter.getFinishedSpans().find(match);
      if (seen) return seen;
      const wait = deferred<ReadableSpan>(`${what} (spans so far: ${exporter.getFinishedSpans().map((span) => span.name).join(', ')})`, timeoutMs);
      const waiter = { match, resolve: wait.resolve };
      waiters.add(waiter);
      try {
        return await wait.promise;
      } finally {
        waiters.delete(waiter);
      }
    },
  };
}

/** A caller's trace context: a fresh trace id and span id, sampled. */
export function newTraceparent(): { traceparent: string; traceId: string; spanId: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceparent: `00-${traceId}-${spanId}-01`, traceId, spanId };
}

/** The id of a span's parent (sdk 2.x: parentSpanContext). */
export const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

export type { Context, ReadableSpan };
