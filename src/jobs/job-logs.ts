// Job logs: what a handler logs with ctx.log.info/warn/error(message, fields),
// stored in job_log_line (kept as long as the job), also written to the
// process's log, read as Job.logs and tailed live by the jobLogs subscription
// (docs/end-user-live-jobs.md#job-logs).
//
// Cheap for the worker: a log call only queues the line (it never waits on the
// database); lines are inserted in batches, one statement per
// JOB_LOG_FLUSH_MS or per JOB_LOG_BATCH_MAX lines, one batch at a time, so
// sequences commit in order without gaps as in job-streams.ts. Each batch
// notifies LOG_CHANNEL with the job id on commit.
//
// Bounded per job over all its attempts (lines stored, markers included):
// from the first line that would pass JOB_LOG_MAX_LINES lines or
// JOB_LOG_MAX_BYTES bytes, every line of the attempt is dropped, and at its
// end ONE marker line (WARN, fields { droppedLineCount }) says how many; the
// marker itself is stored past the bound.
import type { Queryable } from '../db/pool.ts';
import type { Listener } from '../db/listener.ts';
import type { Logger } from '../logger.ts';
import type { JobLog } from '../core/handler.ts';
import { channelWatchers } from './notify-watchers.ts';

export const LOG_CHANNEL = 'jobwire_log';
/** Lines one job keeps, over all its attempts, plus one marker per attempt that dropped some. */
export const JOB_LOG_MAX_LINES = 10_000;
/** Bytes one job keeps: each line's message (UTF-8) plus its fields' JSON text. */
export const JOB_LOG_MAX_BYTES = 1024 * 1024;
/** The longest wait of a logged line before its batch is inserted. */
export const JOB_LOG_FLUSH_MS = 100;
/** Lines inserted by one statement at most; this many queued are inserted at once. */
const JOB_LOG_BATCH_MAX = 1000;

export const JOB_LOG_LEVELS = ['INFO', 'WARN', 'ERROR'] as const;
export type JobLogLevel = (typeof JOB_LOG_LEVELS)[number];

export interface JobLogLine {
  sequence: number;
  attempt: number;
  level: JobLogLevel;
  message: string;
  fields: Record<string, unknown>;
  createdAt: Date;
}

interface Pending {
  level: JobLogLevel;
  message: string;
  fields: string;
  bytes: number;
  at: Date;
}

/** The marker's message: how many lines this attempt dropped and why. */
export function droppedMessage(count: number): string {
  return `${count} log line${count === 1 ? '' : 's'} dropped: a job keeps at most ${JOB_LOG_MAX_LINES} lines and ${JOB_LOG_MAX_BYTES} bytes of logs`;
}

/** The log of one attempt of one job (worker/context.ts makes one per attempt). */
export class JobLogs implements JobLog {
  readonly #queue: Pending[] = [];
  #timer: NodeJS.Timeout | null = null;
  #loop: Promise<void> | null = null;
  /** Lines, bytes and last sequence stored; read before the first insert of the attempt (and after a failure). */
  #stored: { lines: number; bytes: number; last: number } | null = null;
  #dropped = 0;

  constructor(
    private readonly pool: Queryable,
    private readonly jobId: string,
    private readonly attempt: number,
    private readonly logger: () => Logger,
    /** Before an insert: writes RUNNING if not yet; false when the job is no longer this worker's. */
    private readonly ensureRunning: () => Promise<boolean>,
  ) {}

  info = (message: string, fields?: Record<string, unknown>) => this.#log('INFO', message, fields);
  warn = (message: string, fields?: Record<string, unknown>) => this.#log('WARN', message, fields);
  error = (message: string, fields?: Record<string, unknown>) => this.#log('ERROR', message, fields);

