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
//
// A websocket subscription also writes its results itself (`direct`): the
// shared result is serialized once per event and share key (to UTF-8 bytes,
// which every subscriber's message reuses: only the id before them differs),
// and written to each socket as graphql-ws would write it, without going through the
// per-subscriber chain of async iterators (envelop's result hooks, graphql-ws's
// loop) and its JSON per subscriber: at 10,000 subscribers that chain and its
// garbage were most of the API's CPU besides the socket writes. Only results
// without errors take this way: those hooks touch only errors (masking, the
// error counter), so a result with errors goes through them as before, in
// order (the next event waits until graphql-ws has taken it). Over a
// pushStream (jobEvents) the events are taken as they are pushed, in
// jobs/live.ts's fan-out, with no promise per event and subscriber.
import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Principal } from '../auth/principal.ts';
import { TAKE, type Takeable } from './push-stream.ts';

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * Writes a websocket subscription's messages on its socket. A message is given
 * as two parts, UTF-8, to be written one after the other as one text message:
 * the subscription's own `head` and the `tail` every subscriber of a shared
 * result is given (neither is to be modified). `write` answers a promise when
 * the message is held in the process's memory (the client reads slower than it
 * is written to): the subscription takes its next event once it is written, so
 * that what waits for a slow client stays in its bounded queue
 * (WS_SUBSCRIPTION_QUEUE_MAX), as when graphql-ws waits for each write.
 */
export interface DirectWriter {
  write(head: MessageHead, tail: Buffer): Promise<void> | undefined;
}

/**
 * A subscription's own start of its messages, kept as a string for as long as
 * the subscription: a string lives in V8's heap, where a Buffer kept that long
 * would be a backing store of its own (or pin a slice of Node's 8 KiB pool),
 * one per subscriber. It is encoded into each frame as it is written.
 */
export interface MessageHead {
  text: string;
  /** `text`'s length in UTF-8 bytes. */
  byteLength: number;
}

export function messageHead(text: string): MessageHead {
  return { text, byteLength: Buffer.byteLength(text) };
}

interface Sharing {
  key: string;
  direct?: { writer: DirectWriter; head: MessageHead };
}

const sharings = new WeakMap<object, Sharing>();
/** Per event object, the result of each share key; dropped with the event. */
const resultsByEvent = new WeakMap<object, Map<string, Result>>();
/**
 * Per shared result without errors, the end of its `next` message: its JSON
 * (graphql-ws's `payload`) and the closing brace, as UTF-8; dropped with the result.
 */
const tails = new WeakMap<ExecutionResult, Buffer>();

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

/**
 * Marks a subscription's context: executions with the same key share results.
 * With `direct` (a graphql-ws subscription's id and socket), its results
 * without errors are written to the socket here.
 */
export function shareExecutions(
  contextValue: object,
  principal: string,
  params: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  direct?: { id: string; writer: DirectWriter },
): void {
  sharings.set(contextValue, {
    key: JSON.stringify([principal, params.operationName ?? null, params.variables ?? null, params.query]),
    // graphql-ws's `next` message ({ id, type, payload }, in that order): this head, then the result's tail.
    direct: direct && { writer: direct.writer, head: messageHead(`{"id":${JSON.stringify(direct.id)},"type":"next","payload":`) },
  });
}

/** The end of the `next` message of a result without errors (its payload, then `}`), serialized once per result. */
function tailOf(result: ExecutionResult): Buffer | undefined {
  if (result.errors !== undefined) return undefined;
  let tail = tails.get(result);
  if (tail === undefined) tails.set(result, (tail = Buffer.from(`${JSON.stringify(result)}}`)));
  return tail;
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
  const sharing = typeof args.contextValue === 'object' && args.contextValue !== null ? sharings.get(args.contextValue) : undefined;
  const key = sharing?.key;
  const direct = sharing?.direct;
  if (direct && TAKE in source) return takenDirectly(args, key!, direct, source as AsyncIterator<unknown> & Takeable<unknown>);
  let closed = false;
  const close = async () => {
    closed = true;
    await source.return?.();
  };
  const mapped: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      for (;;) {
        const step = await source.next();
        if (step.done) return { done: true, value: undefined };
        let result: ExecutionResult;
        try {
          const shared = executeShared(args, key, step.value);
          result = 'then' in shared ? await shared : shared;
        } catch (error) {
          await close().catch(() => undefined);
          throw error;
        }
        const tail = direct && tailOf(result);
        if (tail === undefined) return { done: false, value: result };
        // Stopped (the client completed it, or the socket closed) while its result was executed: nothing more.
        if (closed) return { done: true, value: undefined };
        const held = direct!.writer.write(direct!.head, tail);
        if (held) await held;
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

/**
 * A direct subscription over a pushStream (jobEvents): each event is executed
 * (shared) and written in the call that pushes it, without a promise per event
 * while the client keeps up. graphql-ws's next() answers only a result with
 * errors (written by graphql-ws, after its hooks), the end or a failure; the
 * events after such a result wait in the stream's queue until graphql-ws asks
 * again, and so do those after a held write until it is written.
 */
function takenDirectly(
  args: ExecutionArgs,
  key: string,
  direct: NonNullable<Sharing['direct']>,
  source: AsyncIterator<unknown> & Takeable<unknown>,
): AsyncIterableIterator<ExecutionResult> {
  let closed = false;
  let started = false;
  let handoff: ExecutionResult | null = null;
  let failure: { error: unknown } | null = null;
  let waiting: { resolve: (step: IteratorResult<ExecutionResult>) => void; reject: (error: unknown) => void } | null = null;
  const done = (): IteratorResult<ExecutionResult> => ({ done: true, value: undefined });

  const settle = () => {
    if (!waiting) return;
    const { resolve, reject } = waiting;
    if (handoff) {
      waiting = null;
      const value = handoff;
      handoff = null;
      resolve({ done: false, value });
    } else if (failure) {
      waiting = null;
      reject(failure.error);
    } else if (closed) {
      waiting = null;
      resolve(done());
    }
  };
  const end = (error: unknown) => {
    if (closed) return;
    closed = true;
    failure = { error };
    void source.return?.();
    settle();
  };
  const deliver = (result: ExecutionResult) => {
    if (closed) return;
    const tail = tailOf(result);
    if (tail === undefined) {
      // To graphql-ws (for masking and the error count); the stream stays paused until it asks again.
      handoff = result;
      return settle();
    }
    const held = direct.writer.write(direct.head, tail);
    if (held) held.then(control.resume, end);
    else control.resume();
  };
  const control = source[TAKE]({
    take(value) {
      // Called by whoever pushes (jobs/live.ts's fan-out): never throws into it.
      control.pause();
      try {
        const shared = executeShared(args, key, value);
        if ('then' in shared) shared.then(deliver, end);
        else deliver(shared);
      } catch (error) {
        end(error);
      }
    },
    fail: end,
  });
  control.pause();

  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next() {
      // graphql-ws has written the result it was handed (or asks for the first time): on with the events.
      if (!started || !handoff) {
        started = true;
        if (!closed) control.resume();
      }
      return new Promise<IteratorResult<ExecutionResult>>((resolve, reject) => {
        waiting = { resolve, reject };
        settle();
      });
    },
    async return() {
      closed = true;
      await source.return?.();
      settle();
      return done();
    },
    async throw(error: unknown) {
      await iterator.return!();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
