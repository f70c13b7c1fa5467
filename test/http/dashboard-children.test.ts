// A job's page shows its child jobs as a live tree (components/child-jobs.tsx),
// in a real browser against a real service: children with their badges, a
// grandchild nested, a child signalled to finish turning Completed, and new
// children (and a great-grandchild) appearing, all without a reload. Then the
// API under it: Job.childJobs and jobEvents' parentJobIds show the caller's
// tenant's children only. Screenshots are left in test-results/dashboard/.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { DASHBOARD_PATH } from '../../src/http/dashboard.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { createJob } from '../support/jobs.ts';
import { CancelJob } from '../support/operations.ts';
import { SignalJob } from '../support/operations-waits.ts';
import { ChildJobEvents, JobChildren } from '../support/operations-children.ts';
import { createTestRegistry } from '../support/test-handlers.ts';

const SCREENSHOTS = 'test-results/dashboard';

let db: TestDatabase;
let api: TestApp;
let browser: TestBrowser;
let page: Page;
let origin: string;

beforeAll(async () => {
  await mkdir(SCREENSHOTS, { recursive: true });
  // The pages under test are those of the current source, not of the last install's build.
  await promisify(execFile)(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'dashboard/vite.config.ts']);
  db = await createTestDatabase();
  api = await startTestApp(db.url, { registry: createTestRegistry(), env: { WORKER_CONCURRENCY: '4' } });
  origin = new URL(api.app.api!.url).origin;
  browser = await launchBrowser();
  page = await browser.context.newPage();
});

/** A job's UUID from its global ID (the API's answers) or the UUID itself (the database's rows). */
const uuid = (id: string) => (/^[0-9a-f-]{36}$/.test(id) ? id : uuidOf(id));
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
const childrenOf = async (parentId: string) =>
  (await db.pool.query<{ id: string; job_type: string }>('select id, job_type from job where parent_job_id = $1 order by created_at, id', [uuid(parentId)])).rows;
const node = (id: string) => page.locator(`li.child[data-child-id="${uuid(id)}"]`);
const badgeOf = (id: string, status: string) => node(id).locator(`:scope > .child-row .badge[data-status="${status}"]`);
const signal = async (id: string, name: string) => {
  const result = await api.client.request(SignalJob, { input: { id, name } });
  expect(result.signalJob.__typename).toBe('MutationSignalJobSuccess');
};

