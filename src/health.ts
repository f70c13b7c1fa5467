// Liveness and readiness of a process, for a load balancer or an orchestrator:
// /health/live answers while the process runs; /health/ready answers 200 only
// while the database answers, the schema is current, the LISTEN connection is
// up and (in a process that runs jobs) the worker's heartbeat and session lock
// are current. Computed from state the process keeps anyway: a probe costs no query.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import type { DatabaseAvailability } from './db/availability.ts';
import type { Listener } from './db/listener.ts';
import { MIGRATIONS_FOLDER } from './db/migrate.ts';
import type { Logger } from './logger.ts';
import type { WorkerHandle } from './worker/runner.ts';

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface HealthOptions {
  pool: pg.Pool;
  availability: DatabaseAvailability;
  listener: Listener;
  logger: Logger;
  /** A heartbeat older than this is stale (ms). */
  heartbeatFreshMs: number;
}

export class Health {
  #migrationsCurrent = false;
  #lastHash: string | null = null;
  #worker: WorkerHandle | undefined;

  constructor(private readonly options: HealthOptions) {
    // A database that comes back may be another one (a failover): its schema is checked again.
    options.availability.onChange((available) => {
      if (available) void this.checkMigrations();
      else this.#migrationsCurrent = false;
    });
  }

  /** The worker whose heartbeat readiness includes (processes that run jobs). */
  setWorker(worker: WorkerHandle | undefined) {
    this.#worker = worker;
  }

  /** Reads whether the last committed migration is applied; kept until the database goes away. */
  async checkMigrations(): Promise<void> {
    try {
      this.#lastHash ??= await lastCommittedHash();
      const { rows } = await this.options.pool.query<{ applied: boolean }>(
        'select exists (select 1 from graphile_migrate.migrations where hash = $1) as applied',
        [this.#lastHash],
      );
      this.#migrationsCurrent = rows[0]?.applied === true;
    } catch (error) {
      this.options.logger.debug({ err: error }, 'could not check the schema version');
      this.#migrationsCurrent = false;
    }
  }

  readiness(): ReadinessReport {
    const checks: ReadinessReport['checks'] = {
      database: this.options.availability.available
        ? { ok: true }
        : { ok: false, detail: `unreachable for ${Math.round(this.options.availability.unavailableForMs / 1000)} s` },
      migrations: this.#migrationsCurrent ? { ok: true } : { ok: false, detail: 'the schema is not known to be current' },
      listen: this.options.listener.connected ? { ok: true } : { ok: false, detail: 'the LISTEN connection is down' },
    };
    if (this.#worker) {
      const age = Date.now() - this.#worker.lastHeartbeatAt;
      checks.workerHeartbeat =
        age <= this.options.heartbeatFreshMs ? { ok: true } : { ok: false, detail: `last heartbeat ${Math.round(age / 1000)} s ago` };
      checks.workerSession = this.#worker.holdsSessionLock ? { ok: true } : { ok: false, detail: 'the worker session lock is not held' };
      const stall = this.#worker.stall;
      checks.workerTakesJobs = stall ? { ok: false, detail: stall.detail } : { ok: true };
    }
    return { ready: Object.values(checks).every((check) => check.ok), checks };
  }
}

/** The answer of /health/live or /health/ready (null for any other path): one shape on every port that serves them. */
export function healthAnswer(path: string, health: Health | undefined): { status: number; body: unknown } | null {
  if (path === '/health/live') return { status: 200, body: { live: true } };
  if (path !== '/health/ready') return null;
  const report = health?.readiness() ?? { ready: true, checks: {} };
  return { status: report.ready ? 200 : 503, body: report };
}

/** The hash of the last committed migration this code was built with (graphile_migrate.migrations.hash once applied). */
export async function lastCommittedHash(): Promise<string> {
  return (await lastCommittedMigration()).hash;
}

export async function lastCommittedMigration(): Promise<{ file: string; hash: string }> {
  const folder = path.join(MIGRATIONS_FOLDER, 'committed');
  const files = (await readdir(folder)).filter((file) => file.endsWith('.sql')).sort();
  const last = files[files.length - 1];
  if (!last) throw new Error(`no committed migrations in ${folder}`);
  const hash = /^--! Hash: (\S+)/m.exec(await readFile(path.join(folder, last), 'utf8'))?.[1];
  if (!hash) throw new Error(`${last} has no --! Hash header`);
  return { file: last, hash };
}
