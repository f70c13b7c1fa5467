// Every outbound answer is bounded (issue 23, item 6): a server that answers
// without end costs a request at most OUTBOUND_RESPONSE_MAX_BYTES and
// OUTBOUND_TIMEOUT_MS, and the failure names the bound and its setting. Each
// caller (the shared fetch, http-csv, the Flex Web Service, YNAB, webhook.send)
// is tried against a local server that streams without end, and a worker
// process running such jobs keeps its memory.
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BudgetProviderError } from '../../src/budgets/provider.ts';
import { YnabProvider } from '../../src/budgets/ynab-provider.ts';
import { HttpCsvProvider } from '../../src/collections/http-csv-provider.ts';
import { createOutboundFetch, OutboundLimitError } from '../../src/net/outbound.ts';
import { fetchFlexStatement } from '../../src/portfolios/ibkr/flex-web-service.ts';
import { NonRetriableError } from '../../src/core/handler.ts';
import { spawnWorker, startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startHttpServer } from '../support/http-server.ts';
import { createJob } from '../support/jobs.ts';
import { CreateCollectionJob } from '../support/operations-collections.ts';
import { JobUpdated, JobWithHistory } from '../support/operations.ts';
import { deferred } from '../support/wait.ts';

const MiB = 1024 * 1024;

/** What the endless server wrote on one connection, and when the client dropped it. */
interface Stream {
  path: string;
  written: number;
  closed: Promise<void>;
}

let base: string;
const streams: Stream[] = [];
const opened: Array<(stream: Stream) => void> = [];

/** Answers 200 and then writes as fast as the client reads, for ever (`/trickle`: one byte every 20 ms). */
function streamForever(path: string, response: ServerResponse) {
  const closed = deferred<void>(`the client to drop ${path}`, 30_000);
  const stream: Stream = { path, written: 0, closed: closed.promise };
  streams.push(stream);
  response.on('close', () => closed.resolve());
  response.writeHead(200, { 'content-type': path.includes('ynab') ? 'application/json' : 'text/plain' });
  if (path.startsWith('/trickle')) {
    const timer = setInterval(() => {
      stream.written += 1;
      response.write('x');
    }, 20);
    response.on('close', () => clearInterval(timer));
  } else {
    const chunk = Buffer.alloc(64 * 1024, path.includes('ynab') ? ' ' : 'a');
    const pump = () => {
      while (!response.destroyed) {
        stream.written += chunk.length;
        if (!response.write(chunk)) return;
      }
    };
    response.on('drain', pump);
    pump();
  }
  for (const waiter of opened.splice(0)) waiter(stream);
}

beforeAll(async () => {
  ({ url: base } = await startHttpServer((request, response) => {
    request.resume();
    if (request.url!.startsWith('/SHORT')) return void response.writeHead(200).end('Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n');
    streamForever(new URL(request.url!, 'http://x').pathname, response);
  }));
});

const fetchBounded = (maxResponseBytes = MiB, timeoutMs = 60_000) =>
  createOutboundFetch({ allowList: ['127.0.0.1'], maxRedirects: 0, maxResponseBytes, timeoutMs });

describe('the shared outbound fetch', () => {
  it('stops reading an endless answer at OUTBOUND_RESPONSE_MAX_BYTES and fails naming it; the connection is dropped', async () => {
    const response = await fetchBounded(MiB)(`${base}/endless`);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let delivered = 0;
    let failure: unknown;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        delivered += value.byteLength;
      }
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(OutboundLimitError);
    expect((failure as Error).message).toMatch(
      /^the answer of http:\/\/127\.0\.0\.1:\d+ is longer than 1048576 bytes \(OUTBOUND_RESPONSE_MAX_BYTES\); reading stopped there$/,
    );
    expect(delivered).toBeLessThanOrEqual(MiB);
    // The server sees its client go: nothing more is read.
    await streams.find((stream) => stream.path === '/endless')!.closed;
  });

  it('fails an answer that does not end within OUTBOUND_TIMEOUT_MS, naming it', async () => {
    const response = await fetchBounded(MiB, 300)(`${base}/trickle`);
    await expect(response.text()).rejects.toThrow(/^no complete answer from http:\/\/127\.0\.0\.1:\d+ within 300 ms \(OUTBOUND_TIMEOUT_MS\)$/);
  });

  it('names the origin only, never the path or query (they may be secrets)', async () => {
    const response = await fetchBounded(MiB)(`${base}/endless/T0KEN?secret=s3cret`);
    const error = await response.text().catch((e: Error) => e);
    expect(String(error)).not.toMatch(/T0KEN|s3cret/);
  });
});