describe("the job page's tree of children", () => {
  it('shows the children and a nested grandchild, and follows them live without a reload', async () => {
    // A parent with two children: one waits for a signal, one is a parent itself whose child waits for a signal.
    const parent = await createJob(api.client, {
      jobType: 'test.workflow_parent',
      payload: {
        spawn: [
          { jobType: 'test.wait_for_signal', payload: { signal: 'go' } },
          { jobType: 'test.workflow_parent', payload: { spawn: [{ jobType: 'test.wait_for_signal', payload: { signal: 'go' } }] } },
        ],
      },
    });
    await page.goto(`${origin}${DASHBOARD_PATH}/jobs/${uuidOf(parent.id)}`);
    await page.locator('[data-connection="live"]').waitFor();
    // Set once: a reload would lose it.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    await page.locator('.children .card-header .count', { hasText: '2' }).waitFor();
    const [waiter, middle] = await childrenOf(parent.id);
    expect([waiter!.job_type, middle!.job_type]).toEqual(['test.wait_for_signal', 'test.workflow_parent']);
    await node(middle!.id).locator('li.child[data-depth="2"]').first().waitFor();
    const [grandchild] = await childrenOf(middle!.id);
    // Each with its badges and a link to its page; the grandchild nested under its parent.
    await node(waiter!.id).locator(':scope > .child-row [data-waiting="SIGNAL"]').waitFor();
    await node(middle!.id).locator(':scope > .child-row [data-waiting="CHILDREN"]').waitFor();
    await node(middle!.id).locator(`li.child[data-child-id="${grandchild!.id}"] [data-waiting="SIGNAL"]`).waitFor();
    expect(await node(waiter!.id).locator(':scope > .child-row a').getAttribute('href')).toBe(`${DASHBOARD_PATH}/jobs/${waiter!.id}`);
    expect(await page.locator('.children li.child[data-depth="1"]').count()).toBe(2);
    await page.screenshot({ path: `${SCREENSHOTS}/20-children-tree.png`, fullPage: true });

    // A child signalled through the API turns Completed on the page.
    await signal(waiter!.id, 'go');
    await badgeOf(waiter!.id, 'COMPLETED').waitFor();

    // A new child of the page's job, and a first child of the grandchild (three levels down), appear.
    const late = await createJob(api.client, { jobType: 'test.wait_for_signal', payload: { signal: 'later' }, parentJobId: parent.id, scheduledAt: inAnHour() });
    await badgeOf(late.id, 'SCHEDULED').waitFor();
    await page.locator('.children .card-header .count', { hasText: '3' }).waitFor();
    const deepest = await createJob(api.client, { jobType: 'test.wait_for_signal', payload: { signal: 'later' }, parentJobId: grandchild!.id, scheduledAt: inAnHour() });
    await node(grandchild!.id).locator(`li.child[data-depth="3"][data-child-id="${uuidOf(deepest.id)}"]`).waitFor();

    // The grandchild finishes, so its parent does, so the page's job does (it waits for its first two children).
    await signal(grandchild!.id, 'go');
    await badgeOf(grandchild!.id, 'COMPLETED').waitFor();
    await badgeOf(middle!.id, 'COMPLETED').waitFor();
    await page.locator('.job-header .badge[data-status="COMPLETED"]').waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}/21-children-tree-live.png`, fullPage: true });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);

    // A link opens the child's page, which shows its own child.
    await node(middle!.id).locator(':scope > .child-row a').click();
    await page.locator(`.job-page[data-job-id="${middle!.id}"] .children li.child[data-child-id="${grandchild!.id}"]`).waitFor();
  });

  it('shows no Children card for a job without children, until a first child comes', async () => {
    const lone = await createJob(api.client, { jobType: 'test.wait_for_signal', payload: { signal: 'never' }, scheduledAt: inAnHour() });
    await page.goto(`${origin}${DASHBOARD_PATH}/jobs/${uuidOf(lone.id)}`);
    await page.locator(`.job-page[data-job-id="${uuidOf(lone.id)}"] .history`).waitFor();
    await page.locator('.history li[data-event-status="SCHEDULED"]').waitFor();
    expect(await page.locator('.children').count()).toBe(0);
    const first = await createJob(api.client, { jobType: 'test.wait_for_signal', payload: { signal: 'never' }, parentJobId: lone.id, scheduledAt: inAnHour() });
    await page.locator('.children .card-header .count', { hasText: '1' }).waitFor();
    await badgeOf(first.id, 'SCHEDULED').waitFor();
  });
});

describe('the API under it', () => {
  it("lists and follows the caller's tenant's children only", async () => {
    const secured = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' } });
    const { key } = await createApiKey(db.pool, { name: 'tree test', tenantId: 'tenant-tree', scopes: ['jobs:read', 'jobs:write'] });
    const tenant = secured.client.as(key);
    const parent = await createJob(tenant, { jobType: 'test.wait_for_signal', payload: { signal: 'x' }, scheduledAt: inAnHour() });
    const mine = await createJob(tenant, { jobType: 'test.wait_for_signal', payload: { signal: 'x' }, parentJobId: parent.id, scheduledAt: inAnHour() });
    const theirs = await createJob(tenant, { jobType: 'test.wait_for_signal', payload: { signal: 'x' }, parentJobId: parent.id, scheduledAt: inAnHour() });
    // The API never makes another tenant's child (a parent must be the caller's); the row is moved to show it would not show.
    await db.pool.query(`update job set tenant_id = 'tenant-other' where id = $1`, [uuidOf(theirs.id)]);

    const seen = (await tenant.request(JobChildren, { id: parent.id, first: 10 })).job!.childJobs;
    expect(seen.totalCount).toBe(1);
    expect(seen.edges.map((edge) => edge.node.id)).toEqual([mine.id]);
    // Every tenant's, for an admin (authentication off, loopback).
    expect((await api.client.request(JobChildren, { id: parent.id, first: 10 })).job!.childJobs.totalCount).toBe(2);

    const tenantEvents = tenant.subscribe(ChildJobEvents, { filter: { parentJobIds: [uuidOf(parent.id)] } });
    const adminEvents = api.client.subscribe(ChildJobEvents, { filter: { parentJobIds: [parent.id] } });
    const unrelated = await createJob(api.client, { jobType: 'test.wait_for_signal', payload: { signal: 'x' }, scheduledAt: inAnHour() });
    // Cancelled in this order: the tenant's event of its own child comes after the other tenant's would have.
    for (const job of [unrelated, theirs, mine]) expect((await api.client.request(CancelJob, { id: job.id })).cancelJob.__typename).toBe('MutationCancelJobSuccess');
    await adminEvents.waitFor('both children cancelled', (all) => all.filter((e) => e.jobEvents.status === 'CANCELLED').length === 2);
    await tenantEvents.waitFor('its child cancelled', (all) => all.some((e) => e.jobEvents.status === 'CANCELLED'));
    expect(adminEvents.received.map((e) => e.jobEvents.job.id)).toEqual([theirs.id, mine.id]);
    expect(tenantEvents.received.map((e) => e.jobEvents.job.id)).toEqual([mine.id]);

    // A bad id is named.
    const bad = api.client.subscribe(ChildJobEvents, { filter: { parentJobIds: ['nope'] } });
    await expect(bad.waitFor('an error', () => false, 5_000)).rejects.toThrow(/filter\.parentJobIds\.0.*not a job id/);
    await secured.stop();
  });
});
