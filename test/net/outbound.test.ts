// webhook.send (and every outbound request) refuses non-public addresses after
// DNS resolution and on every redirect, unless allow-listed; the job FAILS
// naming the rule. Non-loopback private addresses are refused before any
// connection is tried.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createJob } from '../support/jobs.ts';
import { JobUpdated, JobWithHistory } from '../support/operations.ts';

let db: TestDatabase;
const servers: Server[] = [];
/** Requests each local server saw. */
const hits = new Map<string, number>();

async function listen(host: string, handler: (url: string) => { status: number; location?: string }): Promise<string> {
  const server = createServer((request, response) => {
    const key = `${host}${request.url}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
    request.resume();
    request.on('end', () => {
      const { status, location } = handler(request.url!);
      response.writeHead(status, location ? { location } : {}).end('{"private":"answer"}');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

let loopback: string;
let loopbackV6: string;
let localhostUrl: string;
let redirector: string;

beforeAll(async () => {
  db = await createTestDatabase();
  loopback = await listen('127.0.0.1', () => ({ status: 200 }));
  loopbackV6 = await listen('::1', () => ({ status: 200 }));
  localhostUrl = loopback.replace('127.0.0.1', 'localhost');
  // An allow-listed host (127.0.0.2) that redirects to a loopback one that is not.
  redirector = await listen('127.0.0.2', () => ({ status: 302, location: `${loopback}/after-redirect` }));
});
afterAll(async () => {
  await db?.drop();
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
});

async function finish(service: TestApp, url: string, status: 'FAILED' | 'COMPLETED') {
  const job = await createJob(service.client, { jobType: 'webhook.send', maxRetries: 3, payload: { url, headers: { authorization: 'Bearer webhook-secret' } } });
  const updates = service.client.subscribe(JobUpdated, { id: job.id });
  await updates.waitFor(status, (received) => received.some((update) => ['FAILED', 'DEAD_LETTER', 'COMPLETED'].includes(update.jobUpdated.status)));
  updates.close();
  return (await service.client.request(JobWithHistory, { id: job.id })).job!;
}

describe('without an allow-list', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = await startTestApp(db.url, { env: { OUTBOUND_ALLOW_LIST: '127.0.0.2' } });
  });
  afterAll(() => service?.stop());

  const cases: Array<[string, () => string, RegExp]> = [
    ['127.0.0.1', () => `${loopback}/hook`, /refused to connect to 127\.0\.0\.1: loopback addresses are not reachable from jobs \(allow them with OUTBOUND_ALLOW_LIST\)/],
    ['[::1]', () => `${loopbackV6}/hook`, /refused to connect to ::1: loopback addresses/],
    ['10.0.0.1', () => 'http://10.0.0.1/hook', /refused to connect to 10\.0\.0\.1: private addresses/],
    ['169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/', /refused to connect to 169\.254\.169\.254: cloud metadata addresses/],
    ['localhost (resolves to loopback)', () => `${localhostUrl}/hook`, /refused to connect to localhost \((127\.0\.0\.1|::1)\): loopback addresses/],
    ['a redirect from an allow-listed host to a loopback one', () => `${redirector}/start`, /refused to connect to 127\.0\.0\.1: loopback addresses/],
  ];
  for (const [name, url, rule] of cases) {
    it(`${name}: FAILED at once, naming the rule; the private answer is never stored`, async () => {
      const job = await finish(service, url(), 'FAILED');
      expect(job.status).toBe('FAILED');
      expect(job.retryCount).toBe(0);
      expect(job.errorMessage).toMatch(rule);
      expect(job.errorMessage).not.toContain('webhook-secret');
      expect(job.result).toBeNull();
    });
  }

  it('no refused address was connected to (the loopback servers saw no request but the allowed redirector)', () => {
    expect([...hits.keys()].filter((key) => !key.startsWith('127.0.0.2'))).toEqual([]);
    expect(hits.get('127.0.0.2/start')).toBe(1);
  });
});

describe('with the addresses allow-listed', () => {
  let service: TestApp;
  beforeAll(async () => {
    service = await startTestApp(db.url, { env: { OUTBOUND_ALLOW_LIST: '127.0.0.0/8,::1' } });
  });
  afterAll(() => service?.stop());

  for (const [name, url] of [
    ['127.0.0.1', () => `${loopback}/allowed`],
    ['[::1]', () => `${loopbackV6}/allowed`],
    ['localhost', () => `${localhostUrl}/allowed`],
    ['the redirect to loopback', () => `${redirector}/start`],
  ] as const) {
    it(`${name}: the same job COMPLETES`, async () => {
      const job = await finish(service, url(), 'COMPLETED');
      expect(job.status).toBe('COMPLETED');
      expect(job.result).toMatchObject({ status: 200 });
    });
  }
});
