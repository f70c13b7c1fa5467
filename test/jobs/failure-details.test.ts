// A failed job keeps a structured error (job.error: name, message, data) and
// the failed attempt's resultData (job.result); success and retryJob clear the error.
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { createJob } from '../support/jobs.ts';
import { JobUpdated, JobWithHistory, RetryJob } from '../support/operations.ts';

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { registry: createTestRegistry() });
});

async function ended(id: string, status: string) {
  const updates = api.client.subscribe(JobUpdated, { id });
  await updates.waitFor(status, (received) => received.some((u) => u.jobUpdated.status === status));
  updates.close();
  return (await api.client.request(JobWithHistory, { id })).job!;
}

describe('a failed job', () => {
  it("keeps a NonRetriableError's class, message and data as job.error, and the returned resultData as job.result", async () => {
    const created = await createJob(api.client, { jobType: 'test.fail_with_data', payload: { retriable: false } });
    const job = await ended(created.id, 'FAILED');
    expect(job.errorMessage).toBe('row 3 is malformed');
    expect(job.error).toEqual({ name: 'NonRetriableError', message: 'row 3 is malformed', data: { row: 3, column: 'amount' } });
    expect(job.result).toEqual({ rowsImported: 2 });
  });

  it("names a thrown error by its class when it sets no name, with its data; DEAD_LETTER keeps the attempt's own message", async () => {
    const created = await createJob(api.client, { jobType: 'test.fail_with_data', payload: { retriable: true }, maxRetries: 0 });
    const job = await ended(created.id, 'DEAD_LETTER');
    expect(job.errorMessage).toBe('quota exceeded (after 1 attempts)');
    expect(job.error).toEqual({ name: 'QuotaExceededError', message: 'quota exceeded', data: { retryAfterSeconds: 60 } });
    expect(job.result).toBeNull();
  });

  it('has no error once retried (the failed resultData goes too)', async () => {
    const created = await createJob(api.client, { jobType: 'test.fail_with_data', payload: { retriable: false } });
    expect((await ended(created.id, 'FAILED')).error).not.toBeNull();
    const retried = await api.client.request(RetryJob, { id: created.id });
    if (retried.retryJob.__typename !== 'MutationRetryJobSuccess') throw new Error(JSON.stringify(retried));
    expect(retried.retryJob.data).toMatchObject({ status: 'PENDING', errorMessage: null, error: null, result: null });
  });
});