  /** Inserts every line logged so far, then the marker of what this attempt dropped (if any). */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    while (this.#loop || this.#queue.length > 0) {
      this.#loop ??= this.#drain();
      await this.#loop;
    }
    if (this.#dropped > 0) {
      const count = this.#dropped;
      this.#dropped = 0;
      const fields = JSON.stringify({ droppedLineCount: count });
      await this.#insert([{ level: 'WARN', message: droppedMessage(count), fields, bytes: 0, at: new Date() }]).catch((error) =>
        this.logger().warn({ err: error }, 'job log write failed'),
      );
    }
  }

  #log(level: JobLogLevel, message: string, fields: Record<string, unknown> | undefined): void {
    if (typeof message !== 'string') throw new TypeError(`ctx.log.${level.toLowerCase()}: message must be a string, got ${typeof message}`);
    if (fields !== undefined && (fields === null || typeof fields !== 'object' || Array.isArray(fields))) {
      throw new TypeError(`ctx.log.${level.toLowerCase()}: fields must be an object of JSON values, got ${Array.isArray(fields) ? 'an array' : String(fields)}`);
    }
    let text: string;
    try {
      text = JSON.stringify(fields ?? {});
    } catch (error) {
      throw new TypeError(`ctx.log.${level.toLowerCase()}: fields must be JSON (${error instanceof Error ? error.message : String(error)})`);
    }
    // As the job's other log lines: the process's log carries the job id.
    this.logger()[level === 'INFO' ? 'info' : level === 'WARN' ? 'warn' : 'error']({ fields: fields ?? {} }, message);
    this.#queue.push({ level, message, fields: text, bytes: Buffer.byteLength(message) + Buffer.byteLength(text), at: new Date() });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#loop || this.#queue.length === 0) return;
    if (this.#queue.length >= JOB_LOG_BATCH_MAX) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      this.#loop = this.#drain();
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = null;
        this.#loop ??= this.#drain();
      }, JOB_LOG_FLUSH_MS);
    }
  }

  async #drain(): Promise<void> {
    // Always awaits before it ends, so #loop is set before it is cleared below.
    await Promise.resolve();
    const batch = this.#queue.splice(0, JOB_LOG_BATCH_MAX);
    try {
      if (batch.length > 0) {
        if (!(await this.ensureRunning())) throw new Error(`job ${this.jobId} is no longer run by this worker: its log lines are dropped`);
        this.#stored ??= await this.#load();
        const kept: Pending[] = [];
        for (const line of batch) {
          if (this.#dropped === 0 && this.#stored.lines < JOB_LOG_MAX_LINES && this.#stored.bytes + line.bytes <= JOB_LOG_MAX_BYTES) {
            kept.push(line);
            this.#stored.lines += 1;
            this.#stored.bytes += line.bytes;
          } else this.#dropped += 1;
        }
        if (kept.length > 0) await this.#insert(kept);
      }
    } catch (error) {
      // Rolled back whole: read the numbers again before the next batch.
      this.#stored = null;
      this.logger().warn({ err: error, lineCount: batch.length }, 'job log write failed');
    }
    this.#loop = null;
    this.#schedule();
  }

  async #load(): Promise<{ lines: number; bytes: number; last: number }> {
    // As Postgres prints the stored JSON: a little more than the writer's JSON.stringify measured, never less.
    const { rows } = await this.pool.query<{ lines: number; bytes: string; last: number }>(
      `select count(*)::int as lines, coalesce(sum(octet_length(message) + octet_length(fields::text)), 0)::text as bytes,
              coalesce(max(sequence), 0) as last
         from job_log_line where job_id = $1`,
      [this.jobId],
    );
    return { lines: rows[0]!.lines, bytes: Number(rows[0]!.bytes), last: rows[0]!.last };
  }

  async #insert(lines: Pending[]): Promise<void> {
    this.#stored ??= await this.#load();
    const first = this.#stored.last + 1;
    this.#stored.last += lines.length;
    // The notification goes out on commit.
    await this.pool.query(
      `with stored as (
         insert into job_log_line (job_id, sequence, attempt, level, message, fields, created_at)
         select $1::text::uuid, $2 + b.ordinality - 1, $3, b.level, b.message, b.fields, b.created_at
           from unnest($4::text[], $5::text[], $6::jsonb[], $7::timestamptz[]) with ordinality as b(level, message, fields, created_at, ordinality))
       select pg_notify('${LOG_CHANNEL}', $1::text)`,
      [this.jobId, first, this.attempt, lines.map((l) => l.level), lines.map((l) => l.message), lines.map((l) => l.fields), lines.map((l) => l.at)],
    );
  }
}

/** Lines of a job after the sequence `after`, in order (the caller checked that the job is visible to it). */
export async function readLogLines(db: Queryable, jobId: string, after: number, limit: number): Promise<JobLogLine[]> {
  const { rows } = await db.query<JobLogLine>(
    `select sequence, attempt, level, message, fields, created_at as "createdAt"
       from job_log_line where job_id = $1 and sequence > $2 order by sequence limit $3`,
    [jobId, after, limit],
  );
  return rows;
}

/** Wakes readers of a job's log (jobs/notify-watchers.ts): `notify` after each batch written to it. */
export function logWatchers(listener: Listener) {
  const watchers = channelWatchers(listener, LOG_CHANNEL);
  return { watch: (jobId: string, notify: () => void) => watchers.watch(jobId, notify) };
}
