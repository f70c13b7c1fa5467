// Subscriptions that asked the same thing share one execution per event.
//
// graphql-js executes a subscription's selection once per event per
// subscriber. With 10,000 jobEvents subscribers that is 10,000 executions of
// the same selection over the same event object (jobs/live.ts hands every
// subscriber the same record), each allocating its execution context, field
// results and promises: most of the API's CPU per event after the socket
// writes, and most of the garbage that grew its memory. Here the first
// subscriber of a kind executes and the others take its result.
//
// "The same thing" is the share key a websocket subscription is given
// (http/websocket.ts): the principal (every field of it that can change what
// a resolver answers or refuses), the document's text, the operation name and
// the variables. Two principals never share a result, so tenant isolation and
// scope checks are exactly what each would get on its own. A subscription
// without a key (over HTTP, SSE) executes per event as graphql-js does.
import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Principal } from '../auth/principal.ts';

type Result = ExecutionResult | Promise<ExecutionResult>;

const shareKeys = new WeakMap<object, string>();
/** Per event object, the result of each share key; dropped with the event. */
const resultsByEvent = new WeakMap<object, Map<string, Result>>();

/**
 * What a principal is, as far as a resolver can tell, as a string: two
 * principals with equal keys get equal answers. Every field but `expiresAt`
 * (the socket closes at expiry; no resolver reads it) counts, so a field
 * added to Principal later splits keys rather than merging them.
 */
export function principalShareKey(principal: Principal): string {
  return JSON.stringify(principal, (key, value: unknown) => {
    if (key === 'expiresAt') return undefined;
    if (value instanceof Set) return [...value].sort();
    return value;
  });
}

/** Marks a subscription's context: executions with the same key share results. */
export function shareExecutions(
  contextValue: object,
  principal: string,
  params: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
): void {
  shareKeys.set(contextValue, JSON.stringify([principal, params.operationName ?? null, params.variables ?? null, params.query]));
}

function executeShared(args: ExecutionArgs, key: string | undefined, payload: unknown): Result {
  if (key === undefined || typeof payload !== 'object' || payload === null) return execute({ ...args, rootValue: payload });
  let results = resultsByEvent.get(payload);
  if (!results) resultsByEvent.set(payload, (results = new Map()));
  let result = results.get(key);
  if (!result) results.set(key, (result = execute({ ...args, rootValue: payload })));
  return result;
}

/**
 * graphql-js's `subscribe` (source stream, then one execution per event), with
 * the executions shared between subscriptions of one share key.
 */
export async function sharedSubscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream;
  const source = stream[Symbol.asyncIterator]();
  const key = typeof args.contextValue === 'object' && args.contextValue !== null ? shareKeys.get(args.contextValue) : undefined;
  const close = async () => {
    await source.return?.();
  };
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const step = await source.next();
      if (step.done) return { done: true, value: undefined };
      try {
        return { done: false, value: await executeShared(args, key, step.value) };
      } catch (error) {
        await close().catch(() => undefined);
        throw error;
      }
    },
    async return() {
      await close();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      if (!source.throw) throw error;
      const step = await source.throw(error);
      return step.done ? { done: true, value: undefined } : { done: false, value: await executeShared(args, key, step.value) };
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  };
  return mapped;
}
