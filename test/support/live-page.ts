// The end-user page test of the hooks (clients/react), shared by its React and
// Preact pages: a tiny page built with vite from test/fixtures/<page>, served
// from its own origin, run in Debian's Chromium against the service with an
// end user's viewer token. It shows the job's progress, events and output
// stream live, and survives its socket being cut (the hooks reconnect and
// resume after the last chunk they have). Call it at a test file's top level.
import { createServer, type Server } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'vite';
import { z } from 'zod';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import type { JobHandler } from '../../src/core/handler.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';
import { startTestApp, type TestApp } from './app.ts';
import { launchBrowser } from './browser.ts';
import { deferred } from './wait.ts';

const CHUNKS = 60;

/** `page`: the fixture folder (test/fixtures/<page>); the token comes from createJob's `viewerToken` or createViewerToken. */
export function livePageTest(page: string, options: { tokenFrom: 'createJob' | 'createViewerToken'; withoutReact?: boolean }): void {
  const root = path.resolve('test/fixtures', page);
  const outDir = path.resolve('test-results', page);

  /** Opened by the test once the page has shown the first half: the job waits for it, so the page sees it RUNNING. */
  const halfway = deferred<void>('the test to let the job go on', 120_000);

  /** Writes CHUNKS chunks "w1 ", "w2 ", ... with progress; after the first half, waits for `halfway`. */
  const liveHandler: JobHandler<Record<string, never>> = {
    jobType: 'test.live_page',
    description: 'Reports progress and writes chunks to the stream "out", halting halfway until the test says.',
    payload: z.object({}).strict() as never,
    async handle(_job, ctx) {
      const out = ctx.stream('out');
      for (let n = 1; n <= CHUNKS; n++) {
        if (n === CHUNKS / 2 + 1) await halfway.promise;
        await out.write(`w${n} `);
        ctx.progress({ percent: (n * 100) / CHUNKS, message: `chunk ${n}` });
      }
      return { success: true };
    },
  };

  let db: TestDatabase;
  let service: TestApp;
  let pages: Server;
  let pageOrigin = '';

  beforeAll(async () => {
    await build({ root, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
    pages = createServer(async (request, response) => {
      const file = new URL(request.url ?? '/', 'http://x').pathname;
      try {
        const body = await readFile(path.join(outDir, file === '/' ? 'index.html' : path.normalize(file).replace(/^(\.\.[/\\])+/, '')));
        response.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' }).end(body);
      } catch {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://127.0.0.1:${(pages.address() as { port: number }).port}`;
    db = await createTestDatabase();
    service = await startTestApp(db.url, {
      env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0', CORS_ALLOWED_ORIGINS: pageOrigin },
      registry: new HandlerRegistry().register(liveHandler),
    });
  }, 180_000);

  afterAll(async () => {
    halfway.resolve();
    await service?.stop();
    await db?.drop();
    await new Promise((resolve) => pages?.close(resolve));
  });

  if (options.withoutReact) {
    it(`the ${page} bundle holds no React (the hooks run on the page's own framework)`, async () => {
      const assets = path.join(outDir, 'assets');
      const scripts = (await readdir(assets)).filter((file) => file.endsWith('.js'));
      expect(scripts.length).toBeGreaterThan(0);
      for (const file of scripts) expect(await readFile(path.join(assets, file), 'utf8')).not.toMatch(/react\.transitional\.element|__CLIENT_INTERNALS_DO_NOT_USE/);
    });
  }

  it(`a page built with the hooks (${page}) shows a job's progress, events and stream live, with a viewer token, across a cut socket`, async () => {
    const key = (await createApiKey(db.pool, { name: 'app', tenantId: 'acme', scopes: ['jobs:read', 'jobs:write'] })).key;
    const app = service.client.as(key);
    let jobId: string;
    let token: string;
    if (options.tokenFrom === 'createJob') {
      // The job and its viewer token in one round trip.
      const created = await app.send(
        'mutation { createJob(input: { jobType: "test.live_page" }, viewerToken: { expiresInSeconds: 600 }) { ... on MutationCreateJobSuccess { data { id } viewerToken { token } } } }',
      );
      jobId = (created.body.data as any).createJob.data.id;
      token = (created.body.data as any).createJob.viewerToken.token;
    } else {
      const created = await app.send('mutation { createJob(input: { jobType: "test.live_page" }) { ... on MutationCreateJobSuccess { data { id } } } }');
      jobId = (created.body.data as any).createJob.data.id;
      const minted = await app.send('mutation($id: ID!) { createViewerToken(input: { jobIds: [$id] }) { ... on MutationCreateViewerTokenSuccess { data { token } } } }', { id: jobId });
      token = (minted.body.data as any).createViewerToken.data.token;
    }

    const browser = await launchBrowser();
    const tab = await browser.context.newPage();
    const ws = service.client.url.replace(/^http/, 'ws');
    await tab.goto(`${pageOrigin}/?${new URLSearchParams({ ws, token, job: jobId })}`);
    // Live: the first half shown while the job runs (it waits for the test halfway).
    await tab.waitForFunction((half) => (document.querySelector('[data-testid=sequences]')?.textContent ?? '').split(',').length === half, CHUNKS / 2, { timeout: 60_000 });
    await tab.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent === 'RUNNING', null, { timeout: 30_000 });
    expect(await tab.getAttribute('[data-testid=progress]', 'value')).toBe('50');
    // Cut the page's socket abruptly (graphql-ws terminate: it reconnects, the hooks resume after what they have), and let the job go on.
    await tab.evaluate(() => (window as unknown as { jobwireCut(): void }).jobwireCut());
    halfway.resolve();
    await tab.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent === 'COMPLETED', null, { timeout: 60_000 });
    await tab.waitForFunction((count) => (document.querySelector('[data-testid=sequences]')?.textContent ?? '').split(',').length >= count, CHUNKS, { timeout: 30_000 });
    expect(await tab.textContent('[data-testid=stream]')).toBe(Array.from({ length: CHUNKS }, (_, index) => `w${index + 1} `).join(''));
    expect(await tab.textContent('[data-testid=sequences]')).toBe(Array.from({ length: CHUNKS }, (_, index) => index + 1).join(','));
    expect(await tab.getAttribute('[data-testid=progress]', 'value')).toBe('100');
    await tab.waitForFunction(() => (document.querySelector('[data-testid=events]')?.textContent ?? '').endsWith('COMPLETED'), null, { timeout: 30_000 });
    expect(await tab.textContent('[data-testid=events]')).toBe('PENDING RUNNING COMPLETED');
    expect(await tab.textContent('[data-testid=error]')).toBe('');
    await tab.screenshot({ path: `test-results/${page}.png` });
    await browser.close();
  }, 180_000);
}
