// Browser safety (CSRF prevention, CORS allow-list, websocket Origin), query
// limits that refuse before any resolver runs, and hygiene of error answers.
import { request } from 'node:http';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { deferred } from '../support/wait.ts';
import { connectSocket } from '../support/websockets.ts';
import { loadConfig } from '../../src/service-config.ts';
import { socketsPerPrincipalCap } from '../../src/graphql/limits.ts';

const ALLOWED = 'https://app.example.test';
let db: TestDatabase;
let service: TestApp;

async function jobCount(): Promise<number> {
  return Number((await db.pool.query('select count(*) from job')).rows[0].count);
}

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, {
    env: { CORS_ALLOWED_ORIGINS: ALLOWED, MUTATION_RATE_LIMIT_PER_MINUTE: '5', WS_MAX_SUBSCRIPTIONS_PER_SOCKET: '2', GRAPHQL_INTROSPECTION: 'false', GRAPHIQL_ENABLED: 'false' },
  });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

const CREATE = 'mutation { createJob(input: { jobType: "system.noop" }) { __typename } }';

describe('browser safety', () => {
  it('a cross-site form post is refused, creates nothing and gets no Access-Control-Allow-Origin', async () => {
    const before = await jobCount();
    const response = await fetch(service.client.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' },
      body: new URLSearchParams({ query: CREATE }).toString(),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect((await response.json()).errors[0].message).toBe('origin https://evil.example is not allowed (CORS_ALLOWED_ORIGINS)');
    expect(await jobCount()).toBe(before);
  });

  it('a form post, a text/plain post and a multipart post without a file, from no origin, are refused by CSRF prevention', async () => {
    const before = await jobCount();
    const form = new FormData();
    form.set('operations', JSON.stringify({ query: CREATE }));
    form.set('map', '{}');
    const answers = await Promise.all([
      fetch(service.client.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: CREATE }).toString() }),
      fetch(service.client.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: CREATE }) }),
      fetch(service.client.url, { method: 'POST', body: form }),
    ]);
    for (const response of answers) {
      expect(response.status).toBe(403);
      expect((await response.json()).errors[0]).toEqual({
        message: 'Required CSRF header(s) not present: a form or text/plain request needs the header x-graphql-yoga-csrf (or send Content-Type: application/json)',
        extensions: { code: 'CSRF_HEADER_REQUIRED' },
      });
    }
    expect(await jobCount()).toBe(before);
  });

  it('a preflight from an origin not on the list is refused without Access-Control-Allow-Origin; a listed one gets its own origin, never a reflected other', async () => {
    const preflight = (origin: string) =>
      fetch(service.client.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    const unlisted = await preflight('https://evil.example');
    expect(unlisted.status).toBe(403);
    expect(unlisted.headers.get('access-control-allow-origin')).toBeNull();
    const listed = await preflight(ALLOWED);
    expect(listed.status).toBe(204);
    expect(listed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('a websocket from an origin not on the list is refused at the upgrade', async () => {
    const url = service.client.url.replace(/^http/, 'ws');
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(url, 'graphql-transport-ws', { origin: 'https://evil.example' });
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('open', () => resolve(101));
    });
    expect(refused).toBe(403);
    const accepted = await new Promise<number>((resolve) => {
      const socket = new WebSocket(url, 'graphql-transport-ws', { origin: ALLOWED });
      socket.on('open', () => {
        socket.close();
        resolve(101);
      });
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
    });
    expect(accepted).toBe(101);
  });
});

