// The dashboard in a real browser against a real service: jobs appear and
// finish live, cancel, retry and bulk actions work from the page, a job's page
// shows its kind's detail and a timeline that grows live. Authentication off
// (loopback), then on: the page asks for a key, says why one is refused, and
// shows the key's tenant only. Screenshots are left in test-results/dashboard/.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { loadConfig } from '../../src/service-config.ts';
import { createRegistry } from '../../src/handlers.ts';
import { CSRF_HEADER } from '../../src/graphql/csrf.ts';
import { DASHBOARD_PATH, DASHBOARD_SECURITY_HEADERS } from '../../src/http/dashboard.ts';
import { NonRetriableError } from '../../src/core/handler.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, TEST_ENV, type TestApp } from '../support/app.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { createdImport, uploadImport } from '../support/imports.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createJob } from '../support/jobs.ts';
import { CreateJobs } from '../support/operations.ts';
import { CreateCollectionJob } from '../support/operations-collections.ts';
import { CancelJobs } from '../support/operations-bulk.ts';
import { ACCOUNT, created, createImport, flexStatement } from '../support/portfolios.ts';

const SCREENSHOTS = 'test-results/dashboard';

let db: TestDatabase;
let api: TestApp;
let browser: TestBrowser;
let page: Page;
let origin: string;
/** Every URL the page asked for: all must be the service's own (offline, no CDN). */
const requested: string[] = [];
/** Console messages about the Content-Security-Policy: there must be none. */
const cspViolations: string[] = [];

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  // The pages under test are those of the current source, not of the last install's build.
  await promisify(execFile)(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'dashboard/vite.config.ts']);
  db = await createTestDatabase();
  // Every built-in job type, and one with steps whose second step fails.
  const registry = createRegistry({ pool: db.pool, config: loadConfig({ ...TEST_ENV, DATABASE_URL: db.url }) }).register({
    jobType: 'report.publish',
    description: 'builds a report, then publishes it',
    payload: z.object({}),
    steps: ['build', 'publish'],
    async handle(_job, ctx) {
      await ctx.step('build', async () => ({ pages: 3 }));
      ctx.log.warn('printer looks warm', { printer: 'lp0', pages: 3 });
      await ctx.step('publish', async () => {
        throw new NonRetriableError('printer on fire');
      });
      return { success: true };
    },
  }).register({
    jobType: 'report.approve',
    description: 'waits for a person to approve it (a durable wait for a signal)',
    payload: z.object({}),
    async handle(_job, ctx) {
      const approval = await ctx.waitForSignal('approve');
      return { success: true, resultData: { approval } };
    },
  });
  api = await startTestApp(db.url, { registry, env: { WORKER_CONCURRENCY: '4' } });
  origin = new URL(api.app.api!.url).origin;
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.on('request', (request) => requested.push(request.url()));
  page.on('console', (message) => /Content[- ]Security[- ]Policy/i.test(message.text()) && cspViolations.push(message.text()));
});

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
const row = (id: string, status?: string) => page.locator(`tr[data-job-id="${uuidOf(id)}"]${status ? `[data-status="${status}"]` : ''}`);
const shot = (name: string) => page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });

