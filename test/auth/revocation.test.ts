// Revocation and expiry reach open websockets and schedules: a socket opened
// with an API key that is then revoked (by the CLI, or behind its back in SQL),
// expired or deleted is closed with 4401 and the reason; HTTP refuses the key at
// once after `keys revoke`; a schedule created by a revoked key stops making
// jobs, says why, and runs as whoever resumes it.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { spawnCli } from '../support/cli.ts';
import { deferred, eventually } from '../support/wait.ts';

let db: TestDatabase;
/** Checks open sockets only when told (its periodic check is 10 minutes away): what closes them is `keys revoke`'s notification. */
let service: TestApp;
/** Another API on the same database that checks every half second. */
let rechecking: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  // The HTTP cache of verified keys stays on (5 s): `keys revoke` must get past it.
  const env = { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '5000', SCHEDULE_POLL_INTERVAL_MS: '200' };
  service = await startTestApp(db.url, { env: { ...env, WS_AUTH_RECHECK_INTERVAL_MS: '600000' } });
  rechecking = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { ...env, WS_AUTH_RECHECK_INTERVAL_MS: '500' } });
});
afterAll(async () => {
  await rechecking?.stop();
  await service?.stop();
  await db?.drop();
});

async function newKey(options: { expiresAt?: Date; tenantId?: string } = {}) {
  const { key, record } = await createApiKey(db.pool, { name: 'revocation test', tenantId: options.tenantId ?? 'tenant-r', scopes: ['jobs:read', 'jobs:write'], expiresAt: options.expiresAt });
  return { key, id: record.id };
}

const CREATE = 'mutation { createJob(input: { jobType: "system.noop" }) { __typename } }';

