// Reading ahead for an idle worker. When graphile-worker's LISTEN connection
// hears a job created (jobs:insert) and this worker runs nothing, the job it
// names (a create's first job) is read at once by its key, or else the job at
// the head of its queue, on another connection, while graphile-worker's
// get_job (or its local queue's fetch) locks an entry and waits for its
// commit. If it locked that very entry, the task starts from this row instead
// of reading the job after the lock: a lone job into an idle worker starts one
// round trip sooner (docs/performance.md, "Start latency").
//
// The row is read before the lock, so it stands for the read after the lock
// only where nothing it says could have changed in between:
// - the entry is the one read (the job's queue_entry_id) and had never been
//   taken before (graphile-worker counts attempts: 1), so no other worker ran
//   the job between the read and the lock;
// - a cancel between the read and the lock either removed the untaken entry
//   (get_job then cannot lock it) or, once it is locked, asks the worker over
//   LISTEN: any cancel heard while a row is read ahead drops it, and the task
//   reads after the lock as before (and sees cancel_requested_at);
// - the LISTEN connection stayed up (no reconnect) from the read to the task,
//   so no cancel went unheard;
// - the job has no debounce key (job-state/take.ts: a later create may replace
//   a debounced job's payload while its entry waits).
// The job's start (takenAt) is then the read's clock, a little before the lock:
// after the create committed, and before anything the handler does.
import type pg from 'pg';
import type { Job } from 'graphile-worker';
import { readQueuedJob, readQueueHead, type TakenJob } from '../job-state/take.ts';

export interface ReadAheadDeps {
  pool: pg.Pool;
  /** The task identifiers this worker's get_job takes (its task list now). */
  tasks: () => readonly string[];
  /** The LISTEN connection's generation: null while it is down, a new number after each reconnect. */
  listenerGeneration: () => number | null;
}

interface Ahead {
  read: Promise<TakenJob | null>;
  generation: number;
  /** Its place among the get_job calls (see #sequence). */
  sequence: number;
  /** Cancels heard before it was read (#cancelsHeard). */
  cancels: number;
}

export class ReadAhead {
  readonly #deps: ReadAheadDeps;
  #ahead: Ahead | null = null;
  /**
   * Orders reads ahead and get_job calls: a row read ahead lives until the
   * next task starts, or until a get_job that began after it finds nothing
   * (the job went to another worker). So it never outlives the get_job that
   * its jobs:insert woke, and cannot stand for an entry locked much later.
   */
  #sequence = 0;
  readonly #getJobStarts = new WeakMap<object, number>();
  #cancelsHeard = 0;
  /** Tasks started from a row read ahead (for tests and benches). */
  used = 0;

  constructor(deps: ReadAheadDeps) {
    this.#deps = deps;
  }

  /**
   * A job was created and this worker runs nothing: read it (`jobId`, the
   * create's first job that jobs:insert names), else the head of its queue
   * (one read at a time).
   */
  jobCreated(jobId?: string): void {
    if (this.#ahead) return;
    const generation = this.#deps.listenerGeneration();
    if (generation === null) return;
    // Sent now, before the get_job this jobs:insert wakes: its snapshot then
    // precedes get_job's commit, and it finds the entry still untaken. A
    // failed read only means the task reads after the lock.
    const read = (jobId ? readQueuedJob(this.#deps.pool, jobId) : readQueueHead(this.#deps.pool, this.#deps.tasks())).catch(() => null);
    this.#ahead = { read, generation, sequence: ++this.#sequence, cancels: this.#cancelsHeard };
  }

  /** A slot of graphile-worker (`worker`) began a get_job. */
  getJobStarted(worker: object): void {
    this.#getJobStarts.set(worker, ++this.#sequence);
  }

  /** That slot's get_job found nothing: if it began after the read ahead, the job went to another worker. */
  nothingTaken(worker: object): void {
    if (this.#ahead && (this.#getJobStarts.get(worker) ?? 0) > this.#ahead.sequence) this.#ahead = null;
  }

  /** A cancel was heard: a row read ahead before it may predate it. */
  cancelHeard(): void {
    this.#cancelsHeard++;
    this.#ahead = null;
  }

  /**
   * The row read ahead if it may stand for the read of this locked entry's
   * job, else null (the task then reads after the lock). Called by every task
   * once its cancel switch is registered; the row is used at most once.
   */
  async take(entry: Pick<Job, 'id' | 'attempts'>): Promise<TakenJob | null> {
    const ahead = this.#ahead;
    if (!ahead) return null;
    this.#ahead = null;
    const row = await this.#standsFor(ahead, entry);
    if (row) this.used++;
    return row;
  }

  /**
   * With a local queue (WORKER_LOCAL_QUEUE_SIZE > 0), graphile-worker's pool
   * locks entries in batches: the first batch fetched after the read ends the
   * row read ahead (so it never outlives the fetch its jobs:insert woke, as
   * take's get_job), and the row stands for the read of the batch's entry it
   * is for, under take's conditions. Answers that check, to call with each
   * entry of the batch (the row is given at most once), or null when nothing
   * was read ahead.
   */
  takeForBatch(): ((entry: Pick<Job, 'id' | 'attempts'>) => Promise<TakenJob | null>) | null {
    const ahead = this.#ahead;
    if (!ahead) return null;
    this.#ahead = null;
    let given = false;
    return async (entry) => {
      const row = await this.#standsFor(ahead, entry);
      if (!row || given) return null;
      given = true;
      this.used++;
      return row;
    };
  }

  async #standsFor(ahead: Ahead, entry: Pick<Job, 'id' | 'attempts'>): Promise<TakenJob | null> {
    const row = await ahead.read;
    // Never taken before this lock (attempts 1): no other worker ran the job since the read.
    if (!row || row.queueEntryId !== entry.id || entry.attempts !== 1) return null;
    // A cancel heard meanwhile, or the LISTEN connection lost (a cancel may have gone unheard).
    if (this.#cancelsHeard !== ahead.cancels || this.#deps.listenerGeneration() !== ahead.generation) return null;
    return row;
  }
}
