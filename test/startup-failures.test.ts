// A start that cannot succeed is one clear line on stderr and a non-zero exit,
// never a hang or a stack trace: the real CLI, as a user runs it.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { spawnCli } from './support/cli.ts';
import { freePort } from '../src/testing/ports.ts';

let db: TestDatabase;
const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await db?.drop();
});

/** Runs the CLI to its end: its exit code and its one stderr line. */
async function failedStart(args: string[], env: Record<string, string | undefined>) {
  const child = spawnCli(args, env);
  const exitCode = await child.exited;
  const lines = child.stderr().split('\n').filter(Boolean);
  expect(lines, child.stderr()).toHaveLength(1);
  expect(lines[0]).toMatch(/^jobwire: /);
  expect(lines[0]).not.toMatch(/\bat .*\.ts:\d+/); // no stack frame
  return { exitCode, line: lines[0]!, logs: child.logs };
}

/** Something listening on a port, as another program would. */
async function occupy(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as { port: number }).port;
}

async function tempDir(mode: number) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'jobwire-start-'));
  await chmod(dir, mode);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('the command line', () => {
  it('an unknown flag', async () => {
    const { exitCode, line } = await failedStart(['serve', '--bogus'], { DATABASE_URL: db.url });
    expect(exitCode).toBe(2);
    expect(line).toBe('jobwire: unknown option --bogus; see jobwire --help');
  });

  it('an unknown command', async () => {
    const { exitCode, line } = await failedStart(['server'], { DATABASE_URL: db.url });
    expect(exitCode).toBe(2);
    expect(line).toBe('jobwire: unknown command "server": commands are start, serve, work, migrate, jobs, keys, connections, tenants, codegen; see jobwire --help');
  });
});

describe('ports', () => {
  it('the API port in use stops the start, also with a worker in the process', async () => {
    const port = await occupy();
    const { exitCode, line } = await failedStart(['start'], { DATABASE_URL: db.url, HOST: '127.0.0.1', PORT: String(port) });
    expect(exitCode).toBe(1);
    expect(line).toBe(
      `jobwire: the API cannot listen on 127.0.0.1:${port}: the port is in use (another jobwire?). Stop what listens there, or set PORT (and HOST) to a free port.`,
    );
  });

  it('the embedded Postgres port in use', async () => {
    const port = await occupy();
    const dataDir = path.join(await tempDir(0o755), 'data');
    const { exitCode, line } = await failedStart(['start'], { DATABASE_URL: undefined, DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(port) });
    expect(exitCode).toBe(1);
    expect(line).toMatch(new RegExp(`^jobwire: EMBEDDED_POSTGRES_PORT ${port} is in use .*set EMBEDDED_POSTGRES_PORT to a free port, or set DATABASE_URL`));
  });
});

describe('DATABASE_URL', () => {
  it('unreachable: retried for DATABASE_UNAVAILABLE_EXIT_AFTER_MS, then one line', async () => {
    const port = await freePort();
    const { exitCode, line, logs } = await failedStart(['serve'], {
      DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${port}/jobwire`,
      DATABASE_UNAVAILABLE_EXIT_AFTER_MS: '2000',
    });
    expect(exitCode).toBe(1);
    expect(logs.filter((entry) => entry.msg === 'database not reachable yet; retrying').length).toBeGreaterThan(1);
    expect(line).toMatch(
      new RegExp(`^jobwire: cannot reach the database at 127\\.0\\.0\\.1:${port}/jobwire \\(DATABASE_URL\\) after 2 s: .*ECONNREFUSED.*DATABASE_UNAVAILABLE_EXIT_AFTER_MS`),
    );
  });

  it('a wrong password', async () => {
    const url = new URL(db.url);
    url.password = 'not-the-password';
    const { exitCode, line } = await failedStart(['work'], { DATABASE_URL: url.toString() });
    expect(exitCode).toBe(1);
    expect(line).toMatch(/^jobwire: the database at .* refused postgres: password authentication failed for user "postgres"\. Check the user and password in DATABASE_URL\.$/);
  });

  it('a database that does not exist', async () => {
    const url = new URL(db.url);
    url.pathname = '/no_such_database';
    const { exitCode, line } = await failedStart(['migrate'], { DATABASE_URL: url.toString() });
    expect(exitCode).toBe(1);
    expect(line).toMatch(/^jobwire: the database at .*\/no_such_database does not exist .*Create it, or fix DATABASE_URL\.$/);
  });
});

describe('the data directory', () => {
  // As root, Postgres runs as the "postgres" user, which cannot enter a 0700
  // folder of root's (a clone in /root); as anyone else, the folder is theirs
  // and a folder they may not enter at all (0000) is the same mistake.
  const asRoot = process.getuid?.() === 0;

  it('a folder the embedded Postgres cannot reach', async () => {
    const locked = await tempDir(asRoot ? 0o700 : 0o000);
    cleanups.push(() => chmod(locked, 0o700));
    const dataDir = path.join(locked, 'clone', '.data');
    const { exitCode, line } = await failedStart(['start'], { DATABASE_URL: undefined, DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()) });
    expect(exitCode).toBe(1);
    expect(line).toMatch(
      asRoot
        ? new RegExp(`^jobwire: DATA_DIR ${dataDir}: the embedded Postgres runs as the "postgres" user \\(jobwire runs as root\\) and cannot enter ${locked} \\(mode 0700\\)\\. Set DATA_DIR to a folder every user can enter`)
        : new RegExp(`^jobwire: permission denied on ${locked}`),
    );
  });
});