/** An acknowledged graphql-ws connection with this key, and how it closes. */
async function connect(key: string, api = service) {
  const closed = deferred<{ code: number; reason: string }>('the socket to be closed', 15_000);
  const acked = deferred<void>('connection_ack');
  const client: Client = createClient({
    url: api.client.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${key}` },
    on: { connected: () => acked.resolve(), closed: (event) => closed.resolve({ code: (event as CloseEvent).code, reason: (event as CloseEvent).reason }) },
    onNonLazyError: () => undefined,
  });
  await acked.promise;
  /** Runs one query or mutation over the socket (graphql-ws carries them too). */
  const run = (query: string) =>
    new Promise<unknown>((resolve, reject) => {
      let result: unknown;
      client.subscribe({ query }, { next: (value) => (result = value), error: reject, complete: () => resolve(result) });
    });
  return { client, closed: closed.promise, run };
}

async function jobCount(): Promise<number> {
  return Number((await db.pool.query(`select count(*) from job`)).rows[0].count);
}

describe('open websockets', () => {
  it('`jobwire keys revoke` closes the key\'s sockets with 4401 at once, and HTTP refuses the key at once', async () => {
    const { key, id } = await newKey();
    const socket = await connect(key);
    const other = await newKey();
    const untouched = await connect(other.key);
    // Before: the socket creates and reads (and HTTP has the key in its cache).
    expect(await socket.run(CREATE)).toEqual({ data: { createJob: { __typename: 'MutationCreateJobSuccess' } } });
    expect((await service.client.as(key).send('{ jobs { totalCount } }')).status).toBe(200);
    const revoke = spawnCli(['keys', 'revoke', id], { DATABASE_URL: db.url });
    expect(await revoke.exited, `keys revoke failed: ${revoke.stderr()} ${JSON.stringify(revoke.logs)}`).toBe(0);
    expect(await socket.closed).toEqual({ code: 4401, reason: 'Unauthorized: API key revoked' });
    const before = await jobCount();
    const http = await service.client.as(key).send(CREATE);
    expect(http.status).toBe(401);
    expect(http.body.errors?.[0]?.message).toBe('API key revoked');
    expect(await jobCount()).toBe(before);
    // Another key's socket stays open and works.
    expect(await untouched.run('{ jobs { totalCount } }')).toMatchObject({ data: { jobs: {} } });
    await socket.client.dispose();
    await untouched.client.dispose();
  });

  it('a key revoked behind the API\'s back (SQL, no notification) closes its sockets within WS_AUTH_RECHECK_INTERVAL_MS', async () => {
    const { key, id } = await newKey();
    const socket = await connect(key, rechecking);
    await db.pool.query(`update api_key set revoked_at = now() where id = $1`, [id]);
    expect(await socket.closed).toEqual({ code: 4401, reason: 'Unauthorized: API key revoked' });
    await socket.client.dispose();
  });

  it('a key whose expiry is moved to now, or that is deleted, closes its sockets', async () => {
    const expiring = await newKey({ expiresAt: new Date(Date.now() + 3_600_000) });
    const deleted = await newKey();
    const [a, b] = [await connect(expiring.key, rechecking), await connect(deleted.key, rechecking)];
    await db.pool.query(`update api_key set expires_at = now() where id = $1`, [expiring.id]);
    await db.pool.query(`delete from api_key where id = $1`, [deleted.id]);
    expect(await a.closed).toEqual({ code: 4401, reason: 'Unauthorized: API key expired' });
    expect(await b.closed).toEqual({ code: 4401, reason: 'Unauthorized: invalid API key' });
    await a.client.dispose();
    await b.client.dispose();
  });

  it('a key that expires closes its sockets when it does', async () => {
    const { key } = await newKey({ expiresAt: new Date(Date.now() + 2000) });
    const socket = await connect(key);
    expect(await socket.closed).toEqual({ code: 4401, reason: 'Unauthorized: token expired' });
    await socket.client.dispose();
  });
});

describe('schedules', () => {
  const scheduleOf = async (key: string, id: string) =>
    (await service.client.as(key).send(`query($id: ID!) { schedule(id: $id) { paused pausedReason createdBy } }`, { id })).body.data as any;
  const jobsOf = async (scheduleId: string) =>
    (await db.pool.query<{ createdBy: string }>(`select j.created_by as "createdBy" from schedule_tick t join job j on j.id = t.job_id where t.schedule_id = $1 order by t.tick_at`, [scheduleId])).rows;

  it('a schedule created by a revoked key stops making jobs and says why; resumed by a key that holds jobs:write, it runs as that key', async () => {
    const creator = await newKey();
    const created = await service.client.as(creator.key).send(
      `mutation { createSchedule(input: { cron: "* * * * * *", jobTemplate: { jobType: "system.noop" } }) { ... on MutationCreateScheduleSuccess { data { id } } ... on Error { message } } }`,
    );
    const scheduleId = (created.body.data as any).createSchedule.data.id as string;
    await eventually('a job of the schedule', async () => ((await jobsOf(scheduleId)).length > 0 ? true : undefined));

    const { rows } = await db.pool.query(`update api_key set revoked_at = now() where id = $1 returning revoked_at`, [creator.id]);
    const revokedAt = rows[0].revoked_at as Date;
    const resumer = await newKey();
    await eventually('the schedule paused for its creator', async () => ((await db.pool.query(`select paused from schedule where id = $1`, [scheduleId])).rows[0].paused ? true : undefined));
    expect((await scheduleOf(resumer.key, scheduleId)).schedule).toEqual({
      paused: true,
      pausedReason: `its creator key:${creator.id} is revoked; resumeSchedule runs it as the caller`,
      createdBy: `key:${creator.id}`,
    });
    // No tick after the revocation made a job (the tick it raced with, at most, one second before).
    const late = await db.pool.query(`select count(*) from schedule_tick where schedule_id = $1 and job_id is not null and created_at > $2`, [scheduleId, revokedAt]);
    expect(Number(late.rows[0].count)).toBeLessThanOrEqual(1);

    const resumed = await service.client.as(resumer.key).send(
      `mutation($id: ID!) { resumeSchedule(id: $id) { ... on MutationResumeScheduleSuccess { data { paused pausedReason createdBy } } ... on Error { message } } }`,
      { id: scheduleId },
    );
    expect((resumed.body.data as any).resumeSchedule.data).toEqual({ paused: false, pausedReason: null, createdBy: `key:${resumer.id}` });
    await eventually("a job made as the resumer's key", async () => ((await jobsOf(scheduleId)).some((job) => job.createdBy === `key:${resumer.id}`) ? true : undefined));
    await service.client.as(resumer.key).send(`mutation($id: ID!) { deleteSchedule(id: $id) { __typename } }`, { id: scheduleId });
  });
});
