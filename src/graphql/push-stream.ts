// A push-based async iterator for subscription resolvers.

/**
 * A consumer that takes values as they are pushed, in the pusher's call,
 * instead of asking for each with next() (graphql/shared-execution.ts: a
 * websocket subscription writing its results itself). A promise per value and
 * subscriber is what 10,000 subscribers turned into garbage that outlived
 * young-generation collections.
 */
export interface Taker<T> {
  /** Takes one value; it may pause() first and resume() once done with it. */
  take(value: T): void;
  /** The stream failed, after every value queued before the failure was taken. */
  fail(error: Error): void;
}

export interface TakeControl {
  /** Values pushed from now on are queued (next() is not to be called meanwhile). */
  pause(): void;
  /** Takes the queued values, then each as it is pushed. */
  resume(): void;
}

/** The method of a pushStream's iterator that installs a Taker (starting paused). */
export const TAKE = Symbol('pushStream.take');
export type Takeable<T> = { [TAKE](taker: Taker<T>): TakeControl };

/**
 * An async iterator fed by callbacks: `start` runs at once with `push`, `fail`
 * and `drained` and returns the cleanup, called once when the consumer stops
 * (return) or the stream fails. Values pushed while nobody waits are queued;
 * after `fail`, the queued values are delivered first, then the error. `push`
 * answers how many values wait now and `drained()` resolves once the consumer
 * has taken them all: a producer keeps the queue bounded by going at the
 * consumer's pace (jobs/live.ts reads the rest from the log).
 *
 * What a Repeater offers for one event sink, without its machinery (a promise
 * and a state object per push): with a thousand subscribers, every event is
 * pushed a thousand times, and what each push allocates is what the API
 * process's memory grows by between garbage collections.
 */
export function pushStream<T>(
  start: (push: (value: T) => number, fail: (error: Error) => void, drained: () => Promise<void>) => () => void,
): AsyncIterableIterator<T> & Takeable<T> {
  const queue: T[] = [];
  let taker: Taker<T> | null = null;
  let taking = false;
  let draining = false;
  let waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | null = null;
  let failure: Error | null = null;
  let closed = false;
  let cleanup: (() => void) | null = null;
  let drainWaiters: Array<() => void> = [];

  const wakeDrainWaiters = () => {
    if (drainWaiters.length === 0) return;
    const waiters = drainWaiters;
    drainWaiters = [];
    waiters.forEach((resolve) => resolve());
  };
  const drained = () => (closed || queue.length === 0 ? Promise.resolve() : new Promise<void>((resolve) => drainWaiters.push(resolve)));
  const close = () => {
    if (closed) return;
    closed = true;
    const fn = cleanup;
    cleanup = null;
    fn?.();
    wakeDrainWaiters();
  };
  const push = (value: T) => {
    if (closed) return 0;
    if (taking && queue.length === 0) {
      taker!.take(value);
      return 0;
    }
    if (waiting) {
      const { resolve } = waiting;
      waiting = null;
      resolve({ value, done: false });
    } else {
      queue.push(value);
    }
    return queue.length;
  };
  const fail = (error: Error) => {
    if (closed) return;
    close();
    if (taker) {
      failure = error;
      if (taking) resume();
      return;
    }
    if (waiting) {
      const { reject } = waiting;
      waiting = null;
      reject(error);
    } else {
      failure = error;
    }
  };
  /** Hands the taker what is queued, then the failure; not re-entered (a take may resume at once). */
  const resume = () => {
    taking = true;
    if (draining) return;
    draining = true;
    while (taking && queue.length > 0) taker!.take(queue.shift()!);
    draining = false;
    if (queue.length > 0) return;
    wakeDrainWaiters();
    if (taking && failure) {
      const error = failure;
      failure = null;
      taker!.fail(error);
    }
  };
  const done = (): IteratorResult<T> => ({ value: undefined, done: true });
  const stop = () => {
    close();
    queue.length = 0;
    failure = null;
    if (waiting) {
      const { resolve } = waiting;
      waiting = null;
      resolve(done());
    }
  };

  const iterator: AsyncIterableIterator<T> & Takeable<T> = {
    [TAKE](consumer) {
      taker = consumer;
      return { pause: () => (taking = false), resume };
    },
    next() {
      if (queue.length > 0) {
        const value = queue.shift()!;
        if (queue.length === 0) wakeDrainWaiters();
        return Promise.resolve({ value, done: false });
      }
      if (failure) {
        const error = failure;
        failure = null;
        return Promise.reject(error);
      }
      if (closed) return Promise.resolve(done());
      return new Promise((resolve, reject) => (waiting = { resolve, reject }));
    },
    return() {
      stop();
      return Promise.resolve(done());
    },
    throw(error?: unknown) {
      stop();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };

  cleanup = start(push, fail, drained);
  // `fail` may have been called before `start` returned.
  if (closed) {
    const fn = cleanup;
    cleanup = null;
    fn();
  }
  return iterator;
}
