// Principal ids name their kind (issue 23, item 7): an API key is `key:<id>`,
// a JWT `jwt:<sub>`. A JWT whose sub reads "key:<id>" is its own principal: it
// neither shares that key's budgets (mutations per minute, sockets) nor passes
// for it as a job's createdBy. Schedules made by JWTs before keep making jobs as
// the same principal under its new id (migration auth-principal-ids-carry-their-kind).
import { readdir, readFile } from 'node:fs/promises';
import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { deferred } from '../support/wait.ts';

const SECRET = 'principal-ids-secret-principal-ids-secret-0123';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'jobwire-test';

let db: TestDatabase;
let service: TestApp;
let key: string;
let keyId: string;

const jwt = (sub: string) =>
  new SignJWT({ sub, tenant: 'tenant-j', scope: 'jobs:read jobs:write' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, {
    roles: { api: true, worker: false },
    env: {
      AUTH_ENABLED: 'true',
      AUTH_JWT_SECRET: SECRET,
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      MUTATION_RATE_LIMIT_PER_MINUTE: '2',
      WS_MAX_SOCKETS_PER_PRINCIPAL: '1',
    },
  });
  ({ key } = await createApiKey(db.pool, { name: 'victim', tenantId: 'tenant-k', scopes: ['jobs:read', 'jobs:write'] }));
  keyId = key.split('_')[1]!;
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

const CREATE = 'mutation { createJob(input: { jobType: "system.noop" }) { ... on MutationCreateJobSuccess { data { createdBy } } } }';

describe('principal ids', () => {
  it('a JWT with sub "key:<id>" is jwt:key:<id>: it does not spend the key\'s mutations per minute, and its jobs are not the key\'s', async () => {
    const victim = service.client.as(key);
    expect((await victim.send(CREATE)).body.data).toEqual({ createJob: { data: { createdBy: `key:${keyId}` } } });
    expect((await victim.send(CREATE)).status).toBe(200);
    expect((await victim.send(CREATE)).body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');

    const forger = service.client.as(await jwt(`key:${keyId}`));
    const forged = await forger.send(CREATE);
    expect(forged.status).toBe(200);
    expect(forged.body.data).toEqual({ createJob: { data: { createdBy: `jwt:key:${keyId}` } } });
    const { rows } = await db.pool.query(`select tenant_id, count(*)::int as n from job where created_by = $1 group by tenant_id`, [`key:${keyId}`]);
    expect(rows).toEqual([{ tenant_id: 'tenant-k', n: 2 }]);
  });

  it('nor does it take the key\'s sockets (WS_MAX_SOCKETS_PER_PRINCIPAL)', async () => {
    const connect = (token: string) => {
      const outcome = deferred<'acknowledged' | number>('connection_ack or a close');
      const client = createClient({
        url: service.client.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${token}` },
        on: { connected: () => outcome.resolve('acknowledged'), closed: (event) => outcome.resolve((event as CloseEvent).code) },
        onNonLazyError: () => undefined,
      });
      return { client, outcome: outcome.promise };
    };
    const victim = connect(key);
    expect(await victim.outcome).toBe('acknowledged');
    const forger = connect(await jwt(`key:${keyId}`));
    expect(await forger.outcome).toBe('acknowledged');
    await victim.client.dispose();
    await forger.client.dispose();
  });

  it('the principal-ids migration gives the schedules of JWT principals their jwt: id and leaves the others', async () => {
    const creators = ['alice@example.com', `key:${keyId}`, 'cli:root', 'local-dev', 'jwt:bob'];
    for (const createdBy of creators) {
      await db.pool.query(
        `insert into schedule (tenant_id, cron, job_template, created_by) values ('tenant-m', '0 0 1 1 *', '{"jobType":"system.noop"}', $1)`,
        [createdBy],
      );
    }
    const name = (await readdir('migrations/committed')).find((file) => file.endsWith('-auth-principal-ids-carry-their-kind.sql'))!;
    const body = (await readFile(`migrations/committed/${name}`, 'utf8')).replace(/^--!.*$/gm, '');
    await db.pool.query(body);
    const { rows } = await db.pool.query(`select created_by from schedule where tenant_id = 'tenant-m' order by created_at, id`);
    expect(rows.map((row) => row.created_by).sort()).toEqual(['cli:root', 'jwt:alice@example.com', 'jwt:bob', `key:${keyId}`, 'local-dev'].sort());
  });
});