describe('limits name their bound', () => {
  it('a depth bomb (job → events → job ... ten levels) is refused naming GRAPHQL_MAX_DEPTH', async () => {
    let selection = 'id';
    for (let level = 0; level < 10; level++) selection = `job { events(first: 3) { edges { node { ${selection} } } } }`;
    const { status, body } = await service.client.send(`{ jobs(first: 3) { edges { node { events(first: 3) { edges { node { ${selection} } } } } } } }`);
    expect(status).toBe(400);
    expect(body.errors?.[0]?.message).toMatch(/^Query depth limit of 12 exceeded, found \d+\. \(GRAPHQL_MAX_DEPTH\)$/);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', setting: 'GRAPHQL_MAX_DEPTH' });
  });

  it('1,000 aliases of jobs(first: 100) are refused naming GRAPHQL_MAX_ALIASES', async () => {
    const query = `{ ${Array.from({ length: 1000 }, (_, index) => `a${index}: jobs(first: 100) { totalCount }`).join(' ')} }`;
    const { body } = await service.client.send(query);
    expect(body.errors?.[0]?.message).toMatch(/Token limit of 5000 exceeded|Aliases limit of 30 exceeded/);
    const fewer = `{ ${Array.from({ length: 40 }, (_, index) => `a${index}: jobTypes { jobType }`).join(' ')} }`;
    expect((await service.client.send(fewer)).body.errors?.[0]?.message).toBe('Aliases limit of 30 exceeded, found 40. (GRAPHQL_MAX_ALIASES)');
  });

  it('a 5 MB document is refused by its size before it is parsed, naming REQUEST_JSON_MAX_BYTES', async () => {
    const query = `{ ${'a: jobTypes { jobType } '.repeat(5 * 1024 * 1024 / 25)} }`;
    const { status, body } = await service.client.send(query);
    expect(status).toBe(413);
    expect(body.errors?.[0]?.message).toMatch(/is over the limit of 1048576 bytes \(REQUEST_JSON_MAX_BYTES\)$/);
  });

  it('a chunked body, whose size is not declared, is refused with 411 before it is read and creates nothing', async () => {
    // The HTTP guard is the one bound on a body's size (yoga's own is off, http/yoga.ts): a body without a length never reaches yoga.
    const before = await jobCount();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const outgoing = request(service.client.url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ status: response.statusCode!, body }));
      });
      outgoing.on('error', reject);
      outgoing.end(JSON.stringify({ query: CREATE }));
    });
    expect(answer.status).toBe(411);
    expect(JSON.parse(answer.body).errors[0].message).toBe('a POST needs a Content-Length header');
    expect(await jobCount()).toBe(before);
  });

  it('a long document under the size limit stops parsing at GRAPHQL_MAX_TOKENS', async () => {
    const { body } = await service.client.send(`{ ${'jobTypes { jobType } '.repeat(2000)} }`);
    expect(body.errors?.[0]?.message).toBe('Token limit of 5000 exceeded. (GRAPHQL_MAX_TOKENS)');
  });

  it('a query whose pages multiply past the cost limit is refused naming GRAPHQL_MAX_COST', async () => {
    const { body } = await service.client.send(
      '{ jobs(first: 100) { edges { node { events(first: 100) { edges { node { job { events(first: 100) { edges { node { id } } } } } } } } } } }',
    );
    expect(body.errors?.[0]?.message).toMatch(/^Query cost \d+ exceeds the limit of 50000 \(GRAPHQL_MAX_COST\)$/);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_LIMIT_EXCEEDED', setting: 'GRAPHQL_MAX_COST' });
  });

  it('mutations over the per-principal rate limit are refused with 429 naming MUTATION_RATE_LIMIT_PER_MINUTE, creating nothing', async () => {
    const answers = [];
    for (let index = 0; index < 7; index++) answers.push(await service.client.send(CREATE));
    const limited = answers.filter((answer) => answer.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(2);
    expect(limited[0]!.body.errors?.[0]?.message).toBe('Too many mutations: at most 5 per minute per principal (MUTATION_RATE_LIMIT_PER_MINUTE)');
    expect(limited[0]!.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', setting: 'MUTATION_RATE_LIMIT_PER_MINUTE' });
    expect(await jobCount()).toBe(answers.filter((answer) => answer.status === 200).length);
  });

  it('without authentication the one local principal (every caller) has no websocket cap by default: 200 sockets all connect', async () => {
    const sockets = Array.from({ length: 200 }, () => connectSocket(service.client.url));
    try {
      const outcomes = await Promise.all(sockets.map((socket) => socket.outcome));
      expect(outcomes.filter((outcome) => outcome !== 'acknowledged')).toEqual([]);
    } finally {
      await Promise.all(sockets.map((socket) => socket.client.dispose()));
    }
    // Set explicitly, the cap applies without authentication too.
    expect(socketsPerPrincipalCap(loadConfig({ WS_MAX_SOCKETS_PER_PRINCIPAL: '5' }))).toBe(5);
  });

  it('subscriptions over WS_MAX_SUBSCRIPTIONS_PER_SOCKET on one socket are refused naming it', async () => {
    const client = createClient({ url: service.client.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const subscribe = () => {
      const error = deferred<string>('a refusal', 60_000);
      const unsubscribe = client.subscribe({ query: 'subscription { jobEvents { id } }' }, { next: () => undefined, error: (e) => error.resolve(JSON.stringify(e)), complete: () => undefined });
      return { error, unsubscribe };
    };
    const open = [subscribe(), subscribe()];
    const third = subscribe();
    expect(await third.error.promise).toContain('Too many subscriptions: at most 2 per socket (WS_MAX_SUBSCRIPTIONS_PER_SOCKET)');
    open.forEach((subscription) => subscription.unsubscribe());
    await client.dispose();
  });
});

describe('hygiene', () => {
  it('a malformed JSON body is answered without internals or an excerpt of the body', async () => {
    const response = await fetch(service.client.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' }, body: '{"query": "{ jobTypes { jobType } }", SECRET-BODY-TEXT' });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(text).not.toMatch(/SECRET-BODY-TEXT|originalError|stack|SyntaxError/);
    expect(JSON.parse(text).errors[0].message).toBe('POST body sent invalid JSON.');
  });

  it('introspection and GraphiQL are off when configured off', async () => {
    const { body } = await service.client.send('{ __schema { types { name } } }');
    expect(body.errors?.[0]?.message).toMatch(/introspection/i);
    const page = await fetch(service.client.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toMatch(/graphiql/i);
  });
});
