// The per-job log lines at info: when a job starts, and how its attempt ended.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidOf } from '../../src/testing/global-id.ts';
import { spawnWorker, startTestApp, type ChildWorker, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createJob } from '../support/jobs.ts';
import { CancelJob, JobUpdated } from '../support/operations.ts';
import { eventually } from '../support/wait.ts';

describe('logs', () => {
  let db: TestDatabase;
  let api: TestApp;
  let worker: ChildWorker;
  let webhookTarget: Server;

  beforeAll(async () => {
    db = await createTestDatabase();
    api = await startTestApp(db.url, { roles: { api: true, worker: false } });
    // The webhook target is on loopback, which jobs may reach only when allowed (SSRF guard).
    worker = await spawnWorker(db.url, { OUTBOUND_ALLOW_LIST: '127.0.0.1' });
    webhookTarget = createServer((_request, response) => response.writeHead(400).end('no'));
    await new Promise<void>((resolve) => webhookTarget.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    worker?.process.kill('SIGTERM');
    await worker?.exited;
    webhookTarget?.close();
    await api?.stop();
    await db?.drop();
  });

  /** A job's lifecycle lines at info (the worker also says when a cancel reaches it). */
  const linesOf = (jobId: string) => worker.logs.filter((entry) => entry.jobId === jobId && entry.level === 30 && String(entry.msg).startsWith('job '));

  it('one info line when a job starts and one when it completes, fails or is cancelled, with id, type, queue, attempt and run time', async () => {
    const done = uuidOf((await createJob(api.client, { jobType: 'system.noop', queueName: 'logs' })).id);
    const url = `http://127.0.0.1:${(webhookTarget.address() as AddressInfo).port}/hook`;
    const failed = uuidOf((await createJob(api.client, { jobType: 'webhook.send', queueName: 'logs', payload: { url } })).id);
    const cancelled = await createJob(api.client, { jobType: 'system.sleep', queueName: 'logs', payload: { ms: 60_000, ticks: 600 } });
    const updates = api.client.subscribe(JobUpdated, { id: cancelled.id });
    await updates.waitFor('running', (r) => r.some((u) => u.jobUpdated.status === 'RUNNING'));
    await api.client.request(CancelJob, { id: cancelled.id });

    const fields = (jobId: string, jobType: string) => ({ jobId, jobType, queue: 'logs', attempt: 1, workerId: worker.workerId });
    await eventually('the lines of three jobs', async () => ([done, failed, uuidOf(cancelled.id)].every((id) => linesOf(id).length === 2) ? true : undefined));
    expect(linesOf(done)).toEqual([
      expect.objectContaining({ msg: 'job started', ...fields(done, 'system.noop') }),
      expect.objectContaining({ msg: 'job completed', status: 'COMPLETED', durationMs: expect.any(Number), ...fields(done, 'system.noop') }),
    ]);
    expect(linesOf(failed)[1]).toEqual(
      expect.objectContaining({ msg: 'job failed', status: 'FAILED', error: expect.stringContaining('answered 400'), durationMs: expect.any(Number), ...fields(failed, 'webhook.send') }),
    );
    expect(linesOf(uuidOf(cancelled.id))[1]).toEqual(
      expect.objectContaining({ msg: 'job cancelled', status: 'CANCELLED', durationMs: expect.any(Number), ...fields(uuidOf(cancelled.id), 'system.sleep') }),
    );
    updates.close();
  });

  it('a failed attempt that will be retried says so, then the next attempt has its number', async () => {
    const flaky = uuidOf((await createJob(api.client, { jobType: 'webhook.send', queueName: 'logs', maxRetries: 1, payload: { url: 'http://127.0.0.1:1/refused' } })).id);
    await eventually('two attempts', async () => (linesOf(flaky).length === 4 ? true : undefined));
    expect(linesOf(flaky).map((entry) => [entry.msg, entry.attempt])).toEqual([
      ['job started', 1],
      ['job failed; will retry', 1],
      ['job started', 2],
      ['job failed; no retries left', 2],
    ]);
    expect(linesOf(flaky)[1]).toEqual(expect.objectContaining({ status: 'RETRYING', retryInMs: expect.any(Number) }));
  });
});
