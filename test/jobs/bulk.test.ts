// Bulk cancel and retry over a filter: bounded, counted beforehand, recorded in each job's history.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createJob } from '../support/jobs.ts';
import { JobsPage, JobWithHistory } from '../support/operations.ts';
import { BulkJobCount, CancelJobs, RetryJobs } from '../support/operations-bulk.ts';
import { ACCOUNT, created, createImport, flexStatement } from '../support/portfolios.ts';
import { serveJobTypes } from '../support/registry.ts';
import { noopHandler } from '../../src/system/handlers.ts';
import { HandlerRegistry } from '../../src/worker/registry.ts';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  // No worker: queued jobs stay queued, so what the bulk actions do is all there is to see.
  api = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { BULK_JOBS_MAX: '5' } });
  // ...but system.noop counts as served, so its jobs do not wait with NO_WORKER (src/registry/).
  await serveJobTypes(db.pool, new HandlerRegistry().register(noopHandler));
});

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

async function scheduledJobs(queueName: string, count: number) {
  const jobs = [];
  for (let i = 0; i < count; i++) jobs.push(await createJob(api.client, { jobType: 'system.noop', queueName, scheduledAt: inAnHour() }));
  return jobs;
}

async function history(id: string) {
  const { job } = await api.client.request(JobWithHistory, { id });
  return { status: job!.status, events: job!.events.edges.map((e) => [e.node.status, e.node.message]) };
}

describe('cancelJobs and retryJobs', () => {
  it('count the jobs first, act on the oldest up to the limit, and record each change in its history', async () => {
    const jobs = await scheduledJobs('bulk-a', 3);
    await createJob(api.client, { jobType: 'system.noop', queueName: 'bulk-other', scheduledAt: inAnHour() });
    const filter = { queueNames: ['bulk-a'] };

    expect(await api.client.request(BulkJobCount, { action: 'CANCEL', filter })).toEqual({
      bulkJobCount: { __typename: 'QueryBulkJobCountSuccess', data: { count: 3, moreThanMax: false, max: 5 } },
    });
    // Nothing is retriable yet.
    const retriable = await api.client.request(BulkJobCount, { action: 'RETRY', filter });
    expect(retriable.bulkJobCount).toMatchObject({ data: { count: 0 } });

    const first = await api.client.request(CancelJobs, { filter, limit: 2 });
    expect(first.cancelJobs).toEqual({
      __typename: 'MutationCancelJobsSuccess',
      data: { affectedCount: 2, affectedJobIds: jobs.slice(0, 2).map((j) => uuidOf(j.id)), moreMatching: true, skipped: [] },
    });
    const rest = await api.client.request(CancelJobs, { filter });
    expect(rest.cancelJobs).toMatchObject({ data: { affectedCount: 1, affectedJobIds: [uuidOf(jobs[2]!.id)], moreMatching: false } });

    for (const job of jobs) {
      expect(await history(job.id)).toEqual({
        status: 'CANCELLED',
        events: [
          ['SCHEDULED', null],
          ['CANCELLED', 'cancelled by local-dev'],
        ],
      });
    }
    // The other queue's job is untouched.
    expect(await api.client.request(BulkJobCount, { action: 'CANCEL', filter: { queueNames: ['bulk-other'] } })).toMatchObject({
      bulkJobCount: { data: { count: 1 } },
    });

    expect((await api.client.request(BulkJobCount, { action: 'RETRY', filter })).bulkJobCount).toMatchObject({ data: { count: 3 } });
    const retried = await api.client.request(RetryJobs, { filter: { ...filter, statuses: ['CANCELLED'] } });
    expect(retried.retryJobs).toMatchObject({ data: { affectedCount: 3, moreMatching: false, skipped: [] } });
    for (const job of jobs) {
      expect(await history(job.id)).toEqual({
        status: 'PENDING',
        events: [
          ['SCHEDULED', null],
          ['CANCELLED', 'cancelled by local-dev'],
          ['PENDING', 'retried by local-dev'],
        ],
      });
    }
  });

  it('createdBy narrows jobs, the count and the action to the jobs one principal created', async () => {
    const [alices, others] = await scheduledJobs('bulk-created-by', 2);
    await db.pool.query(`update job set created_by = 'key:alice' where id = $1`, [uuidOf(alices!.id)]);
    const filter = { queueNames: ['bulk-created-by'], createdBy: ['key:alice'] };
    const listed = await api.client.request(JobsPage, { filter, first: 10 });
    expect(listed.jobs.edges.map((e) => e.node.id)).toEqual([alices!.id]);
    expect((await api.client.request(BulkJobCount, { action: 'CANCEL', filter })).bulkJobCount).toMatchObject({ data: { count: 1 } });
    expect((await api.client.request(CancelJobs, { filter })).cancelJobs).toMatchObject({ data: { affectedCount: 1, affectedJobIds: [uuidOf(alices!.id)] } });
    expect((await history(others!.id)).status).toBe('SCHEDULED');
  });

  it('counts at most the bound and says when more match', async () => {
    await scheduledJobs('bulk-many', 6);
    const count = await api.client.request(BulkJobCount, { action: 'CANCEL', filter: { queueNames: ['bulk-many'] } });
    expect(count.bulkJobCount).toMatchObject({ data: { count: 5, moreThanMax: true, max: 5 } });
    const cancelled = await api.client.request(CancelJobs, { filter: { queueNames: ['bulk-many'] } });
    expect(cancelled.cancelJobs).toMatchObject({ data: { affectedCount: 5, moreMatching: true } });
  });

  it('refuses a limit over the bound, naming it, and changes nothing', async () => {
    const [job] = await scheduledJobs('bulk-limit', 1);
    const result = await api.client.request(CancelJobs, { filter: { queueNames: ['bulk-limit'] }, limit: 6 });
    expect(result.cancelJobs).toEqual({
      __typename: 'ValidationError',
      field: 'limit',
      message: 'limit: must be between 1 and 5 (BULK_JOBS_MAX), got 6',
    });
    expect((await history(job!.id)).status).toBe('SCHEDULED');
  });

  it('refuses statuses the action does not apply to, naming them, and changes nothing', async () => {
    const [job] = await scheduledJobs('bulk-status', 1);
    const result = await api.client.request(RetryJobs, { filter: { queueNames: ['bulk-status'], statuses: ['SCHEDULED', 'FAILED'] } });
    expect(result.retryJobs).toEqual({
      __typename: 'ValidationError',
      field: 'filter.statuses',
      message: 'filter.statuses: retry applies to FAILED, DEAD_LETTER, CANCELLED jobs only; SCHEDULED jobs cannot be retried',
    });
    expect((await history(job!.id)).status).toBe('SCHEDULED');
  });

  it('skips a job a constraint refuses, naming why, and changes the others in the same batch', async () => {
    // Two imports of one portfolio's interval: the first cancelled, the second
    // (active) holds the interval, so the first cannot be retried.
    const portfolioId = randomUUID();
    const input = { portfolioId, accountId: ACCOUNT, source: 'IBKR' as const, interval: { start: '2026-01-10', end: '2026-01-20' } };
    const first = created(await createImport(api.client, input, flexStatement()));
    await api.client.request(CancelJobs, { filter: { kinds: ['PORTFOLIO_IMPORT'] } });
    const second = created(await createImport(api.client, { ...input, portfolioId: randomUUID() }, flexStatement()));
    await api.client.request(CancelJobs, { filter: { kinds: ['PORTFOLIO_IMPORT'] } });
    const holder = created(await createImport(api.client, input, flexStatement()));

    const result = await api.client.request(RetryJobs, { filter: { kinds: ['PORTFOLIO_IMPORT'] } });
    expect(result.retryJobs).toMatchObject({
      data: {
        affectedCount: 1,
        affectedJobIds: [uuidOf(second.id)],
        skipped: [{ jobId: uuidOf(first.id), message: expect.stringMatching(/^cannot retry job .*: it conflicts with another job/) }],
      },
    });
    expect((await history(first.id)).status).toBe('CANCELLED');
    expect((await history(second.id)).status).toBe('PENDING');
    expect((await history(holder.id)).status).toBe('PENDING');
  });
});

