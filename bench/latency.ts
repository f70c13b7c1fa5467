// Live latency: jobs created one by one at a steady rate; for each, the time
// from its COMPLETED event's insert (in the completing transaction, just before
// commit) to its arrival at graphql-ws subscribers of jobEvents, with 1, 100 and
// 1,000 subscribers; the API process's peak RSS; lost or duplicated events.
//   npm run bench:latency   (BENCH_SIZES=1,100,1000 BENCH_LATENCY_JOBS=100 BENCH_RATE=20;
//   BENCH_API_NODE_OPTIONS: Node flags for the API process only, e.g. V8 heap limits)
import { setTimeout as delay } from 'node:timers/promises';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { logger, percentile, report, round, spawnCli, startBenchServer } from './support.ts';

const SIZES = (process.env.BENCH_SIZES ?? '1,100,1000').split(',').map(Number);
const JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 100);
const RATE = Number(process.env.BENCH_RATE ?? 20);

const SUBSCRIPTION = `subscription ($queue: String!) {
  jobEvents(filter: { queueNames: [$queue], statuses: [COMPLETED] }) { id createdAt }
}`;

async function createJob(url: string, queue: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: `mutation ($queue: String!) { createJob(input: { jobType: "system.noop", queueName: $queue }) { __typename } }`,
      variables: { queue },
    }),
  });
  const body = (await response.json()) as { data?: { createJob: { __typename: string } } };
  if (body.data?.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(body));
}

const server = await startBenchServer();
const databaseUrl = await server.database('bench_latency');
const env = { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', JOB_PROGRESS_THROTTLE_MS: '0' };
const api = await spawnCli('serve', { ...env, ...(process.env.BENCH_API_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_API_NODE_OPTIONS } : {}) });
const worker = await spawnCli('work', { ...env, WORKER_CONCURRENCY: '10' });
const rows = [];
let failedOnce = false;
try {
  for (const size of SIZES) {
    const queue = `latency-${size}`;
    const clients: Client[] = [];
    const received: Array<Map<string, number>> = [];
    const latencies: number[] = [];
    let duplicates = 0;
    let connected = 0;
    // A refused or dropped socket (e.g. 4429, too many sockets) fails the run at
    // once: waiting for it to connect or to receive would never end.
    let failure: Error | undefined;
    let disposing = false;
    const fail = (subscriber: number, what: unknown) => {
      const close = what as { code?: number; reason?: string };
      failure ??= new Error(
        `subscriber ${subscriber + 1} of ${size}: ${close?.code !== undefined ? `socket closed ${close.code} ${close.reason ?? ''}`.trim() : JSON.stringify(what)}`,
      );
    };
    const until = async (what: string, done: () => boolean, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (failure) throw failure;
        if (Date.now() > deadline) throw new Error(`${size} subscribers: timed out after ${timeoutMs} ms waiting for ${what}`);
        await delay(20);
      }
      if (failure) throw failure;
    };
    try {
      for (let i = 0; i < size; i++) {
        const client = createClient({
          url: api.url!.replace(/^http/, 'ws'),
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          on: { connected: () => connected++, closed: (event) => disposing || fail(i, event) },
        });
        clients.push(client);
        const seen = new Map<string, number>();
        received.push(seen);
        client.subscribe<{ jobEvents: { id: string; createdAt: string } }>(
          { query: SUBSCRIPTION, variables: { queue } },
          {
            next: ({ data }) => {
              const arrived = Date.now();
              const event = data!.jobEvents;
              if (seen.has(event.id)) duplicates++;
              seen.set(event.id, arrived);
              latencies.push(arrived - Date.parse(event.createdAt));
            },
            error: (error) => disposing || fail(i, error),
            complete: () => disposing || fail(i, 'the subscription completed'),
          },
        );
      }
      await until('every socket to connect', () => connected >= size);
      // A probe job shows every subscription is live (graphql-ws does not acknowledge subscribes).
      await createJob(api.url!, queue);
      await until('the probe event at every subscriber', () => received.every((seen) => seen.size >= 1));
      latencies.length = 0;
      received.forEach((seen) => seen.clear());

      for (let i = 0; i < JOBS; i++) {
        await createJob(api.url!, queue);
        await delay(1000 / RATE);
        if (failure) throw failure;
      }
      await until('every event at every subscriber', () => received.every((seen) => seen.size >= JOBS), 30_000).catch((error: Error) => {
        // Counted below as lost; any other failure stops the run.
        if (error !== failure && error.message.includes('timed out')) return;
        throw error;
      });
      const lost = received.reduce((sum, seen) => sum + Math.max(0, JOBS - seen.size), 0);
      latencies.sort((a, b) => a - b);
      rows.push({
        subscribers: size,
        deliveries: latencies.length,
        'p50 ms': percentile(latencies, 50),
        'p95 ms': percentile(latencies, 95),
        'p99 ms': percentile(latencies, 99),
        'max ms': latencies.at(-1),
        lost,
        duplicates,
        'API peak RSS MB': round(await api.peakRssMb()),
      });
      console.log(rows.at(-1));
      if (lost || duplicates) failedOnce = true;
    } finally {
      disposing = true;
      // A socket still connecting when refused rejects its dispose with the close: already reported.
      await Promise.allSettled(clients.map((client) => client.dispose()));
    }
  }
  await report('latency', rows, { jobsPerSize: JOBS, ratePerSecond: RATE, apiNodeOptions: process.env.BENCH_API_NODE_OPTIONS ?? null });
  if (failedOnce) throw new Error('events were lost or delivered twice (see the lost and duplicates columns)');
} finally {
  await worker.stop();
  await api.stop();
  await server.stop();
}
