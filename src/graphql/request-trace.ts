// The W3C trace context a GraphQL request came with (its traceparent and
// tracestate headers), for the jobs it creates (docs/tracing.md). An invalid
// traceparent is ignored, as W3C asks: the request is served, in a new trace.
// An operation over a websocket has no request headers: a new trace.
import { carrierFromHeaders, NO_TRACE, type TraceCarrier } from '../tracing/trace-context.ts';
import type { GraphQLContext } from './context.ts';

export function requestTrace(ctx: Pick<GraphQLContext, 'request'>): TraceCarrier {
  const headers = ctx.request?.headers;
  if (typeof headers?.get !== 'function') return NO_TRACE;
  const traceparent = headers.get('traceparent');
  return traceparent ? carrierFromHeaders(traceparent, headers.get('tracestate')) : NO_TRACE;
}
