// Pacing of the pull-based subscriptions (queuesUpdated, jobUpdated): wake-ups
// coalesce into one reload, and a busy source is throttled.
import { Repeater } from 'graphql-yoga';

/**
 * Pull-based: wake-ups while a load is under way fold into one reload. The
 * first tick always goes out; later ones only when `wanted` says so.
 */
export function coalescingTicks(watch: (notify: () => void) => () => void, wanted: () => Promise<boolean> = async () => true) {
  return new Repeater<true>(async (push, stop) => {
    let dirty = true; // the current state first
    let first = true;
    let wake: (() => void) | null = null;
    const unwatch = watch(() => {
      dirty = true;
      wake?.();
    });
    stop.then(() => wake?.());
    let stopped = false;
    void stop.then(() => (stopped = true));
    while (!stopped) {
      if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      if (stopped) break;
      dirty = false;
      if (first || (await wanted())) await push(true);
      first = false;
    }
    unwatch();
  });
}

/** Queue stats are re-read at most this often per subscriber, however busy the queues are. */
export const QUEUES_UPDATED_INTERVAL_MS = 500;

/** Calls fn at most once per interval, and once more after the last call (none lost). */
export function atMostEvery(intervalMs: number, fn: () => void) {
  let last = 0;
  let timer: NodeJS.Timeout | null = null;
  return {
    call() {
      const wait = last + intervalMs - Date.now();
      if (wait <= 0) {
        last = Date.now();
        fn();
      } else {
        timer ??= setTimeout(() => {
          timer = null;
          last = Date.now();
          fn();
        }, wait);
      }
    },
    cancel: () => timer && clearTimeout(timer),
  };
}
