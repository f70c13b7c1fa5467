// Live job updates for one API process: follows the job_event log (woken by
// NOTIFY, re-read after a reconnect) and fans events out in-process to
// subscribers. A notification is only a hint; the log is the data.
import type pg from 'pg';
import type { Listener } from '../db/listener.ts';
import { retryOnConnectionError } from '../db/retry.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import {
  compareCursors,
  matchesFilter,
  readEventRange,
  readSettledEvents,
  readSettledHead,
  type EventCursor,
  type JobEventFilter,
  type JobEventRecord,
} from './event-log.ts';

export const EVENT_CHANNEL = 'jobwire_event';
export const JOB_CHANNEL = 'jobwire_job';

const READ_BATCH = 1000;
/**
 * Re-read delays while unsettled events are behind the head (a transaction
 * still open). Kept short: under steady load some transaction is nearly always
 * open, and a read fetches only settled rows, so it is cheap.
 */
const UNSETTLED_RETRY_MS = [2, 5, 10, 20];
/** A safety read in case a notification was lost. */
const SAFETY_READ_MS = 2000;

interface EventSubscriber {
  filter: JobEventFilter;
  sink: (event: JobEventRecord) => void;
  /** It reads the events' jobs (a jobEvents subscription selecting `job`). */
  withJobs: boolean;
}

