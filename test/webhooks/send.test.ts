// webhook.send against a local HTTP server: retries with backoff, DEAD_LETTER
// after max_retries + 1 attempts, FAILED at once on a 4xx, and a manual retry.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../support/http-server.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createJob } from '../support/jobs.ts';
import { JobUpdated, JobWithHistory, RetryJob } from '../support/operations.ts';

let db: TestDatabase;
let service: TestApp;
let baseUrl: string;
/** Status each path answers with; requests seen per path. */
const answers = new Map<string, number>();
const requests = new Map<string, Array<{ body: unknown; jobId: string }>>();

beforeAll(async () => {
  ({ url: baseUrl } = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const seen = requests.get(req.url!) ?? [];
      seen.push({ body: JSON.parse(body), jobId: String(req.headers['x-jobwire-job-id']) });
      requests.set(req.url!, seen);
      res.writeHead(answers.get(req.url!) ?? 200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  }));
  db = await createTestDatabase();
  service = await startTestApp(db.url, { env: { OUTBOUND_ALLOW_LIST: '127.0.0.1' } });
});

async function runUntil(jobId: string, status: string) {
  const updates = service.client.subscribe(JobUpdated, { id: jobId });
  await updates.waitFor(status, (r) => r.some((u) => u.jobUpdated.status === status));
  updates.close();
  return (await service.client.request(JobWithHistory, { id: jobId })).job!;
}

describe('webhook.send', () => {
  it('delivers the body and stores the response as the result', async () => {
    const job = await createJob(service.client, { jobType: 'webhook.send', payload: { url: `${baseUrl}/ok`, body: { hello: 'world' } } });
    const done = await runUntil(job.id, 'COMPLETED');
    expect(requests.get('/ok')).toEqual([{ body: { hello: 'world' }, jobId: expect.any(String) }]);
    expect(done.result).toMatchObject({ status: 200, responseBody: '{"ok":true}' });
  });

  it('retries a 5xx and ends DEAD_LETTER after max_retries + 1 attempts; retryJob brings it back to COMPLETED', async () => {
    answers.set('/flaky', 503);
    const job = await createJob(service.client, { jobType: 'webhook.send', maxRetries: 2, payload: { url: `${baseUrl}/flaky` } });
    const dead = await runUntil(job.id, 'DEAD_LETTER');
    expect(requests.get('/flaky')).toHaveLength(3);
    expect(dead.retryCount).toBe(2);
    expect(dead.errorMessage).toMatch(/answered 503/);
    expect(dead.events.edges.map((e) => e.node.status)).toEqual([
      'PENDING', 'RUNNING', 'RETRYING', 'RUNNING', 'RETRYING', 'RUNNING', 'DEAD_LETTER',
    ]);

    answers.set('/flaky', 200);
    const retried = await service.client.request(RetryJob, { id: job.id });
    expect(retried.retryJob).toMatchObject({ __typename: 'MutationRetryJobSuccess', data: { status: expect.stringMatching(/PENDING|RUNNING|COMPLETED/), retryCount: 0 } });
    const done = await runUntil(job.id, 'COMPLETED');
    expect(requests.get('/flaky')).toHaveLength(4);
    expect(done.errorMessage).toBeNull();
  });

  it('fails at once on a 4xx: the request itself is wrong', async () => {
    answers.set('/gone', 410);
    const job = await createJob(service.client, { jobType: 'webhook.send', maxRetries: 5, payload: { url: `${baseUrl}/gone` } });
    const failed = await runUntil(job.id, 'FAILED');
    expect(requests.get('/gone')).toHaveLength(1);
    expect(failed.errorMessage).toMatch(/answered 410/);
  });

  it('retries network errors and timeouts', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    const job = await createJob(service.client, { jobType: 'webhook.send', maxRetries: 1, payload: { url: `http://127.0.0.1:${port}/`, timeoutMs: 500 } });
    const dead = await runUntil(job.id, 'DEAD_LETTER');
    expect(dead.errorMessage).toMatch(/ECONNREFUSED/);
    expect(dead.retryCount).toBe(1);
  });
});
