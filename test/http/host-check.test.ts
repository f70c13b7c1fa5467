// DNS rebinding with authentication off: a page on a name the attacker points
// at 127.0.0.1 is same-origin with the API to the browser, so only loopback
// names (and AUTH_DISABLED_ALLOWED_HOSTS) are answered in Host, over HTTP, at
// the websocket upgrade and on the metrics port.
import { request } from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/service-config.ts';
import { hostPolicy, hostRefusal } from '../../src/net/host-check.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

let db: TestDatabase;
let service: TestApp;
/** The same database, with a name allowed besides loopback ones. */
let allowing: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, { env: { METRICS_PORT: '0' } });
  allowing = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { AUTH_DISABLED_ALLOWED_HOSTS: 'jobs.lan, 192.168.1.5' } });
});
afterAll(async () => {
  await allowing?.stop();
  await service?.stop();
  await db?.drop();
});

async function jobCount(): Promise<number> {
  return Number((await db.pool.query('select count(*) from job')).rows[0].count);
}

/** An HTTP request to `url` with this Host header (fetch cannot set one). */
function send(url: string, host: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const target = new URL(url);
    const body = options.body ?? '';
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method ?? 'GET',
        headers: { host, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}), ...options.headers },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8').on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/** The HTTP status of a websocket upgrade with this Host (101: opened). */
function upgrade(url: string, host: string) {
  return new Promise<{ status: number; body: string }>((resolve) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { headers: { host }, origin: `http://${host}` });
    socket.on('open', () => {
      socket.close();
      resolve({ status: 101, body: '' });
    });
    socket.on('unexpected-response', (_request, response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
    });
  });
}

const CREATE = JSON.stringify({ query: 'mutation { createJob(input: { jobType: "webhook.send", payload: { url: "https://example.com/hook" } }) { __typename } }' });
const LIST = JSON.stringify({ query: '{ jobs { totalCount } }' });
const REFUSAL = /^Host "attacker\.example:4000" is not answered: with authentication off \(AUTH_ENABLED=false\) only loopback host names \(localhost, 127\.0\.0\.1, \[::1\]\) are, against DNS rebinding; add the name to AUTH_DISABLED_ALLOWED_HOSTS to allow it$/;

describe('authentication off: a rebound Host', () => {
  it('is refused with 403 naming the rule: a create and a list, with the rebound Origin; nothing changes', async () => {
    const before = await jobCount();
    const origin = { origin: 'http://attacker.example:4000' };
    for (const body of [CREATE, LIST]) {
      const answer = await send(service.client.url, 'attacker.example:4000', { method: 'POST', body, headers: origin });
      expect(answer.status).toBe(403);
      const error = JSON.parse(answer.body).errors[0];
      expect(error.message).toMatch(REFUSAL);
      expect(error.extensions.code).toBe('HOST_NOT_ALLOWED');
    }
    expect((await send(service.client.url, 'attacker.example:4000')).status).toBe(403);
    expect(await jobCount()).toBe(before);
  });

  it('is refused at the websocket upgrade', async () => {
    const answer = await upgrade(service.client.url, 'attacker.example:4000');
    expect(answer.status).toBe(403);
    expect(answer.body).toMatch(REFUSAL);
  });

  it('is refused on the metrics port; the dashboard too', async () => {
    const metrics = await send(service.app.metricsServer!.url, 'attacker.example:4000');
    expect(metrics.status).toBe(403);
    expect(metrics.body.trim()).toMatch(REFUSAL);
    expect((await send(service.client.url.replace('/graphql', '/dashboard'), 'attacker.example:4000')).status).toBe(403);
  });

  it('a request without a Host is refused too', async () => {
    // HTTP/1.0 may omit Host; Node answers 400 itself to an HTTP/1.1 request without one.
    const { connect } = await import('node:net');
    const url = new URL(service.client.url);
    const raw = await new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.end('GET /graphql HTTP/1.0\r\n\r\n'));
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk) => (text += chunk));
      socket.on('end', () => resolve(text));
    });
    expect(raw).toMatch(/^HTTP\/1\.[01] 403/);
    expect(raw).toMatch(/no Host header is not answered/);
  });

  it('health probes answer whatever the Host (they hold no data)', async () => {
    expect((await send(service.client.url.replace('/graphql', '/health/live'), 'pod-10-1-2-3:4000')).status).toBe(200);
    expect((await send(service.app.metricsServer!.url.replace('/metrics', '/health/live'), 'pod-10-1-2-3:9000')).status).toBe(200);
  });
});

describe('authentication off: loopback names', () => {
  for (const host of ['localhost', 'localhost:4000', '127.0.0.1:4000', '127.9.8.7', '[::1]:4000', 'app.localhost:4000', 'LOCALHOST:4000']) {
    it(`${host} is answered, over HTTP and at the upgrade`, async () => {
      const answer = await send(service.client.url, host, { method: 'POST', body: LIST });
      expect(answer.status, answer.body).toBe(200);
      expect(JSON.parse(answer.body).data.jobs.totalCount).toBeGreaterThanOrEqual(0);
      expect((await upgrade(service.client.url, host)).status).toBe(101);
    });
  }

  it('AUTH_DISABLED_ALLOWED_HOSTS adds names; others stay refused', async () => {
    for (const host of ['jobs.lan:4000', 'JOBS.LAN', '192.168.1.5:4000']) {
      expect((await send(allowing.client.url, host, { method: 'POST', body: LIST })).status, host).toBe(200);
      expect((await upgrade(allowing.client.url, host)).status, host).toBe(101);
    }
    for (const host of ['attacker.example', 'jobs.lan.attacker.example', '192.168.1.6']) {
      expect((await send(allowing.client.url, host, { method: 'POST', body: LIST })).status, host).toBe(403);
    }
  });
});

describe('the setting', () => {
  it('AUTH_DISABLED_ALLOWED_HOSTS refuses an entry with a port or a scheme, naming it', () => {
    for (const entry of ['jobs.lan:4000', 'http://jobs.lan', 'jobs.lan/x']) {
      expect(() => loadConfig({ AUTH_DISABLED_ALLOWED_HOSTS: entry })).toThrow(ConfigError);
      expect(() => loadConfig({ AUTH_DISABLED_ALLOWED_HOSTS: entry })).toThrow(`AUTH_DISABLED_ALLOWED_HOSTS: "${entry}" is not a host name or address without a port`);
    }
    expect(loadConfig({ AUTH_DISABLED_ALLOWED_HOSTS: 'Jobs.LAN, fe80::1, 2001:db8:0:0:0:0:0:1, [fd00::2], 10.0.0.1' }).AUTH_DISABLED_ALLOWED_HOSTS).toEqual([
      'jobs.lan',
      '[fe80::1]',
      '[2001:db8::1]',
      '[fd00::2]',
      '10.0.0.1',
    ]);
  });

  it('with authentication on, any Host is answered (a rebound page has no token to send)', () => {
    const policy = hostPolicy(loadConfig({ AUTH_ENABLED: 'true' }));
    expect(policy).toBeNull();
    expect(hostRefusal('attacker.example:4000', policy)).toBeNull();
  });
});
