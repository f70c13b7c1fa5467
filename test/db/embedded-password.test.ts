// The embedded Postgres' superuser password is random per data folder (issue
// 23, item 7): stored in DATA_DIR/postgres-password (0600), used again on every
// start; a folder made before, whose password is "postgres", keeps its data and
// gets a random password on its next start, with a warning; a start that
// stopped between storing the new password and setting it completes the change.
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedConnectionString, startEmbeddedPostgres, storedPassword, type EmbeddedDatabase } from '../../src/db/embedded.ts';
import type { Logger } from '../../src/logger.ts';
import { freePort } from '../../src/testing/ports.ts';

const folders: string[] = [];
const running: EmbeddedDatabase[] = [];
afterAll(async () => {
  for (const server of running.splice(0)) await server.stop().catch(() => undefined);
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

const warnings: string[] = [];
const logger = new Proxy({}, { get: (_target, level) => (level === 'warn' ? (_bindings: unknown, message: string) => warnings.push(message) : () => undefined) }) as Logger;

async function dataFolder(): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'jobwire-password-'));
  await chmod(folder, 0o755); // Postgres runs as its own user when we are root
  folders.push(folder);
  return folder;
}

async function start(dataDir: string, port: number): Promise<EmbeddedDatabase> {
  const server = await startEmbeddedPostgres({ dataDir, port, database: 'jobwire', logger });
  running.push(server);
  return server;
}

async function stop(server: EmbeddedDatabase) {
  running.splice(running.indexOf(server), 1);
  await server.stop();
}

/** The SQLSTATE of connecting with `password` (null: accepted). */
async function tryPassword(port: number, password: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: `postgres://postgres:${encodeURIComponent(password)}@localhost:${port}/jobwire` });
  try {
    await client.connect();
    return null;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function query(url: string, sql: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('the embedded Postgres password', () => {
  it('is random for a new data folder, stored 0600 beside it, refused as "postgres", and the same on the next start', async () => {
    const dataDir = await dataFolder();
    const port = await freePort();
    let server = await start(dataDir, port);
    const password = storedPassword(dataDir)!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await stat(path.join(dataDir, 'postgres-password'))).mode & 0o777).toBe(0o600);
    expect(server.connectionString).toBe(`postgres://postgres:${password}@localhost:${port}/jobwire`);
    expect(await tryPassword(port, 'postgres')).toBe('28P01');
    expect(await tryPassword(port, password)).toBeNull();

    await stop(server);
    server = await start(dataDir, port);
    expect(storedPassword(dataDir)).toBe(password);
    expect(await query(server.connectionString, 'select 1 as one')).toEqual([{ one: 1 }]);
    // What the operator CLI (jobs ...) connects with.
    expect(embeddedConnectionString(dataDir, port, 'jobwire')).toBe(server.connectionString);
    await stop(server);
  });

  it('a folder made with the old password keeps its data and gets a random password on its next start, with a warning', async () => {
    const dataDir = await dataFolder();
    const port = await freePort();
    let server = await start(dataDir, port);
    await query(server.connectionString, `create table kept (note text); insert into kept values ('from before')`);
    // As a data folder made before passwords were random: "postgres", and no stored password.
    await query(server.connectionString, `alter role postgres password 'postgres'`);
    await rm(path.join(dataDir, 'postgres-password'));
    await stop(server);

    warnings.length = 0;
    server = await start(dataDir, port);
    const password = storedPassword(dataDir)!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await tryPassword(port, 'postgres')).toBe('28P01');
    expect(await query(server.connectionString, 'select note from kept')).toEqual([{ note: 'from before' }]);
    expect(warnings).toEqual([expect.stringMatching(/had the password "postgres"; it now has a random one, kept in .*postgres-password/)]);

    // A start that stopped after storing a new password but before setting it: the next one sets it.
    await query(server.connectionString, `alter role postgres password 'postgres'`);
    await writeFile(path.join(dataDir, 'postgres-password'), 'stored-but-never-set\n', { mode: 0o600 });
    await stop(server);
    server = await start(dataDir, port);
    expect(server.connectionString).toContain(':stored-but-never-set@');
    expect(await tryPassword(port, 'postgres')).toBe('28P01');
    expect(await query(server.connectionString, 'select note from kept')).toEqual([{ note: 'from before' }]);
    await stop(server);
  });
});