describe('the dashboard', () => {
  it('is served by the service, its assets cached, index revalidated', async () => {
    const root = await fetch(`${origin}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe(`${DASHBOARD_PATH}/`);
    const index = await fetch(`${origin}${DASHBOARD_PATH}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    for (const [name, value] of Object.entries(DASHBOARD_SECURITY_HEADERS)) expect(index.headers.get(name)).toBe(value);
    // Another site's page asking for it (a cross-origin fetch) is refused like an API request.
    const foreign = await fetch(`${origin}${DASHBOARD_PATH}/`, { headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    const html = await index.text();
    const asset = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${origin}${asset}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    // A job's page is the app too (the browser asks the server for it on reload).
    expect((await fetch(`${origin}${DASHBOARD_PATH}/jobs/00000000-0000-0000-0000-000000000000`)).status).toBe(200);
    expect((await fetch(`${origin}${DASHBOARD_PATH}/assets/missing.js`)).status).toBe(404);
  });

  it('shows a new job appear, run with progress and finish live, with queue counts and the chart', async () => {
    await page.goto(`${origin}${DASHBOARD_PATH}/`);
    await page.locator('[data-connection="live"]').waitFor();
    await page.getByText('No jobs yet').waitFor();

    // Created through the API, not the page: it must arrive by itself.
    const job = await createJob(api.client, { jobType: 'system.sleep', queueName: 'reports', payload: { ms: 2500, ticks: 25 } });
    await row(job.id, 'RUNNING').waitFor();
    await page.locator(`tr[data-job-id="${uuidOf(job.id)}"] [role="progressbar"]:not([aria-valuenow="0"])`).waitFor();
    await page.locator('tr[data-queue="reports"] td[data-count="RUNNING"]', { hasText: '1' }).waitFor();
    await shot('01-overview-job-running');

    await row(job.id, 'COMPLETED').waitFor();
    expect(await row(job.id).locator('[role="progressbar"]').getAttribute('aria-valuenow')).toBe('100');
    await page.locator('tr[data-queue="reports"] td[data-count="COMPLETED"]', { hasText: '1' }).waitFor();
    await page.locator('[data-tile="COMPLETED"] .tile-count', { hasText: '1' }).waitFor();

    // A failure, for the chart's red bars.
    const failing = await createJob(api.client, { jobType: 'webhook.send', queueName: 'hooks', maxRetries: 0, payload: { url: 'http://127.0.0.1:9/unreachable', timeoutMs: 1000 } });
    await page.locator(`tr[data-job-id="${uuidOf(failing.id)}"]:is([data-status="FAILED"], [data-status="DEAD_LETTER"])`).waitFor();
    await page.locator('[data-total="completed"]', { hasText: '1 completed' }).waitFor();
    await page.locator('[data-total="failed"]', { hasText: '1 failed' }).waitFor();
    await shot('02-overview-finished-and-failed');
  });

  it('cancels a running job and retries a cancelled one from the list', async () => {
    const long = await createJob(api.client, { jobType: 'system.sleep', queueName: 'reports', payload: { ms: 60_000, ticks: 600 } });
    await row(long.id, 'RUNNING').waitFor();
    await row(long.id).locator('[data-action="cancel"]').click();
    await row(long.id, 'CANCELLED').waitFor();
    await page.getByText(/Asked job .* to stop|Cancelled job/).first().waitFor();

    const waiting = await createJob(api.client, { jobType: 'system.noop', queueName: 'reports', scheduledAt: inAnHour() });
    await row(waiting.id, 'SCHEDULED').waitFor();
    await row(waiting.id).locator('[data-action="cancel"]').click();
    await row(waiting.id, 'CANCELLED').waitFor();
    await row(waiting.id).locator('[data-action="retry"]').click();
    // Retried: queued again at once (no schedule any more) and run.
    await row(waiting.id, 'COMPLETED').waitFor();
    await shot('03-cancel-and-retry');
  });

  it('filters the list and bulk-cancels what the filter matches after confirming the count', async () => {
    const batch = [];
    for (let i = 0; i < 3; i++) batch.push(await createJob(api.client, { jobType: 'system.noop', queueName: 'nightly', scheduledAt: inAnHour() }));
    await page.locator('select[name="queue"]').selectOption('nightly');
    await page.locator('[data-total-count="3"]').waitFor();
    await page.locator('[data-filter-status="SCHEDULED"]').click();
    await expect.poll(() => new URL(page.url()).search).toBe('?status=SCHEDULED&queue=nightly');

    await page.locator('[data-bulk="cancel"]').click();
    await page.locator('.bulk-count[data-bulk-count="3"]').waitFor();
    expect(await page.locator('dialog .bulk-count').textContent()).toBe('3 jobs will be cancelled.');
    await shot('04-bulk-cancel-confirm');
    await page.locator('[data-confirm="cancel"]').click();
    await page.getByText('Cancelled 3 jobs').waitFor();

    // The page now shows the cancelled ones (filter by status CANCELLED instead).
    await page.locator('[data-filter-status="SCHEDULED"]').click();
    await page.locator('[data-filter-status="CANCELLED"]').click();
    for (const job of batch) await row(job.id, 'CANCELLED').waitFor();
    await page.locator('[data-bulk="retry"]').click();
    await page.locator('.bulk-count[data-bulk-count="3"]').waitFor();
    await page.locator('[data-confirm="retry"]').click();
    await page.getByText('Retried 3 jobs').waitFor();
    await page.locator('[data-total-count="0"]').waitFor();
    await page.locator('tr[data-queue="nightly"] td[data-count="CANCELLED"]', { hasText: /^0$/ }).waitFor();
    await shot('05-bulk-retry-done');
  });

  it('searches by tag and by metadata from the search box, and keeps the search in the URL', async () => {
    await page.goto(`${origin}${DASHBOARD_PATH}/`);
    const acme = await createJob(api.client, { jobType: 'system.noop', queueName: 'search', scheduledAt: inAnHour(), tags: ['customer:acme'], metadata: { customer: { id: 'acme' } } });
    const zeta = await createJob(api.client, { jobType: 'system.noop', queueName: 'search', scheduledAt: inAnHour(), tags: ['customer:zeta'], metadata: { customer: { id: 'zeta' } } });
    await row(zeta.id).waitFor();
    const searchFor = async (text: string) => {
      await page.locator('input[name="q"]').fill(text);
      await page.locator('form[data-search="jobs"] button').click();
    };
    await searchFor('tag:customer:acme');
    await page.locator('[data-total-count="1"]').waitFor();
    await row(acme.id).waitFor();
    expect(await row(zeta.id).count()).toBe(0);
    expect(new URL(page.url()).searchParams.get('q')).toBe('tag:customer:acme');

    await searchFor('meta.customer.id=zeta');
    await row(zeta.id).waitFor();
    await page.locator('[data-total-count="1"]').waitFor();
    await shot('06a-search-metadata');
    // The URL keeps the search: a reload (or a shared link) shows the same jobs.
    await page.reload();
    await row(zeta.id).waitFor();
    await page.locator('[data-total-count="1"]').waitFor();
    expect(await page.locator('input[name="q"]').inputValue()).toBe('meta.customer.id=zeta');

    await searchFor('meta.customer.id=nobody');
    await page.locator('[data-total-count="0"]').waitFor();
    await page.getByRole('button', { name: /Clear filters/ }).click();
    await expect.poll(() => new URL(page.url()).search).toBe('');
  });

  it('finds a job by id and shows its page with a timeline that grows live', async () => {
    await page.goto(`${origin}${DASHBOARD_PATH}/`);
    const job = await createJob(api.client, { jobType: 'system.sleep', queueName: 'reports', payload: { ms: 3000, ticks: 6 }, metadata: { requestedBy: 'ops' } });
    await page.locator('input[name="jobId"]').fill(uuidOf(job.id));
    await page.locator('form[role="search"] button').click();
    await page.locator(`.job-page[data-job-id="${uuidOf(job.id)}"]`).waitFor();
    await page.locator('[data-event-status="PENDING"]').waitFor();
    await page.locator('.timeline [data-event-status="RUNNING"]').waitFor();
    await shot('06-job-page-running');
    await page.locator('.timeline [data-event-status="COMPLETED"]').waitFor();
    expect(await page.locator('.timeline li').evaluateAll((items) => items.map((item) => item.getAttribute('data-event-status')))).toEqual([
      'PENDING',
      'RUNNING',
      'COMPLETED',
    ]);
    await page.getByText('"requestedBy": "ops"').waitFor();
    await shot('07-job-page-completed');
  });

  it('lists the job types with the workers serving them, flags a type no live worker serves, and shows a job waiting for one', async () => {
    // A type registered by a worker that has since left (src/registry/): its jobs wait with NO_WORKER.
    const leaving = await startTestApp(db.url, {
      roles: { api: false, worker: true },
      registry: new HandlerRegistry().register({ jobType: 'report.archive', description: 'archives a report', payload: z.object({ reportId: z.string() }), handle: async () => ({ success: true }) }),
    });
    await leaving.stop();
    const job = await createJob(api.client, { jobType: 'report.archive', payload: { reportId: 'r-1' } });

    await page.goto(`${origin}${DASHBOARD_PATH}/`);
    await page.getByRole('link', { name: 'Job types' }).click();
    const served = page.locator('tr[data-job-type="system.noop"]');
    await served.waitFor();
    expect(await served.getAttribute('data-live-workers')).toBe('1');
    await served.locator(`li[data-worker="${api.app.worker!.workerId}"][data-live="true"]`).waitFor();
    const orphan = page.locator('tr[data-job-type="report.archive"]');
    await orphan.locator('[data-no-worker]').waitFor();
    expect(await orphan.getAttribute('data-live-workers')).toBe('0');
    await shot('13-job-types');

    await page.goto(`${origin}${DASHBOARD_PATH}/jobs/${uuidOf(job.id)}`);
    await page.locator('.job-page [data-waiting="NO_WORKER"]').waitFor();
    await page.getByText('waiting: no live worker serves this job type in queue default').waitFor();
  });

  it("shows a collection job's symbols and counts", async () => {
    const created = await api.client.request(CreateCollectionJob, {
      input: { symbols: ['AAPL', 'MSFT', 'SPY', 'MISSING'], timeframe: '1d', rangeFrom: '2024-01-01T00:00:00Z', rangeTo: '2024-02-29T00:00:00Z', provider: 'csv-dir' },
    });
    if (created.createCollectionJob.__typename !== 'MutationCreateCollectionJobSuccess') throw new Error(JSON.stringify(created));
    await page.goto(`${origin}${DASHBOARD_PATH}/jobs/${uuidOf(created.createCollectionJob.data.id)}`);
    await page.locator('.timeline [data-event-status="COMPLETED"]').waitFor();
    for (const symbol of ['AAPL', 'MSFT', 'SPY', 'MISSING']) await page.locator(`.symbols [data-symbol="${symbol}"]`).waitFor();
    await page.locator('.symbols li.failed[data-symbol="MISSING"]', { hasText: 'no file MISSING.csv' }).waitFor();
    await page.locator('.fact', { hasText: 'Symbols done' }).getByText('3 / 4').waitFor();
    await shot('08-collection-job-page');
  });

  it('filters the list by kind, job type and creation time', async () => {
    await page.goto(`${origin}${DASHBOARD_PATH}/`);
    await page.locator('select[name="kind"]').selectOption('COLLECTION');
    await page.locator('[data-total-count="1"]').waitFor();
    expect(await page.locator('table[aria-label="Jobs"] tbody tr .job-type').allTextContents()).toEqual(['collection.collect']);
    await page.locator('select[name="kind"]').selectOption('');
    await page.locator('select[name="jobType"]').selectOption('webhook.send');
    // The COLLECTION list also had a total of 1: wait for the list this filter loads, not for the count.
    await page.waitForFunction(() => {
      const types = [...document.querySelectorAll('table[aria-label="Jobs"] tbody tr .job-type')].map((cell) => cell.textContent);
      return types.length > 0 && types.every((type) => type === 'webhook.send');
    });
    await page.locator('[data-total-count="1"]').waitFor();
    expect(await page.locator('table[aria-label="Jobs"] tbody tr .job-type').allTextContents()).toEqual(['webhook.send']);
    // Created after tomorrow: nothing yet.
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 16);
    await page.locator('input[name="createdAfter"]').fill(tomorrow);
    await page.locator('[data-total-count="0"]').waitFor();
    await page.getByText('No jobs match these filters.').waitFor();
    expect(new URL(page.url()).searchParams.get('after')).toBe(tomorrow);
  });

  it('pages through the list, 25 jobs a page', async () => {
    const jobs = Array.from({ length: 30 }, () => ({ jobType: 'system.noop', queueName: 'paging', scheduledAt: inAnHour() }));
    const result = await api.client.request(CreateJobs, { jobs });
    if (result.createJobs.__typename !== 'MutationCreateJobsSuccess') throw new Error(JSON.stringify(result));
    await page.goto(`${origin}${DASHBOARD_PATH}/?queue=paging`);
    await page.getByText('1–25 of 30').waitFor();
    expect(await page.locator('table[aria-label="Jobs"] tbody tr').count()).toBe(25);
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.getByText('26–30 of 30').waitFor();
    expect(await page.locator('table[aria-label="Jobs"] tbody tr').count()).toBe(5);
    await page.getByRole('button', { name: '← Newer' }).click();
    await page.getByText('1–25 of 30').waitFor();
    await api.client.request(CancelJobs, { filter: { queueNames: ['paging'] } });
  });

  it("shows a failed job's steps and error", async () => {
    const job = await createJob(api.client, { jobType: 'report.publish', queueName: 'reports', maxRetries: 0 });
    await page.goto(`${origin}${DASHBOARD_PATH}/jobs/${uuidOf(job.id)}`);
    await page.locator('.timeline [data-event-status="DEAD_LETTER"], .timeline [data-event-status="FAILED"]').first().waitFor();
    await page.locator('.steps [data-step="build"] [data-status="COMPLETED"]').waitFor();
    await page.locator('.steps [data-step="publish"]', { hasText: 'printer on fire' }).waitFor();
    await page.locator('.error-card', { hasText: 'printer on fire' }).waitFor();
    await page.locator('[data-action="retry"]').waitFor();
    await shot('09-job-page-steps-and-error');
  });

  it("shows a job's log lines: level, time, message and fields", async () => {
    const job = await createJob(api.client, { jobType: 'report.publish', queueName: 'reports', maxRetries: 0 });
    await page.goto(`${origin}${DASHBOARD_PATH}/jobs/${uuidOf(job.id)}`);
    const line = page.locator('.logs tr[data-log-sequence="1"]');
    await line.waitFor();
    expect(await line.locator('.log-level').textContent()).toBe('WARN');
    expect(await line.locator('.log-message').textContent()).toBe('printer looks warm');
    expect(JSON.parse((await line.locator('.log-fields').textContent())!)).toEqual({ printer: 'lp0', pages: 3 });
    expect((await line.locator('td[data-label="Time"]').textContent())!.trim()).not.toBe('');
    await shot('09b-job-page-logs');
  });

  it('sends the signal a job waits for from its approval button, and the job resumes', async () => {
    const job = await createJob(api.client, { jobType: 'report.approve', queueName: 'reports' });
    await page.goto(`${origin}${DASHBOARD_PATH}/jobs/${uuidOf(job.id)}`);
    await page.locator('.badge.waiting[data-waiting="SIGNAL"]').waitFor();
    await page.locator('.fact', { hasText: 'Waits for' }).getByText('signal approve (step signal:approve)').waitFor();
    await shot('09b-job-waits-for-approval');
    await page.locator('[data-action="signal"][data-signal="approve"]').click();
    // The job's own COMPLETED, not its wait step's (the timeline lists both).
    await page.locator('.timeline [data-event-status="COMPLETED"]', { hasNotText: 'step ' }).waitFor();
    await page.locator('.timeline', { hasText: 'signal approve received' }).waitFor();
    expect(await page.locator('[data-action="signal"]').count()).toBe(0);
    const { rows } = await db.pool.query(`select result from job where id = $1`, [uuidOf(job.id)]);
    expect(rows[0].result).toEqual({ approval: { outcome: 'RECEIVED', data: { from: 'dashboard' } } });
  });

  it("shows an import's rows and bad rows", async () => {
    const csv = 'question,answer,tags\nWhat is the capital of France?,Paris,geo\n,an answer without a question,\nHow many legs has a spider?,8,nature\n';
    const job = createdImport(await uploadImport(api.client, { name: 'pairs.csv', content: csv, type: 'text/csv' }));
    await page.goto(`${origin}${DASHBOARD_PATH}/jobs/${uuidOf(job.id)}`);
    await page.locator('.timeline [data-event-status="COMPLETED"]').waitFor();
    await page.locator('.fact', { hasText: 'Stored' }).getByText('2', { exact: true }).waitFor();
    await page.locator('.fact', { hasText: 'Bad rows' }).getByText('1', { exact: true }).waitFor();
    await page.locator('table[aria-label="Import errors"] tbody tr').first().waitFor();
    await shot('10-import-job-page');
  });

  it("shows a portfolio import's interval and counts", async () => {
    const interval = { start: '2026-01-10', end: '2026-01-20' };
    const job = created(await createImport(api.client, { portfolioId: randomUUID(), accountId: ACCOUNT, source: 'IBKR', interval }, flexStatement()));
    await page.goto(`${origin}${DASHBOARD_PATH}/jobs/${uuidOf(job.id)}`);
    await page.locator('.timeline [data-event-status="COMPLETED"]').waitFor();
    await page.locator('.fact', { hasText: 'Interval' }).getByText('2026-01-10 → 2026-01-20').waitFor();
    await page.locator('.fact', { hasText: 'Trades' }).getByText('1', { exact: true }).waitFor();
    await page.locator('.fact', { hasText: 'Positions' }).getByText('1', { exact: true }).waitFor();
    await shot('11-portfolio-import-job-page');
  });

  it('sends the saved key over HTTP (with the CSRF header) and in connection_init, kept in sessionStorage', async () => {
    await page.goto(`${origin}${DASHBOARD_PATH}/`);
    const authorized = page.waitForRequest((request) => request.url().endsWith('/graphql') && request.headers().authorization === 'Bearer test-token');
    await page.getByRole('button', { name: 'API key' }).click();
    await page.locator('input[name="token"]').fill('test-token');
    // Saving reloads the page, which opens a new websocket with the key.
    const socket = page.waitForEvent('websocket');
    await page.getByRole('button', { name: 'Save' }).click();
    expect((await authorized).headers()[CSRF_HEADER]).toBe('1');
    const init = await (await socket).waitForEvent('framesent', { predicate: (frame) => String(frame.payload).includes('connection_init') });
    expect(JSON.parse(String(init.payload))).toEqual({ type: 'connection_init', payload: { authorization: 'Bearer test-token' } });
    await page.locator('[data-connection="live"]').waitFor();
    expect(await page.evaluate(() => [sessionStorage.getItem('jobwire.token'), localStorage.getItem('jobwire.token')])).toEqual(['test-token', null]);
    await page.evaluate(() => sessionStorage.removeItem('jobwire.token'));
  });

  it('with authentication on: asks for a key, says why one is refused, then shows that key\'s tenant only', async () => {
    const secured = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' } });
    const securedOrigin = new URL(secured.app.api!.url).origin;
    const { key } = await createApiKey(db.pool, { name: 'dashboard test', tenantId: 'tenant-dash', scopes: ['jobs:read', 'jobs:write'] });
    const job = await createJob(secured.client.as(key), { jobType: 'system.noop', queueName: 'tenant-dash-queue', scheduledAt: inAnHour() });
    // The page itself needs no key: it holds no data.
    expect((await fetch(`${securedOrigin}${DASHBOARD_PATH}/`)).status).toBe(200);

    const tab = await browser.context.newPage();
    tab.on('console', (message) => /Content[- ]Security[- ]Policy/i.test(message.text()) && cspViolations.push(message.text()));
    await tab.goto(`${securedOrigin}${DASHBOARD_PATH}/`);
    await tab.locator('[data-auth-problem="needs-key"]', { hasText: 'needs an API key' }).waitFor();
    await tab.screenshot({ path: `${SCREENSHOTS}/12-auth-needs-key.png`, fullPage: true });

    await tab.locator('input[name="apiKey"]').fill('not-a-key');
    await tab.getByRole('button', { name: 'Use this key' }).click();
    await tab.locator('[data-auth-problem="refused"]', { hasText: 'invalid API key' }).waitFor();
    await tab.screenshot({ path: `${SCREENSHOTS}/13-auth-key-refused.png`, fullPage: true });

    const authorized = tab.waitForRequest((request) => request.url().endsWith('/graphql') && request.headers().authorization === `Bearer ${key}`);
    await tab.locator('input[name="apiKey"]').fill(key);
    await tab.getByRole('button', { name: 'Use this key instead' }).click();
    expect((await authorized).headers()[CSRF_HEADER]).toBe('1');
    await tab.locator('[data-connection="live"]').waitFor();
    await tab.locator(`tr[data-job-id="${uuidOf(job.id)}"][data-status="SCHEDULED"]`).waitFor();
    await tab.locator('[data-total-count="1"]').waitFor();
    // The default tenant's queues (every job created above with authentication off) are not this key's.
    await tab.locator('tr[data-queue="tenant-dash-queue"]').waitFor();
    expect(await tab.locator('tr[data-queue]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-queue')))).toEqual(['tenant-dash-queue']);
    await tab.screenshot({ path: `${SCREENSHOTS}/14-auth-tenant-view.png`, fullPage: true });
    await tab.close();
    await secured.stop();
  });

  it('asked for nothing but the service itself', () => {
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((url) => !url.startsWith(origin) && !url.startsWith(origin.replace('http', 'ws')))).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