describe('callers of the outbound fetch', () => {
  it('http-csv: the symbol fails naming the bound, without a retry', async () => {
    const provider = new HttpCsvProvider({
      urlTemplate: `${base}/csv/{symbol}`,
      timeoutMs: 60_000,
      concurrency: 1,
      retries: 3,
      retryBaseDelayMs: 1,
      fetch: fetchBounded(MiB),
    });
    const range = { from: new Date('2024-01-01'), to: new Date('2024-12-31') };
    await expect(provider.fetchCandles('ENDLESS', '1d', range, new AbortController().signal)).rejects.toThrow(
      /GET .*\/csv\/ENDLESS failed: the answer of .* is longer than 1048576 bytes \(OUTBOUND_RESPONSE_MAX_BYTES\)/,
    );
    expect(streams.filter((stream) => stream.path === '/csv/ENDLESS')).toHaveLength(1);
  });

  it('Flex Web Service: fails without retry naming the bound', async () => {
    const options = { baseUrl: `${base}/flex`, token: 'flex-t0ken', queryId: '1', pollIntervalMs: 1, maxPolls: 2, fetch: fetchBounded(MiB) };
    const error = await fetchFlexStatement(options, new AbortController().signal).catch((e: Error) => e);
    expect(error).toBeInstanceOf(NonRetriableError);
    expect((error as Error).message).toMatch(/^Flex Web Service \/flex\/SendRequest: the answer of .* is longer than 1048576 bytes \(OUTBOUND_RESPONSE_MAX_BYTES\)/);
    expect((error as Error).message).not.toContain('flex-t0ken');
  });

  it('YNAB: a JSON answer and an export fail BAD_RESPONSE naming the bound', async () => {
    const ynab = new YnabProvider({
      apiUrl: `${base}/ynab`,
      accessToken: 'ynab-t0ken',
      fetch: fetchBounded(MiB),
      timeoutMs: 60_000,
      retries: 2,
      retryBaseDelayMs: 1,
      rateLimitRetries: 0,
      rateLimitMaxWaitMs: 0,
      transactionsPageSize: 100,
      updateChunkSize: 100,
    });
    const signal = new AbortController().signal;
    const summary = await ynab.getBudget('b1', signal).catch((e: Error) => e);
    expect(summary).toBeInstanceOf(BudgetProviderError);
    expect(summary).toMatchObject({ code: 'BAD_RESPONSE', retriable: false });
    expect((summary as Error).message).toBe('YNAB: unexpected answer (an answer longer than 1048576 bytes, see OUTBOUND_RESPONSE_MAX_BYTES)');
    const before = streams.length;
    let exported = 0;
    const failure = await (async () => {
      for await (const chunk of ynab.exportBudget('b1', signal)) exported += chunk.byteLength;
    })().catch((e: Error) => e);
    expect(failure).toMatchObject({ code: 'BAD_RESPONSE', message: expect.stringContaining('OUTBOUND_RESPONSE_MAX_BYTES') });
    expect(exported).toBeLessThanOrEqual(MiB);
    expect(streams.length - before).toBe(1); // not retried
  });
});

