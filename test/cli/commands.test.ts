// The operator CLI, each command run as its own process against a real
// database where the service (API + worker) runs.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { runCli, startCli } from '../support/cli.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createJob } from '../support/jobs.ts';
import { freePort } from '../../src/testing/ports.ts';
import { eventually } from '../support/wait.ts';

let db: TestDatabase;
let service: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url);
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

const statusOf = async (id: string) => (await db.pool.query<{ status: string }>('select status from job where id = $1', [id])).rows[0]?.status;
const until = (id: string, status: string) => eventually(`job ${id} ${status}`, async () => ((await statusOf(id)) === status ? true : undefined));
/** A job that waits an hour before it runs: it stays SCHEDULED while a test acts on it. */
const scheduledJob = async (queueName = 'default') =>
  uuidOf((await createJob(service.client, { jobType: 'system.noop', queueName, scheduledAt: new Date(Date.now() + 3_600_000).toISOString() })).id);

describe('--help', () => {
  const commands = [
    [], ['start'], ['serve'], ['work'], ['migrate'],
    ['jobs'], ['jobs', 'list'], ['jobs', 'show'], ['jobs', 'cancel'], ['jobs', 'retry'], ['jobs', 'watch'],
    ['keys'], ['keys', 'create'], ['keys', 'list'], ['keys', 'revoke'],
    ['connections'], ['connections', 'set'], ['connections', 'list'], ['connections', 'delete'], ['connections', 'rotate'],
    ['codegen'],
  ];
  it.each(commands.map((command) => [command.join(' ') || '(none)', command]))('jobwire %s --help describes the command', async (_name, command) => {
    const result = await runCli([...command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Usage: jobwire${command.length ? ` ${command.join(' ')}` : ''}`);
    expect(result.stdout).toMatch(/Options:/);
  });
});

describe('service commands', () => {
  it('serve listens where --host and --port say, logs each HTTP request at debug, and stops on SIGTERM', async () => {
    const port = await freePort();
    const serve = startCli(['serve', '--host', '127.0.0.1', '--port', String(port), '--database-url', db.url, '--log-level', 'debug']);
    await serve.waitForLine('the GraphiQL URL', (line) => line.includes(`GraphiQL: http://127.0.0.1:${port}/graphql`));
    // A GET needs the CSRF prevention header.
    const response = await fetch(`http://127.0.0.1:${port}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
    const line = await serve.waitForLine('the request logged', (text) => text.includes('"msg":"http request"'));
    // The path only: a GET's query string carries its variables, which may hold a secret.
    expect(JSON.parse(line)).toMatchObject({ level: 20, method: 'GET', status: 200, url: '/graphql' });
    expect(line).not.toContain('__typename');
    serve.process.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
  });

  it('a bad flag stops the command with a message naming the flag and its variable', async () => {
    const result = await runCli(['serve', '--port', 'eighty', '--database-url', db.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('PORT (--port)');
  });

  it('migrate --database-url brings that database up to date and exits', async () => {
    const result = await runCli(['migrate', '--database-url', db.url], { LOG_LEVEL: 'info' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('database is up to date');
  });
});

describe('production build', () => {
  it('npm run build compiles the service to dist/, which serves without tsx', { timeout: 180_000 }, async () => {
    const build = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
      child.once('error', reject);
      child.once('close', resolve);
    });
    expect(build).toBe(0);
    const port = await freePort();
    const serve = spawn(process.execPath, ['dist/main.js', 'serve', '--host', '127.0.0.1', '--port', String(port), '--database-url', db.url], {
      env: { ...process.env, CI: '1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => serve.once('exit', resolve));
    let output = '';
    serve.stdout.on('data', (chunk) => (output += chunk));
    await eventually('the compiled API to print its URL', async () => (output.includes(`GraphiQL: http://127.0.0.1:${port}/graphql`) ? true : undefined), 60_000);
    // A GET needs the CSRF prevention header.
    const response = await fetch(`http://127.0.0.1:${port}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(await response.json()).toEqual({ data: { __typename: 'Query' } });
    serve.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('jobs', () => {
  it('list shows jobs filtered by status, queue, job type, kind and time', async () => {
    const done = uuidOf((await createJob(service.client, { jobType: 'system.noop', queueName: 'cli-list' })).id);
    const waiting = await scheduledJob('cli-list');
    await until(done, 'COMPLETED');

    const all = await runCli(['jobs', 'list', '--queue', 'cli-list', '--json', '--database-url', db.url]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout).map((job: { id: string }) => job.id)).toEqual([waiting, done]);

    const completed = await runCli(['jobs', 'list', '--queue', 'cli-list', '--status', 'completed', '--job-type', 'system.noop', '--kind', 'PLAIN', '--since', '1h', '--json', '--database-url', db.url]);
    expect(JSON.parse(completed.stdout)).toEqual([expect.objectContaining({ id: done, status: 'COMPLETED', queueName: 'cli-list', jobType: 'system.noop' })]);
    const future = await runCli(['jobs', 'list', '--queue', 'cli-list', '--since', new Date(Date.now() + 60_000).toISOString(), '--json', '--database-url', db.url]);
    expect(JSON.parse(future.stdout)).toEqual([]);

    const table = await runCli(['jobs', 'list', '--queue', 'cli-list', '--database-url', db.url]);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+KIND\s+QUEUE\s+JOB TYPE\s+PROGRESS\s+ATTEMPT\s+CREATED\s+TENANT\s+TAGS$/);
    expect(table.stdout).toMatch(new RegExp(`${done}\\s+COMPLETED\\s+PLAIN\\s+cli-list\\s+system.noop\\s+\\d+%\\s+1/4\\s+\\S+\\s+default`));
  });

  it('--tag, --metadata, --payload and --error search as jobs(filter) does, for list and cancel; bad ones are refused', async () => {
    const tagged = await scheduledJob('cli-search');
    const other = await scheduledJob('cli-search');
    await db.pool.query(`update job set tags = '{customer:acme,eu}', metadata = '{"customer":{"id":"acme"}}', payload = '{"order":7}' where id = $1`, [tagged]);
    const list = async (...flags: string[]) => JSON.parse((await runCli(['jobs', 'list', '--queue', 'cli-search', ...flags, '--json', '--database-url', db.url])).stdout).map((job: { id: string }) => job.id);
    expect(await list('--tag', 'customer:acme,eu')).toEqual([tagged]);
    expect(await list('--tag', 'customer:acme', '--tag', 'us')).toEqual([]);
    expect(await list('--metadata', '{"customer":{"id":"acme"}}')).toEqual([tagged]);
    expect(await list('--payload', '{"order":7}', '--tag', 'eu')).toEqual([tagged]);
    expect(await list('--metadata', '{}')).toEqual([other, tagged]);
    // The text of an earlier attempt's failure (the job waits to run again).
    await db.pool.query(`update job set error_message = 'Upstream timeout on order 7' where id = $1`, [other]);
    expect(await list('--error', 'TIMEOUT on')).toEqual([other]);

    const bad = await runCli(['jobs', 'list', '--metadata', '[1]', '--database-url', db.url]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--metadata must be a JSON object/);
    const short = await runCli(['jobs', 'list', '--error', 'ab', '--database-url', db.url]);
    expect(short.code).toBe(1);
    expect(short.stderr.trim()).toBe('error: errorContains: must be at least 3 characters');

    const cancelled = await runCli(['jobs', 'cancel', '--queue', 'cli-search', '--metadata', '{"customer":{"id":"acme"}}', '--yes', '--database-url', db.url]);
    expect(cancelled.stdout.trim()).toBe('cancelled: 1 job(s)');
    expect(await statusOf(tagged)).toBe('CANCELLED');
  });

  it('--created-by narrows list and cancel to the jobs one principal created (an audit)', async () => {
    const alices = await scheduledJob('cli-created-by');
    const others = await scheduledJob('cli-created-by');
    await db.pool.query(`update job set created_by = 'key:alice' where id = $1`, [alices]);

    const listed = await runCli(['jobs', 'list', '--queue', 'cli-created-by', '--created-by', 'key:alice', '--json', '--database-url', db.url]);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: alices, createdBy: 'key:alice' })]);
    expect((await runCli(['jobs', 'list', '--created-by', 'key:nobody', '--database-url', db.url])).stdout.trim()).toBe('no jobs (created by key:nobody)');

    const cancelled = await runCli(['jobs', 'cancel', '--queue', 'cli-created-by', '--created-by', 'key:alice', '--yes', '--database-url', db.url]);
    expect(cancelled.stdout.trim()).toBe('cancelled: 1 job(s)');
    expect([await statusOf(alices), await statusOf(others)]).toEqual(['CANCELLED', 'SCHEDULED']);
  });

  it("acts as an admin across tenants: lists, shows and cancels another tenant's jobs; --tenant narrows", async () => {
    const own = await scheduledJob('cli-tenants');
    const other = await scheduledJob('cli-tenants');
    await db.pool.query(`update job set tenant_id = 'tenant-b' where id = $1`, [other]);

    const all = await runCli(['jobs', 'list', '--queue', 'cli-tenants', '--json', '--database-url', db.url]);
    expect(JSON.parse(all.stdout).map((job: { id: string; tenantId: string }) => [job.id, job.tenantId])).toEqual([
      [other, 'tenant-b'],
      [own, 'default'],
    ]);
    const narrowed = await runCli(['jobs', 'list', '--queue', 'cli-tenants', '--tenant', 'tenant-b', '--json', '--database-url', db.url]);
    expect(JSON.parse(narrowed.stdout).map((job: { id: string }) => job.id)).toEqual([other]);
    expect((await runCli(['jobs', 'show', other, '--database-url', db.url])).stdout).toMatch(/^tenant:\s+tenant-b$/m);

    const cancelled = await runCli(['jobs', 'cancel', '--queue', 'cli-tenants', '--tenant', 'tenant-b', '--yes', '--database-url', db.url]);
    expect(cancelled.stdout.trim()).toBe('cancelled: 1 job(s)');
    expect(await statusOf(other)).toBe('CANCELLED');
    expect(await statusOf(own)).toBe('SCHEDULED');
    expect((await runCli(['jobs', 'retry', other, '--database-url', db.url])).stdout.trim()).toBe(`job ${other}: queued again`);
  });

  it('list refuses an unknown status, naming it and the valid ones', async () => {
    const result = await runCli(['jobs', 'list', '--status', 'DONE', '--database-url', db.url]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown status "DONE"; one of PENDING, SCHEDULED, RUNNING');
  });

  it.each([
    [['jobs', 'lst'], 'jobwire: unknown command "lst": commands are list, show, cancel, retry, watch (did you mean list?); see jobwire jobs --help'],
    [['jobs', 'show'], "jobwire: missing required argument 'id'; see jobwire jobs show --help"],
    [['jobs', 'list', '--limt', '5'], 'jobwire: unknown option --limt (did you mean --limit?); see jobwire jobs list --help'],
  ])('a command-line mistake (jobwire %j) is one line on stderr and exit status 2', async (args, line) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${line}\n`);
  });

  it("show prints a job's fields and its history", async () => {
    const id = uuidOf((await createJob(service.client, { jobType: 'system.sleep', payload: { ms: 10, ticks: 1 } })).id);
    await until(id, 'COMPLETED');
    const result = await runCli(['jobs', 'show', id, '--database-url', db.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^status:\s+COMPLETED$/m);
    expect(result.stdout).toMatch(/^result:\s+\{"sleptMs":10\}$/m);
    expect(result.stdout).toMatch(/\(created\) → PENDING/);
    expect(result.stdout).toMatch(/PENDING → RUNNING/);
    expect(result.stdout).toMatch(/RUNNING → COMPLETED/);
  });

  it('show of an unknown job says so', async () => {
    const result = await runCli(['jobs', 'show', '00000000-0000-4000-8000-000000000000', '--database-url', db.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no job with id 00000000-0000-4000-8000-000000000000');
  });

  it('cancel ID cancels a queued job; retry ID queues it again', async () => {
    const id = await scheduledJob();
    // Not ended yet: one line naming its status, exit status 1, nothing changed.
    const early = await runCli(['jobs', 'retry', id, '--database-url', db.url]);
    expect(early.code).toBe(1);
    expect(early.stdout).toBe('');
    expect(early.stderr).toBe(`error: cannot retry job ${id}: it is still SCHEDULED (not ended yet); only FAILED, DEAD_LETTER, CANCELLED jobs can be retried\n`);
    expect(await statusOf(id)).toBe('SCHEDULED');

    const cancelled = await runCli(['jobs', 'cancel', id, '--database-url', db.url]);
    expect(cancelled.stdout.trim()).toBe(`job ${id}: cancelled`);
    expect(await statusOf(id)).toBe('CANCELLED');

    const retried = await runCli(['jobs', 'retry', id, '--database-url', db.url]);
    expect(retried.stdout.trim()).toBe(`job ${id}: queued again`);
    await until(id, 'COMPLETED');

    const refused = await runCli(['jobs', 'cancel', id, '--database-url', db.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('it is COMPLETED');
  });

  it('bulk cancel and retry act on every job matching the filter, only once confirmed, and print the count', async () => {
    const ids = [await scheduledJob('cli-bulk'), await scheduledJob('cli-bulk'), await scheduledJob('cli-bulk')];
    const other = await scheduledJob('cli-other');

    const unconfirmed = await runCli(['jobs', 'cancel', '--queue', 'cli-bulk', '--database-url', db.url]);
    expect(unconfirmed.code).toBe(1);
    expect(unconfirmed.stderr).toContain('3 job(s) match');
    expect(unconfirmed.stderr).toContain('nothing done');
    for (const id of ids) expect(await statusOf(id)).toBe('SCHEDULED');

    const cancelled = await runCli(['jobs', 'cancel', '--queue', 'cli-bulk', '--status', 'SCHEDULED', '--yes', '--database-url', db.url]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.stdout.trim()).toBe('cancelled: 3 job(s)');
    for (const id of ids) expect(await statusOf(id)).toBe('CANCELLED');
    expect(await statusOf(other)).toBe('SCHEDULED');

    const wrongStatus = await runCli(['jobs', 'retry', '--status', 'PENDING', '--yes', '--database-url', db.url]);
    expect(wrongStatus.code).toBe(1);
    expect(wrongStatus.stderr).toContain('retry applies to FAILED, DEAD_LETTER, CANCELLED jobs only; PENDING jobs cannot be retried');

    const retried = await runCli(['jobs', 'retry', '--queue', 'cli-bulk', '-y', '--database-url', db.url]);
    expect(retried.stdout.trim()).toBe('queued again: 3 job(s)');
    for (const id of ids) await until(id, 'COMPLETED');
  });

  it('watch follows a job live until it finishes, and exits 0 when it COMPLETED', async () => {
    const scheduledAt = new Date(Date.now() + 3_600_000).toISOString();
    const id = uuidOf((await createJob(service.client, { jobType: 'system.sleep', payload: { ms: 1500, ticks: 3 }, scheduledAt })).id);
    const watch = startCli(['jobs', 'watch', id, '--database-url', db.url]);
    await watch.waitForLine('the job waiting', (line) => line.startsWith('SCHEDULED 0%'));
    // Due now: its queue entry runs at once.
    await db.pool.query('select graphile_worker.reschedule_jobs(array(select queue_entry_id from job where id = $1), run_at := now())', [id]);
    await watch.waitForLine('progress', (line) => /^RUNNING (33|67)% slept/.test(line));
    await watch.waitForLine('the end', (line) => line === `job ${id} COMPLETED`);
    expect(await watch.exited).toBe(0);
  });

  it('watch exits 1 when the job ends otherwise', async () => {
    const id = await scheduledJob();
    const watch = startCli(['jobs', 'watch', id, '--database-url', db.url]);
    await watch.waitForLine('the job waiting', (line) => line.startsWith('SCHEDULED'));
    await runCli(['jobs', 'cancel', id, '--database-url', db.url]);
    await watch.waitForLine('the end', (line) => line === `job ${id} CANCELLED`);
    expect(await watch.exited).toBe(1);
  });
});
