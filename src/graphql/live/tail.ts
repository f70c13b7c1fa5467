// The live tail shared by jobStream and jobLogs: rows numbered 1, 2, 3... per
// key without gaps once committed, read after `after`, then read again on each
// notification. None missed, none twice, a slow client bounded by push().
import { Repeater } from 'graphql-yoga';

export interface TailOptions<Row extends { sequence: number }> {
  after: number;
  /** Throws (e.g. JobNotFoundError) when the caller may not read it. */
  check(): Promise<void>;
  /** Registers the wake-up; resolves once listening, with the function that stops it. */
  watch(notify: () => void): Promise<() => void>;
  /** Up to `limit` rows after `after`, in order. */
  read(after: number, limit: number): Promise<Row[]>;
}

/** Rows read from the table per query while catching up. */
const READ_BATCH = 500;

export function tailBySequence<Row extends { sequence: number }>(options: TailOptions<Row>): Repeater<Row> {
  return new Repeater<Row>(async (push, stop) => {
    let stopped = false;
    let dirty = true;
    let wake: (() => void) | null = null;
    void stop.then(() => {
      stopped = true;
      wake?.();
    });
    await options.check();
    const unwatch = await options.watch(() => {
      dirty = true;
      wake?.();
    });
    let last = options.after;
    try {
      while (!stopped) {
        if (!dirty) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        dirty = false;
        for (;;) {
          if (stopped) return;
          const rows = await options.read(last, READ_BATCH);
          let gap = false;
          for (const row of rows) {
            // Sequences have no gaps once committed: never step over one; wait for the next wake-up.
            if ((gap = row.sequence !== last + 1)) break;
            // Resolves once the client's side has taken it: what waits for a slow client stays bounded.
            await push(row);
            last = row.sequence;
            if (stopped) return;
          }
          if (gap || rows.length < READ_BATCH) break;
        }
      }
    } finally {
      unwatch();
    }
  });
}
