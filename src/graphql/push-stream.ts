// A push-based async iterator for subscription resolvers.

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
): AsyncIterableIterator<T> {
  const queue: T[] = [];
  let waiting: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | null = null;
  let failure: Error | null = null;
  let closed = false;
  let cleanup: (() => void) | null = null;
  let drainWaiters: Array<() => void> = [];

  const wakeDrainWaiters = () => {
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
    if (waiting) {
      const { reject } = waiting;
      waiting = null;
      reject(error);
    } else {
      failure = error;
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

  const iterator: AsyncIterableIterator<T> = {
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
