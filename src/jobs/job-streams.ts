// Output streams of jobs: what a handler writes with ctx.stream(name).write(chunk)
// (an LLM's tokens, an export's rows, a log tail), stored in job_stream_chunk
// and read live by the jobStream subscription (docs/end-user-live-jobs.md).
//
// Order and resumption: `sequence` counts from 1 per job and stream with no
// gap. One attempt writes through one JobStreams, which inserts one batch at a
// time, so batches commit in sequence order; a batch that fails is rolled back
// whole and the next numbers are read again from the table. A reader that asks
// for the chunks after the last sequence it has therefore never skips one and
// never sees one twice. Each batch notifies STREAM_CHANNEL on commit.
import type { Queryable } from '../db/pool.ts';
import type { Listener } from '../db/listener.ts';
import type { JobStream } from '../core/handler.ts';
import { channelWatchers } from './notify-watchers.ts';

export const STREAM_CHANNEL = 'jobwire_stream';
/** What one job may store in all its streams together (the JSON text of its chunks). */
export const JOB_STREAM_MAX_BYTES = 16 * 1024 * 1024;
/** The largest chunk (its JSON text). */
export const JOB_STREAM_CHUNK_MAX_BYTES = 64 * 1024;
/** A stream's name: what the table's check constraint accepts. */
export const STREAM_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Chunks inserted by one statement at most. */
const BATCH_MAX = 500;

/** A write past a bound (its `limit` names which). Nothing of it was stored; what was stored before stays. */
export class JobStreamLimitError extends Error {
  override name = 'JobStreamLimitError';
  constructor(
    readonly limit: 'JOB_STREAM_MAX_BYTES' | 'JOB_STREAM_CHUNK_MAX_BYTES',
    message: string,
  ) {
    super(message);
  }
}

export interface JobStreamChunk {
  streamName: string;
  sequence: number;
  chunk: unknown;
  createdAt: Date;
}

interface Pending {
  name: string;
  text: string;
  bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** The streams of one attempt of one job (worker/context.ts makes one per attempt). */
export class JobStreams {
  readonly #queue: Pending[] = [];
  readonly #next = new Map<string, number>();
  #usedBytes: number | null = null;
  #closedBy: JobStreamLimitError | null = null;
  #loop: Promise<void> | null = null;

  constructor(
    private readonly pool: Queryable,
    private readonly jobId: string,
    /** Before the first insert: writes RUNNING if not yet; false when the job is no longer this worker's. */
    private readonly ensureRunning: () => Promise<boolean>,
  ) {}

  stream(name: string): JobStream {
    if (!STREAM_NAME.test(name)) throw new RangeError(`stream name must match ${STREAM_NAME} (1-64 letters, digits, _ . : -), got ${JSON.stringify(name)}`);
    return { write: (chunk) => this.#write(name, chunk) };
  }

  /** Resolves once everything written so far is stored (or refused). */
  async flush(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  #write(name: string, chunk: unknown): Promise<void> {
    const text = JSON.stringify(chunk);
    let refused: Error | null = null;
    if (text === undefined) refused = new TypeError('a stream chunk must be a string or a JSON value');
    const bytes = text === undefined ? 0 : Buffer.byteLength(text);
    if (!refused && bytes > JOB_STREAM_CHUNK_MAX_BYTES) {
      refused = new JobStreamLimitError('JOB_STREAM_CHUNK_MAX_BYTES', `a stream chunk is at most ${JOB_STREAM_CHUNK_MAX_BYTES} bytes of JSON, got ${bytes}`);
    }
    refused ??= this.#closedBy;
    const written = refused
      ? Promise.reject(refused)
      : new Promise<void>((resolve, reject) => {
          this.#queue.push({ name, text: text!, bytes, resolve, reject });
          this.#loop ??= this.#drain();
        });
    // A handler that does not await its writes must not crash the worker on a refusal.
    written.catch(() => undefined);
    return written;
  }

  /** Inserts what is queued, one batch at a time; ends (and says so at once, for the next write to start another) once the queue is empty. */
  async #drain(): Promise<void> {
    // Always awaits before it ends, so #loop is set before it is cleared below.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, BATCH_MAX);
      try {
        if (!(await this.ensureRunning())) throw new Error(`job ${this.jobId} is no longer run by this worker: its stream writes are dropped`);
        await this.#load(batch);
        const accepted: Pending[] = [];
        for (const item of batch) {
          if (!this.#closedBy && this.#usedBytes! + item.bytes > JOB_STREAM_MAX_BYTES) {
            this.#closedBy = new JobStreamLimitError('JOB_STREAM_MAX_BYTES', `a job's streams hold at most ${JOB_STREAM_MAX_BYTES} bytes of JSON; this write would pass it, and so does every later one of this attempt`);
          }
          if (this.#closedBy) item.reject(this.#closedBy);
          else {
            accepted.push(item);
            this.#usedBytes! += item.bytes;
          }
        }
        if (accepted.length > 0) await this.#insert(accepted);
        accepted.forEach((item) => item.resolve());
      } catch (error) {
        // Rolled back whole: read the numbers and the bytes used again before the next batch.
        this.#next.clear();
        this.#usedBytes = null;
        batch.forEach((item) => item.reject(error instanceof Error ? error : new Error(String(error))));
      }
    }
    // Synchronously with the empty check above: a write resolved by this batch that writes again finds no loop and starts one.
    this.#loop = null;
  }