describe('tenants', () => {
  it("a tenant's bulk actions count and change its own jobs only; admin's cross tenants", async () => {
    const secured = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { BULK_JOBS_MAX: '5', AUTH_ENABLED: 'true' } });
    try {
      const key = async (tenantId: string, scopes: Array<'jobs:read' | 'jobs:write' | 'admin'>) =>
        secured.client.as((await createApiKey(db.pool, { name: tenantId, tenantId, scopes })).key);
      const alice = await key('tenant-a', ['jobs:read', 'jobs:write']);
      const bob = await key('tenant-b', ['jobs:read', 'jobs:write']);
      const admin = await key('ops', ['admin']);
      const queued = (client: typeof alice) => createJob(client, { jobType: 'system.noop', queueName: 'bulk-tenants', scheduledAt: inAnHour() });
      const aliceJobs = [await queued(alice), await queued(alice)];
      const bobJob = await queued(bob);
      const filter = { queueNames: ['bulk-tenants'] };
      const statuses = async () =>
        (await db.pool.query<{ id: string; tenant_id: string; status: string }>(`select id, tenant_id, status from job where queue_name = 'bulk-tenants' order by created_at`)).rows.map(
          (row) => [row.tenant_id, row.status],
        );

      expect((await alice.request(BulkJobCount, { action: 'CANCEL', filter })).bulkJobCount).toMatchObject({ data: { count: 2 } });
      expect((await bob.request(BulkJobCount, { action: 'CANCEL', filter })).bulkJobCount).toMatchObject({ data: { count: 1 } });

      // Bob's cancel takes his job, and says nothing of Alice's (not even as skipped).
      expect((await bob.request(CancelJobs, { filter })).cancelJobs).toEqual({
        __typename: 'MutationCancelJobsSuccess',
        data: { affectedCount: 1, affectedJobIds: [uuidOf(bobJob.id)], moreMatching: false, skipped: [] },
      });
      expect(await statuses()).toEqual([
        ['tenant-a', 'SCHEDULED'],
        ['tenant-a', 'SCHEDULED'],
        ['tenant-b', 'CANCELLED'],
      ]);
      // Alice cannot retry Bob's cancelled job.
      expect((await alice.request(RetryJobs, { filter })).retryJobs).toMatchObject({ data: { affectedCount: 0, affectedJobIds: [], skipped: [] } });

      // Admin sees every tenant's.
      expect((await admin.request(BulkJobCount, { action: 'CANCEL', filter })).bulkJobCount).toMatchObject({ data: { count: 2 } });
      expect((await admin.request(CancelJobs, { filter })).cancelJobs).toMatchObject({ data: { affectedJobIds: aliceJobs.map((job) => uuidOf(job.id)) } });
      expect((await admin.request(RetryJobs, { filter })).retryJobs).toMatchObject({ data: { affectedCount: 3 } });
    } finally {
      await secured.stop();
    }
  });
});
