// The dashboard on a phone: at 390 pixels wide no page scrolls sideways
// (tables become lists), in Debian's Chromium. Screenshots of each page at 390
// and 1440 pixels are left in test-results/dashboard-phone/.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { DASHBOARD_PATH } from '../../src/http/dashboard.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { createJob } from '../support/jobs.ts';

const SCREENSHOTS = 'test-results/dashboard-phone';
let api: TestApp;
let browser: TestBrowser;
let origin: string;
let jobId: string;

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  // The pages of the current source, not of the last install's build.
  await promisify(execFile)(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'dashboard/vite.config.ts']);
  const db = await createTestDatabase();
  api = await startTestApp(db.url);
  origin = new URL(api.app.api!.url).origin;
  browser = await launchBrowser();
  // Jobs with long names, tags, metadata and an error: the widest rows the pages show.
  const job = await createJob(api.client, {
    jobType: 'webhook.send',
    queueName: 'a-rather-long-queue-name-for-a-phone-screen',
    maxRetries: 0,
    tags: ['customer:a-long-customer-identifier-0123456789'],
    metadata: { requestedBy: 'someone-with-a-long-name@example.com' },
    payload: { url: 'http://127.0.0.1:9/unreachable-endpoint-with-a-long-path', timeoutMs: 1000 },
  });
  jobId = uuidOf(job.id);
  await createJob(api.client, { jobType: 'system.noop', queueName: 'default', tags: ['nightly'] });
});

const PAGES = [
  { name: 'overview', path: () => '/', ready: '[data-total-count]', live: true },
  { name: 'job', path: () => `/jobs/${jobId}`, ready: '.job-page', live: true },
  // No subscription on this page: its socket is never opened.
  { name: 'types', path: () => '/types', ready: 'table[aria-label="Job types"]', live: false },
];

for (const page of PAGES) {
  it(`${page.name}: no sideways overflow at 390 pixels; screenshots at 390 and 1440`, async () => {
    const tab = await browser.context.newPage();
    for (const width of [1440, 390]) {
      await tab.setViewportSize({ width, height: 844 });
      await tab.goto(`${origin}${DASHBOARD_PATH}${page.path()}`);
      await tab.locator(page.ready).first().waitFor();
      if (page.live) await tab.locator('[data-connection="live"]').waitFor();
      await tab.screenshot({ path: `${SCREENSHOTS}/${page.name}-${width}.png`, fullPage: true });
    }
    expect(await tab.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await tab.close();
  });
}
