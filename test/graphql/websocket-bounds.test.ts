// Bounded websockets: a message before authentication is at most
// WS_INIT_MAX_BYTES (refused at its frame header, before its payload is
// buffered), one after at most REQUEST_JSON_MAX_BYTES; a jobEvents replay goes
// at the pace its client takes events, and a subscription's queue is bounded.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { encodeCursor, type JobEventRecord } from '../../src/jobs/event-log.ts';
import { pushStream } from '../../src/graphql/push-stream.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnApi, startTestApp, type TestApp } from '../support/app.ts';
import { deferred } from '../support/wait.ts';

let db: TestDatabase;
let service: TestApp;
const REQUEST_JSON_MAX_BYTES = 300_000;
const QUEUE_MAX = 50;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, { env: { REQUEST_JSON_MAX_BYTES: String(REQUEST_JSON_MAX_BYTES), WS_SUBSCRIPTION_QUEUE_MAX: String(QUEUE_MAX) } });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

/**
 * A websocket whose first message is a text frame declaring `length` bytes,
 * written in 1 MiB slices until the server answers with a close frame (its
 * code is the answer) or the connection ends. The payload is produced as it is
 * written: this process never holds it whole.
 */
function sendHugeFirstMessage(url: string, length: number): Promise<{ code: number | null; written: number }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const upgrade = request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-protocol': 'graphql-transport-ws',
      },
    });
    upgrade.on('error', reject);
    upgrade.on('response', (response) => reject(new Error(`upgrade refused: ${response.statusCode}`)));
    upgrade.on('upgrade', (_response, socket: Socket) => {
      let code: number | null = null;
      let written = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        socket.destroy();
        resolve({ code, written });
      };
      socket.on('data', (chunk: Buffer) => {
        // The server's close frame: 0x88, a short length, then the code.
        if (chunk[0] === 0x88 && chunk.length >= 4) code = chunk.readUInt16BE(2);
        finish();
      });
      socket.on('error', finish);
      socket.on('close', finish);
      // FIN + text, masked, 64-bit length, a zero mask (the payload goes as is).
      const header = Buffer.alloc(14);
      header[0] = 0x81;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(length), 2);
      const opening = Buffer.from('{"type":"connection_init","payload":{"pad":"');
      const closing = Buffer.from('"}}');
      const slice = Buffer.alloc(1024 * 1024, 'a');
      const write = () => {
        while (!done && written < length) {
          const left = length - written;
          let chunk: Buffer;
          if (written === 0) chunk = Buffer.concat([header, opening]);
          else if (left <= closing.length) chunk = closing.subarray(closing.length - left);
          else chunk = slice.subarray(0, Math.min(slice.length, left - closing.length));
          written += written === 0 ? opening.length : chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', write);
        }
      };
      write();
    });
    upgrade.end();
  });
}

/** The process's resident set now and its peak since `resetPeak` (MB). */
function memoryOf(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}
const resetPeak = (pid: number) => writeFileSync(`/proc/${pid}/clear_refs`, '5');