  /** The bytes stored and the next sequence of each stream of the batch, read once per attempt (and after a failure). */
  async #load(batch: Pending[]): Promise<void> {
    if (this.#usedBytes === null) {
      // As Postgres prints the stored JSON: a little more than the writer's JSON.stringify measured, never less.
      const { rows } = await this.pool.query<{ bytes: string }>(
        `select coalesce(sum(octet_length(chunk::text)), 0)::text as bytes from job_stream_chunk where job_id = $1`,
        [this.jobId],
      );
      this.#usedBytes = Number(rows[0]!.bytes);
    }
    const names = [...new Set(batch.map((item) => item.name))].filter((name) => !this.#next.has(name));
    if (names.length === 0) return;
    const { rows } = await this.pool.query<{ name: string; last: number }>(
      `select s.name, coalesce(max(c.sequence), 0) as last
         from unnest($2::text[]) as s(name) left join job_stream_chunk c on c.job_id = $1 and c.stream_name = s.name
        group by s.name`,
      [this.jobId, names],
    );
    for (const row of rows) this.#next.set(row.name, row.last + 1);
  }

  async #insert(items: Pending[]): Promise<void> {
    const sequences = items.map((item) => {
      const sequence = this.#next.get(item.name)!;
      this.#next.set(item.name, sequence + 1);
      return sequence;
    });
    // The notification goes out on commit, once per stream of the batch.
    await this.pool.query(
      `with batch as (select * from unnest($2::text[], $3::int[], $4::jsonb[]) as b(stream_name, sequence, chunk)),
            stored as (insert into job_stream_chunk (job_id, stream_name, sequence, chunk) select $1, stream_name, sequence, chunk from batch)
       select pg_notify('${STREAM_CHANNEL}', $1 || ':' || name) from (select distinct stream_name as name from batch) as streams`,
      [this.jobId, items.map((item) => item.name), sequences, items.map((item) => item.text)],
    );
  }
}

/** The chunks of a stream after `after`, in order (the caller checked that the job is visible to it). */
export async function readStreamChunks(db: Queryable, jobId: string, name: string, after: number, limit: number): Promise<JobStreamChunk[]> {
  const { rows } = await db.query<JobStreamChunk>(
    `select stream_name as "streamName", sequence, chunk, created_at as "createdAt"
       from job_stream_chunk where job_id = $1 and stream_name = $2 and sequence > $3
      order by sequence limit $4`,
    [jobId, name, after, limit],
  );
  return rows;
}

/** Wakes readers of a stream (jobs/notify-watchers.ts): `notify` after each batch written to it. */
export function streamWatchers(listener: Listener) {
  const watchers = channelWatchers(listener, STREAM_CHANNEL);
  return { watch: (jobId: string, name: string, notify: () => void) => watchers.watch(`${jobId}:${name}`, notify) };
}