describe('jobs against an endless answer', () => {
  let db: TestDatabase;
  let service: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    service = await startTestApp(db.url, { env: { OUTBOUND_ALLOW_LIST: '127.0.0.1' } });
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  async function runUntilDone(jobId: string) {
    const ended = (status: string) => ['COMPLETED', 'FAILED', 'DEAD_LETTER'].includes(status);
    const updates = service.client.subscribe(JobUpdated, { id: jobId });
    // A job that ended before the subscription started (a loaded machine) sends no update: read it too.
    const now = (await service.client.request(JobWithHistory, { id: jobId })).job!;
    if (!ended(now.status)) await updates.waitFor('the job to end', (received) => received.some((u) => ended(u.jobUpdated.status)));
    updates.close();
    return (await service.client.request(JobWithHistory, { id: jobId })).job!;
  }

  it('webhook.send keeps a 1 KiB excerpt of an endless answer and reads no further: delivered, COMPLETED', async () => {
    const stream = new Promise<Stream>((resolve) => opened.push(resolve));
    const job = await createJob(service.client, { jobType: 'webhook.send', maxRetries: 0, payload: { url: `${base}/hook/S3CRET` } });
    const done = await runUntilDone(job.id);
    expect(done.status).toBe('COMPLETED');
    expect(done.result).toMatchObject({ status: 200, responseBody: 'a'.repeat(1024), responseBodyTruncated: true });
    await (await stream).closed;
  });

  it('webhook.send fails an answer that trickles past timeoutMs, naming it and the origin only', async () => {
    const job = await createJob(service.client, { jobType: 'webhook.send', maxRetries: 0, payload: { url: `${base}/trickle/S3CRET`, timeoutMs: 300 } });
    const done = await runUntilDone(job.id);
    expect(done.status).toBe('DEAD_LETTER');
    expect(done.errorMessage).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+ failed: no answer within 300 ms \(timeoutMs\)( \(after 1 attempts\))?$/);
  });
});

describe('a worker process', () => {
  let db: TestDatabase;
  let api: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    api = await startTestApp(db.url, { roles: { api: true, worker: false } });
  });
  afterAll(async () => {
    await api?.stop();
    await db?.drop();
  });

  /** Peak resident memory of a process so far, in bytes (Linux). */
  async function peakRss(pid: number): Promise<number> {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
  }

  it('runs collection and webhook jobs against endless answers with its peak memory within 50 MB of what the same jobs took against short answers', async () => {
    const worker = await spawnWorker(db.url, {
      OUTBOUND_ALLOW_LIST: '127.0.0.1',
      OUTBOUND_RESPONSE_MAX_BYTES: String(MiB),
      COLLECTION_HTTP_URL_TEMPLATE: `${base}/{symbol}`,
      COLLECTION_HTTP_RETRIES: '0',
      COLLECTION_HTTP_TIMEOUT_MS: '2000',
    });
    const pid = worker.process.pid!;
    const ended = async (id: string) => {
      const updates = api.client.subscribe(JobUpdated, { id });
      const received = await updates.waitFor('the job to end', (r) => r.some((u) => ['COMPLETED', 'FAILED', 'DEAD_LETTER'].includes(u.jobUpdated.status)));
      updates.close();
      return received.at(-1)!.jobUpdated.status;
    };
    /** A collection of two symbols and a webhook, against `path`; answers how each ended. */
    const run = async (path: string) => {
      const collection = await api.client.request(CreateCollectionJob, {
        input: { symbols: [`${path}A`, `${path}B`], timeframe: '1d', rangeFrom: '2024-01-01T00:00:00Z', rangeTo: '2024-03-31T00:00:00Z', provider: 'http-csv' },
      });
      if (collection.createCollectionJob.__typename !== 'MutationCreateCollectionJobSuccess') throw new Error(JSON.stringify(collection));
      const webhook = await createJob(api.client, { jobType: 'webhook.send', maxRetries: 0, payload: { url: `${base}/${path}/hook`, timeoutMs: 2000 } });
      const id = collection.createCollectionJob.data.id;
      return { collection: await ended(id), webhook: await ended(webhook.id), job: (await api.client.request(JobWithHistory, { id })).job! };
    };

    // First against short answers: what running these jobs costs at all (undici, its parser, the handlers warming up).
    expect(await run('SHORT')).toMatchObject({ collection: 'COMPLETED', webhook: 'COMPLETED' });
    const warm = await peakRss(pid);
    const endless = await run('ENDLESS');
    expect(endless).toMatchObject({ collection: 'FAILED', webhook: 'COMPLETED' });
    expect(endless.job.errorMessage).toMatch(/no symbol was collected \(2 failed: .*longer than 1048576 bytes \(OUTBOUND_RESPONSE_MAX_BYTES\)/);

    const growth = (await peakRss(pid)) - warm;
    console.log(`worker peak RSS: ${Math.round(warm / MiB)} MiB after short answers, +${Math.round(growth / MiB)} MiB after endless ones`);
    expect(growth).toBeLessThan(50 * 1000 * 1000);
  });
});
