// Jobs by queue and status, and each worker's heartbeat age, for /metrics.
// Counting a large job table costs tens of milliseconds, so a scrape never
// waits for it (but the very first): it serves the last count and starts a
// fresh one in the background when that count is older than its maximum age.
// Nothing is counted while nobody scrapes.
import type { Queryable } from '../db/pool.ts';
import type { Logger } from '../logger.ts';

export interface JobCountsSnapshot {
  /** Jobs by queue name, then status. */
  jobs: Array<{ queueName: string; status: string; count: number }>;
  /** Seconds since each live worker's last heartbeat, as of the count. */
  workers: Array<{ workerId: string; heartbeatAgeSeconds: number }>;
  /** Date.now() when the count was taken. */
  countedAt: number;
}

export class JobCounts {
  #snapshot: JobCountsSnapshot | null = null;
  #counting: Promise<JobCountsSnapshot> | null = null;

  constructor(
    private readonly db: Queryable,
    private readonly maxAgeMs: number,
    private readonly logger: Logger,
  ) {}

  /**
   * The last count; the first call waits for it, later ones refresh it in the
   * background when stale. Null while no count has succeeded (the database is
   * unreachable): the other metrics are still served.
   */
  async current(): Promise<JobCountsSnapshot | null> {
    if (!this.#snapshot) {
      return this.#count().catch((error) => {
        this.logger.warn({ err: error }, 'counting jobs for /metrics failed');
        return null;
      });
    }
    if (Date.now() - this.#snapshot.countedAt >= this.maxAgeMs) {
      this.#count().catch((error) => this.logger.warn({ err: error }, 'counting jobs for /metrics failed'));
    }
    return this.#snapshot;
  }

  #count(): Promise<JobCountsSnapshot> {
    this.#counting ??= (async () => {
      try {
        const countedAt = Date.now();
        const [jobs, workers] = await Promise.all([
          this.db.query<{ queueName: string; status: string; count: number }>(
            `select queue_name as "queueName", status, count(*)::int as count from job group by queue_name, status`,
          ),
          this.db.query<{ workerId: string; heartbeatAgeSeconds: number }>(
            `select id as "workerId", extract(epoch from now() - last_heartbeat_at)::float8 as "heartbeatAgeSeconds" from worker`,
          ),
        ]);
        this.#snapshot = { jobs: jobs.rows, workers: workers.rows, countedAt };
        return this.#snapshot;
      } finally {
        this.#counting = null;
      }
    })();
    return this.#counting;
  }
}
