// The real CLI: the safe default (no authentication: loopback only, refused
// elsewhere naming the setting) and `keys create|list|revoke`.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createInterface } from 'node:readline';
import { startTestApp, TEST_ENV } from '../support/app.ts';
import { deferred } from '../support/wait.ts';
import { runCli } from '../support/cli.ts';

let db: TestDatabase;

/** Runs `jobwire <args>` to its end: exit code and output. */
const cli = (args: string[], env: Record<string, string>) => runCli(args, { ...TEST_ENV, DATABASE_URL: db.url, ...env });

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('the safe default', () => {
  it('without authentication, refuses to listen on a non-loopback address, naming the settings', async () => {
    const tables = Number((await db.pool.query('select count(*) from job')).rows[0].count);
    const { code, stderr } = await cli(['serve'], { HOST: '0.0.0.0' });
    expect(code).toBe(2);
    expect(stderr).toContain('refusing to listen on 0.0.0.0 without authentication: set AUTH_ENABLED=true');
    expect(stderr).toContain('AUTH_DISABLED_ALLOW_NON_LOOPBACK=true');
    expect(Number((await db.pool.query('select count(*) from job')).rows[0].count)).toBe(tables);
  });

  it('without authentication on loopback, runs and says every caller is the local admin', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
      env: { ...process.env, ...TEST_ENV, LOG_LEVEL: 'info', CI: '1', DATABASE_URL: db.url, HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const warned = deferred<Record<string, unknown>>('the start-up warning', 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (String(entry.msg).startsWith('authentication is off')) warned.resolve(entry);
    });
    const entry = await warned.promise;
    expect(entry.msg).toBe('authentication is off (AUTH_ENABLED=false): every caller is the local admin; listening on loopback only');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
});

describe('keys', () => {
  it('create shows the key once, list never shows secrets, and a revoked key is refused', async () => {
    const created = await cli(['keys', 'create', '--name', 'ci', '--tenant', 'team-a', '--scopes', 'jobs:read,jobs:write', '--expires', '30d'], {});
    expect(created.code).toBe(0);
    const key = /^(jw_[a-z0-9]{16}_[A-Za-z0-9_-]{43})$/m.exec(created.stdout)?.[1];
    expect(key).toBeDefined();
    const id = key!.split('_')[1]!;
    const stored = await db.pool.query('select secret_hash from api_key where id = $1', [id]);
    expect(stored.rows[0].secret_hash.toString('hex')).not.toContain(Buffer.from(key!.slice(23)).toString('hex'));

    const listed = await cli(['keys', 'list'], {});
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\tci\\ttenant=team-a\\tscopes=jobs:read,jobs:write\\texpires `, 'm'));
    expect(listed.stdout).not.toContain(key!.slice(23));

    const service = await startTestApp(db.url, { env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' } });
    try {
      const withKey = service.client.as(key);
      expect((await withKey.send('{ jobs { totalCount } }')).body.data).toEqual({ jobs: { totalCount: 0 } });
      const revoked = await cli(['keys', 'revoke', id], {});
      expect(revoked.code).toBe(0);
      const refused = await withKey.send('{ jobs { totalCount } }');
      expect(refused.status).toBe(401);
      expect(refused.body.errors?.[0]?.message).toBe('API key revoked');
    } finally {
      await service.stop();
    }
  });

  it('create mints a metrics:read key for a scraper', async () => {
    const created = await cli(['keys', 'create', '--name', 'prometheus', '--tenant', 'ops', '--scopes', 'metrics:read'], {});
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/\tprometheus\ttenant=ops\tscopes=metrics:read\tno expiry$/m);
  });

  it('bad input is refused naming what is wrong, and stores nothing', async () => {
    const before = Number((await db.pool.query('select count(*) from api_key')).rows[0].count);
    expect((await cli(['keys', 'create', '--name', 'x', '--tenant', 't', '--scopes', 'jobs:delete'], {})).stderr).toContain(
      'unknown scope "jobs:delete" (known: jobs:read, jobs:write, connections:write, metrics:read, worker, admin)',
    );
    expect((await cli(['keys', 'create', '--name', 'x', '--tenant', 't', '--scopes', 'admin', '--expires', 'soon'], {})).stderr).toContain(
      '--expires: "soon" is neither an ISO 8601 date-time nor a duration like 30d, 12h or 90m',
    );
    expect((await cli(['keys', 'revoke', 'nope'], {})).stderr).toContain('no API key with id nope');
    expect(Number((await db.pool.query('select count(*) from api_key')).rows[0].count)).toBe(before);
  });
});
