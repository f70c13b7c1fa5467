// Scale-out: N no-op jobs created through the APIs (createJobs, 1,000 a call) and run by two worker processes while two API processes
// stream every event to a subscriber each; jobs/second, and whether every event
// reached every subscriber exactly once.
//   npm run bench:scale-out   (BENCH_JOBS=20000)
import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { report, round, spawnCli, startBenchServer } from './support.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const server = await startBenchServer();
const databaseUrl = await server.database('bench_scale_out');
const settings = { DATABASE_URL: databaseUrl, WORKER_CONCURRENCY: '25', WORKER_LOCAL_QUEUE_SIZE: '100', WORKER_COMPLETE_BATCH_DELAY_MS: '0', DATABASE_POOL_SIZE: '20' };
const apis = [await spawnCli('serve', settings), await spawnCli('serve', settings)];
const received = apis.map(() => new Map<string, number>());
const clients = apis.map((api, index) => {
  const client = createClient({ url: api.url!.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  client.subscribe<{ jobEvents: { id: string } }>(
    { query: 'subscription { jobEvents(filter: { queueNames: ["scale-out"] }) { id } }' },
    {
      next: ({ data }) => received[index]!.set(data!.jobEvents.id, (received[index]!.get(data!.jobEvents.id) ?? 0) + 1),
      error: (error) => console.error(error),
      complete: () => undefined,
    },
  );
  return client;
});
const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();
try {
  // Workers first, so that the timing covers creating and running, not process start.
  const workers = [await spawnCli('work', settings), await spawnCli('work', settings)];
  // Let both subscriptions go live before the first event.
  await delay(1000);
  const started = performance.now();
  for (let i = 0; i < JOBS; i += 1000) {
    // The jobs as a variable: written into the document, 1,000 of them pass the API's token limit (GRAPHQL_MAX_TOKENS).
    const jobs = Array.from({ length: Math.min(1000, JOBS - i) }, () => ({ jobType: 'system.noop', queueName: 'scale-out' }));
    const response = await fetch(apis[i % 2]!.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'mutation ($jobs: [CreateJobInput!]!) { createJobs(jobs: $jobs) { __typename } }', variables: { jobs } }),
    });
    const body = (await response.json()) as { data?: { createJobs: { __typename: string } } };
    if (body.data?.createJobs.__typename !== 'MutationCreateJobsSuccess') throw new Error(JSON.stringify(body));
  }
  for (;;) {
    const { rows } = await db.query<{ n: string }>(`select count(*) as n from job where status = 'COMPLETED'`);
    if (Number(rows[0]!.n) === JOBS) break;
    await delay(50);
  }
  const seconds = (performance.now() - started) / 1000;
  const expected = 3 * JOBS;
  const deadline = Date.now() + 30_000;
  while (received.some((seen) => seen.size < expected) && Date.now() < deadline) await delay(100);
  await Promise.all(workers.map((worker) => worker.stop()));
  const rows = received.map((seen, index) => ({
    subscriber: `API ${index + 1}`,
    'events expected': expected,
    'events received': seen.size,
    duplicates: [...seen.values()].filter((count) => count > 1).length,
  }));
  await report('scale-out', rows, { jobs: JOBS, seconds: round(seconds, 2), 'jobs/s': round(JOBS / seconds), settings });
  console.log({ 'jobs/s created and run (2 workers, 2 APIs)': round(JOBS / seconds) });
  // A bench that loses or repeats events is broken, whatever its speed (bench:smoke runs this in CI).
  const wrong = rows.filter((row) => row['events received'] !== expected || row.duplicates > 0);
  if (wrong.length) throw new Error(`events lost or delivered twice: ${JSON.stringify(wrong)}`);
} finally {
  await db.end();
  await Promise.all(clients.map((client) => client.dispose()));
  await Promise.all(apis.map((api) => api.stop()));
  await server.stop();
}
