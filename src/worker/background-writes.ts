// A completed job's outcome is written off the task's path (worker/run-job.ts):
// the worker takes its next job while the write commits.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.ts';

/** Writes that finish after their task returned, retried a few times, and awaited at shutdown. */
export class BackgroundWrites {
  static readonly ATTEMPTS = 4;
  readonly #inFlight = new Set<Promise<void>>();

  add(write: () => Promise<void>, logger: () => Logger) {
    const attempt = async (): Promise<void> => {
      for (let n = 1; ; n++) {
        try {
          return await write();
        } catch (error) {
          if (n >= BackgroundWrites.ATTEMPTS) {
            logger().error({ err: error }, 'could not write the job outcome; the hourly orphan sweep will queue the job again');
            return;
          }
          await sleep(100 * 4 ** (n - 1));
        }
      }
    };
    const promise = attempt().finally(() => this.#inFlight.delete(promise));
    this.#inFlight.add(promise);
  }

  async drain() {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }
}
