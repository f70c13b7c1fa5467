// The delayed RUNNING write (WORKER_RUNNING_WRITE_DELAY_MS): a job taken is
// written RUNNING only once its handler has run a while, reports progress,
// starts a step or fails, so a short job costs one write (worker/run-job.ts).
import type { JobAbort } from '../core/job-abort.ts';
import { LOST_REASON } from './abort-reasons.ts';
import type { StatusBatcher } from './status-batcher.ts';

/** The job's RUNNING write: done once, when first needed; aborts the handler if the job was lost meanwhile. */
export class RunningWrite {
  #written: Promise<boolean> | null;

  constructor(
    private readonly batcher: StatusBatcher,
    private readonly jobId: string,
    private readonly workerId: string,
    /** Null when RUNNING is already written. */
    private readonly takenAt: string | null,
    private readonly abort: JobAbort,
  ) {
    this.#written = takenAt ? null : Promise.resolve(true);
  }

  /** While RUNNING is neither written nor being written: the database time the job was taken. */
  get takenSince(): string | null {
    return this.#written === null ? this.takenAt : null;
  }

  /** Writes RUNNING unless done already; false when the job is no longer this worker's to run. */
  ensure(): Promise<boolean> {
    this.#written ??= this.batcher.markRunning(this.jobId, this.workerId).then((row) => {
      if (!row) this.abort.abort(LOST_REASON);
      return row !== null;
    });
    return this.#written;
  }
}