describe('before authentication', () => {
  it('eight sockets each sending a 90 MB connection_init are refused (1009) and the API process grows by less than 50 MB', async () => {
    const api = await spawnApi(db.url, { AUTH_ENABLED: 'true' });
    const pid = api.process.pid!;
    // Warm: one ordinary request and one refused socket first, so what is measured is the attack.
    await fetch(api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    await sendHugeFirstMessage(api.url, 1024 * 1024);
    resetPeak(pid);
    const start = memoryOf(pid).rssMb;
    const answers = await Promise.all(Array.from({ length: 8 }, () => sendHugeFirstMessage(api.url, 90 * 1024 * 1024)));
    const { peakMb } = memoryOf(pid);
    expect(peakMb - start, `peak RSS ${peakMb.toFixed(0)} MB, ${start.toFixed(0)} MB at the start`).toBeLessThan(50);
    expect(answers.map((answer) => answer.code)).toEqual(Array(8).fill(1009));
  });

  it('a connection_init over WS_INIT_MAX_BYTES (64 KiB) closes the socket with 1009; one under it is answered', async () => {
    const closed = async (params: Record<string, unknown>) => {
      const result = deferred<{ code: number; acked: boolean }>('the socket to close or be acknowledged');
      const client = createClient({
        url: service.client.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: params,
        on: { connected: () => result.resolve({ code: 0, acked: true }), closed: (event) => result.resolve({ code: (event as CloseEvent).code, acked: false }) },
        onNonLazyError: () => undefined,
      });
      const answer = await result.promise;
      await client.dispose();
      return answer;
    };
    expect(await closed({ pad: 'a'.repeat(65 * 1024) })).toEqual({ code: 1009, acked: false });
    expect(await closed({ pad: 'a'.repeat(60 * 1024) })).toEqual({ code: 0, acked: true });
  });
});

describe('after authentication', () => {
  it('a message up to REQUEST_JSON_MAX_BYTES is taken (more than the 64 KiB before it); a bigger one closes the socket with 1009', async () => {
    const closed = deferred<number>('the socket to close', 20_000);
    const client = createClient({
      url: service.client.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      on: { closed: (event) => closed.resolve((event as CloseEvent).code) },
      onNonLazyError: () => undefined,
    });
    const run = (pad: string) =>
      new Promise<unknown>((resolve, reject) => {
        let result: unknown;
        client.subscribe(
          { query: 'query($pad: String!) { jobs(first: 1, filter: { queueNames: [$pad] }) { totalCount } }', variables: { pad } },
          { next: (value) => (result = value), error: reject, complete: () => resolve(result) },
        );
      });
    expect(await run('a'.repeat(200_000))).toEqual({ data: { jobs: { totalCount: 0 } } });
    void run('a'.repeat(REQUEST_JSON_MAX_BYTES)).catch(() => undefined);
    expect(await closed.promise).toBe(1009);
    await client.dispose();
  });
});

describe("what waits for a jobEvents subscription's client", () => {
  /** Creates `count` jobs in `queue` and waits for them to complete; answers their events' ids in log order. */
  async function eventsInLog(queue: string, count: number, beforeEnd: () => Promise<void> = async () => undefined) {
    const jobs = Array.from({ length: count }, () => ({ jobType: 'system.noop', queueName: queue }));
    const { body } = await service.client.send(`mutation($jobs: [CreateJobInput!]!) { createJobs(jobs: $jobs) { __typename } }`, { jobs });
    expect((body.data as any).createJobs.__typename).toBe('MutationCreateJobsSuccess');
    await beforeEnd();
    for (;;) {
      const { rows } = await db.pool.query(`select count(*) filter (where status = 'COMPLETED') as done from job where queue_name = $1`, [queue]);
      if (Number(rows[0].done) >= count) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { rows } = await db.pool.query<{ id: string }>(`select e.id from job_event e join job j on j.id = e.job_id where j.queue_name = $1 order by e.tx_id, e.id`, [queue]);
    return rows.map((row) => row.id);
  }

  /** A jobEvents stream as the resolver makes it, counting how many events wait for its consumer at most. */
  function paced(queue: string, after: { txId: string; id: string } | null) {
    const counts = { pushed: 0, taken: 0, mostWaiting: 0 };
    const stream = pushStream<JobEventRecord>((push, fail, drained) =>
      service.app.live!.subscribeEvents(
        { tenantId: null, queueNames: [queue] },
        after,
        (event) => {
          counts.pushed++;
          counts.mostWaiting = Math.max(counts.mostWaiting, counts.pushed - counts.taken);
          return push(event);
        },
        (error) => fail(error as Error),
        { drained, maxBacklog: QUEUE_MAX },
      ),
    );
    const take = async (expected: string[]) => {
      const taken: string[] = [];
      while (taken.length < expected.length) {
        taken.push(String((await stream.next()).value!.id));
        counts.taken++;
      }
      await stream.return!();
      return taken;
    };
    return { counts, take };
  }

  it('a replay from the origin goes at the pace its consumer takes events: never more than WS_SUBSCRIPTION_QUEUE_MAX wait', async () => {
    const expected = await eventsInLog('replayed', 200);
    const { counts, take } = paced('replayed', { txId: '0', id: '0' });
    expect(await take(expected)).toEqual(expected);
    expect(counts.mostWaiting).toBeLessThanOrEqual(QUEUE_MAX);
  });

  it('a live consumer that takes nothing while 600 events happen holds at most WS_SUBSCRIPTION_QUEUE_MAX; then it gets them all, in order, once', async () => {
    const { counts, take } = paced('live', null);
    const expected = await eventsInLog('live', 200);
    // Everything has happened, and nothing was taken yet.
    expect(counts.mostWaiting).toBeLessThanOrEqual(QUEUE_MAX);
    expect(await take(expected)).toEqual(expected);
    expect(counts.mostWaiting).toBeLessThanOrEqual(QUEUE_MAX);
  });

  it('jobEvents replays them from the origin to a client through a queue of 50, in order, each once', async () => {
    const expected = await eventsInLog('through-socket', 100);
    const subscription = service.client.subscribe(
      { toString: () => 'subscription($after: String) { jobEvents(filter: { queueNames: ["through-socket"] }, after: $after) { id } }' } as never,
      { after: encodeCursor({ txId: '0', id: '0' }) } as never,
    );
    const received = (await subscription.waitFor(`${expected.length} replayed events`, (events) => events.length >= expected.length)) as Array<{ jobEvents: { id: string } }>;
    expect(received.map((event) => String(event.jobEvents.id))).toEqual(expected);
    subscription.close();
  });
});
