// GraphiQL at /graphql: a small page opening on example tabs, its assets
// served as separate, compressed, cached files; checked in a real browser,
// where it sends the CSRF prevention header. Off with GRAPHIQL_ENABLED=false.
import { spawn } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let service: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, { roles: { api: true, worker: false } });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

const page = async () => {
  const response = await fetch(service.app.api!.url, { headers: { accept: 'text/html' } });
  expect(response.status).toBe(200);
  return response.text();
};

it('the page is small, titled for jobwire, and opens on tabs that create a job, list jobs and watch jobEvents', async () => {
  const html = await page();
  expect(html.length).toBeLessThan(10_000);
  expect(html).toContain('<title>jobwire GraphiQL</title>');
  expect(html).toContain('Welcome to jobwire');
  expect(html).not.toContain('in-browser tool');
  expect(html).toContain('mutation CreateJob');
  expect(html).toContain('query ListJobs');
  expect(html).toContain('subscription WatchJobEvents');
});

it('no other site may frame the page or the API (CSP frame-ancestors and X-Frame-Options)', async () => {
  const origin = new URL(service.app.api!.url).origin;
  const answers = [
    await fetch(service.app.api!.url, { headers: { accept: 'text/html' } }),
    await fetch(service.app.api!.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }),
    await fetch(`${origin}${/src="([^"]+\.js)"/.exec(await page())![1]}`),
  ];
  for (const response of answers) {
    expect(response.headers.get('content-security-policy'), response.url).toBe("frame-ancestors 'none'");
    expect(response.headers.get('x-frame-options'), response.url).toBe('DENY');
    await response.arrayBuffer();
  }
});

it('its assets are separate files, compressed, cached for good, and weigh under 3 MB over the wire', async () => {
  const html = await page();
  const origin = new URL(service.app.api!.url).origin;
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"|"(\/graphql\/graphiql\/[^"]+)"/g)].map((match) => match[1] ?? match[2]!);
  expect(urls.length).toBe(6); // favicon, css, js and three editor workers
  let wireBytes = html.length;
  for (const url of urls) {
    const response = await fetch(`${origin}${url}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status, url).toBe(200);
    expect(response.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable');
    if (!url.endsWith('.ico')) expect(response.headers.get('content-encoding'), url).toBe('gzip');
    wireBytes += Number(response.headers.get('content-length'));
    await response.arrayBuffer();
  }
  expect(wireBytes).toBeLessThan(3 * 1024 * 1024);
  expect((await fetch(`${origin}/graphql/graphiql/0.0.0/graphiql.js`)).status).toBe(404);
});

it('renders in a real browser (Debian chromium) with the example tabs, offline, and its requests carry the CSRF header', async () => {
  const posts: IncomingHttpHeaders[] = [];
  const record = (request: { method?: string; url?: string; headers: IncomingHttpHeaders }) => {
    if (request.method === 'POST' && request.url?.startsWith('/graphql')) posts.push(request.headers);
  };
  service.app.api!.server.on('request', record);
  // --dump-dom prints the DOM once the page has settled (virtual time lets its scripts run to rest).
  const chromium = spawn(
    'chromium',
    ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--virtual-time-budget=20000', '--dump-dom', service.app.api!.url],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let dom = '';
  chromium.stdout.on('data', (chunk) => (dom += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    chromium.once('error', reject);
    chromium.once('close', resolve);
  });
  expect(code).toBe(0);
  const tabs = [...dom.matchAll(/class="graphiql-un-styled graphiql-tab-button">([^<]+)</g)].map((match) => match[1]);
  expect(tabs).toEqual(['CreateJob', 'ListJobs', 'WatchJobEvents']);
  expect(dom).toContain('Welcome to jobwire');
  service.app.api!.server.off('request', record);
  // Its schema introspection, at least, went out as a POST with the header.
  expect(posts.length).toBeGreaterThan(0);
  expect(posts.every((headers) => headers['x-graphql-yoga-csrf'] === '1')).toBe(true);
});

it('with GRAPHIQL_ENABLED=false there is neither the page nor its assets', async () => {
  const html = await page();
  const asset = /src="([^"]+graphiql\.js)"/.exec(html)![1]!;
  const off = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { GRAPHIQL_ENABLED: 'false' } });
  try {
    const response = await fetch(off.app.api!.url, { headers: { accept: 'text/html' } });
    expect(await response.text()).not.toContain('GraphiQL');
    expect((await fetch(`${new URL(off.app.api!.url).origin}${asset}`)).status).toBe(404);
  } finally {
    await off.stop();
  }
});