export class LiveEvents {
  #head: EventCursor | null = null;
  #subscribers = new Set<EventSubscriber>();
  /** Subscribers `withJobs`: while there are none, events are delivered without their job rows. */
  #jobReaders = 0;
  #jobWatchers = new Map<string, Set<() => void>>();
  #reading = false;
  #readAgain = false;
  #unsettledAttempt = 0;
  #timer: NodeJS.Timeout | null = null;
  #safetyTimer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly listener: Listener,
    private readonly logger: Logger,
    /**
     * Reads the rows of these jobs (Prisma's shape), attached to their events
     * before delivery while some subscriber reads them (`withJobs`). A
     * subscription executes its events one after another, so a query per event
     * (for `job { ... }`) capped a subscriber at one event per round trip, far
     * behind a busy log; one read per batch is not. Without such a subscriber,
     * no read: an event delivered without its row (one subscribed while the
     * batch was read) has it read by the resolver.
     */
    private readonly loadJobs?: (jobIds: string[]) => Promise<Array<{ id: string }>>,
    /** Counts the events published (jobwire_job_events_total). */
    private readonly metrics?: Pick<Metrics, 'countJobEvent'>,
  ) {}

  async start(): Promise<void> {
    this.listener.on('notification', this.#onNotification);
    this.listener.on('reconnected', this.#onReconnected);
    await this.listener.listen(EVENT_CHANNEL);
    await this.listener.listen(JOB_CHANNEL);
    this.#head = await readSettledHead(this.pool);
    this.#safetyTimer = setInterval(() => this.#read(), SAFETY_READ_MS);
    this.#safetyTimer.unref();
  }

  stop(): void {
    this.#stopped = true;
    this.listener.off('notification', this.#onNotification);
    this.listener.off('reconnected', this.#onReconnected);
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#safetyTimer) clearInterval(this.#safetyTimer);
  }

  #onNotification = (channel: string, payload: string) => {
    if (channel === EVENT_CHANNEL) this.#read();
    else if (channel === JOB_CHANNEL) this.#jobWatchers.get(payload)?.forEach((notify) => notify());
  };

  #onReconnected = () => {
    this.#read();
    // Job updates may have been missed while disconnected: every watcher reloads.
    for (const watchers of this.#jobWatchers.values()) watchers.forEach((notify) => notify());
  };

  /** Reads the log past the head and delivers it; coalesces concurrent wake-ups. */
  #read(): void {
    if (this.#stopped || !this.#head) return;
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    this.#reading = true;
    void this.#readLoop()
      .catch((error) => this.logger.warn({ err: error }, 'reading the job event log failed'))
      .finally(() => {
        this.#reading = false;
        if (this.#readAgain) {
          this.#readAgain = false;
          this.#read();
        }
      });
  }

  async #readLoop(): Promise<void> {
    for (;;) {
      const { events, unsettledBehind } = await readSettledEvents(this.pool, this.#head!, READ_BATCH);
      if (this.#jobReaders > 0) await this.#attachJobs(events);
      for (const event of events) {
        this.#head = { txId: event.txId, id: event.id };
        this.metrics?.countJobEvent(event.status);
        for (const subscriber of this.#subscribers) {
          if (matchesFilter(event, subscriber.filter)) subscriber.sink(event);
        }
        // Status changes reach jobUpdated through the log (no jobwire_job notification for them).
        this.#jobWatchers.get(event.jobId)?.forEach((notify) => notify());
      }
      if (unsettledBehind) {
        const delay = UNSETTLED_RETRY_MS[Math.min(this.#unsettledAttempt++, UNSETTLED_RETRY_MS.length - 1)]!;
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#read(), delay);
        return;
      }
      this.#unsettledAttempt = 0;
      if (events.length < READ_BATCH) return;
    }
  }

  async #attachJobs(events: JobEventRecord[]): Promise<void> {
    if (!this.loadJobs || events.length === 0) return;
    const rows = new Map((await this.loadJobs([...new Set(events.map((event) => event.jobId))])).map((row) => [row.id, row]));
    for (const event of events) event.job = rows.get(event.jobId);
  }

  /**
   * Subscribes to events matching a filter. With `after`, the events after that
   * cursor are replayed first, then live ones follow: none missed, none twice.
   *
   * Paced (given `pace`): `sink` answers how many events wait for the client.
   * A replay reads the log one batch at a time and the next only once the
   * client has taken the last; a live subscriber whose client lets `maxBacklog`
   * events wait takes no more live ones and reads the rest from the log the
   * same way, going live again once it has caught up. What waits for a client
   * stays bounded however far back `after` is and however long it does not read.
   * With `withJobs`, the events come with their job rows (`job`).
   */
  subscribeEvents(
    filter: JobEventFilter,
    after: EventCursor | null,
    sink: (event: JobEventRecord) => number | void,
    onError: (error: unknown) => void,
    pace?: { drained: () => Promise<void>; maxBacklog: number },
    { withJobs = false }: { withJobs?: boolean } = {},
  ): () => void {
    if (!this.#head) throw new Error('LiveEvents is not started');
    let replaying = false;
    const subscriber: EventSubscriber = {
      filter,
      withJobs,
      sink: (event) => {
        // While it reads from the log, the subscriber takes nothing live.
        if (replaying) return;
        const backlog = sink(event);
        if (pace && typeof backlog === 'number' && backlog >= pace.maxBacklog) replayFrom({ txId: event.txId, id: event.id });
      },
    };
    const batchSize = Math.min(pace?.maxBacklog ?? READ_BATCH, READ_BATCH);
    const gone = () => !this.#subscribers.has(subscriber) || this.#stopped;
    const replayFrom = (from: EventCursor) => {
      replaying = true;
      void (async () => {
        for (;;) {
          await pace?.drained();
          if (gone()) return;
          // Everything up to the head has been delivered live (to the others),
          // everything after it will be. Nothing is awaited between reading the
          // head here and going live below, so no event falls between the two.
          const upTo = this.#head!;
          if (compareCursors(from, upTo) >= 0) break;
          // Through a database restart: the subscription waits for the log rather than failing.
          const events = await retryOnConnectionError(() => readEventRange(this.pool, from, upTo, filter, batchSize), { maxMs: 2000, stopped: gone });
          if (withJobs) await retryOnConnectionError(() => this.#attachJobs(events), { maxMs: 2000, stopped: () => this.#stopped });
          if (gone()) return;
          events.forEach((event) => sink(event));
          const last = events[events.length - 1];
          from = events.length < batchSize || !last ? upTo : { txId: last.txId, id: last.id };
        }
        replaying = false;
      })().catch((error) => {
        this.logger.error({ err: error }, 'replaying job events failed');
        this.#remove(subscriber);
        onError(error);
      });
    };
    this.#subscribers.add(subscriber);
    if (withJobs) this.#jobReaders++;
    if (after !== null && compareCursors(after, this.#head) < 0) replayFrom(after);
    return () => this.#remove(subscriber);
  }

  #remove(subscriber: EventSubscriber): void {
    if (this.#subscribers.delete(subscriber) && subscriber.withJobs) this.#jobReaders--;
  }

  /**
   * Calls `notify` whenever the job (or a step or kind row of it) changes:
   * status changes come from the event log, other changes by jobwire_job.
   */
  watchJob(jobId: string, notify: () => void): () => void {
    let watchers = this.#jobWatchers.get(jobId);
    if (!watchers) this.#jobWatchers.set(jobId, (watchers = new Set()));
    watchers.add(notify);
    return () => {
      watchers.delete(notify);
      if (watchers.size === 0) this.#jobWatchers.delete(jobId);
    };
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /** jobEvents subscriptions, and jobs watched by jobUpdated subscriptions. */
  get subscriptionCounts(): { events: number; jobs: number } {
    let jobs = 0;
    for (const watchers of this.#jobWatchers.values()) jobs += watchers.size;
    return { events: this.#subscribers.size, jobs };
  }
}
