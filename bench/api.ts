// API: createJob mutations per second over HTTP with concurrent clients
// (autocannon), and jobs(first: 50) with steps and events: latency percentiles
// of one client alone (the target) and under concurrent clients, and Prisma
// queries per request for 10 and 50 jobs.
//   npm run bench:api   (BENCH_CONNECTIONS=10 BENCH_SECONDS=10)
import autocannon from 'autocannon';
import pg from 'pg';
import { startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { recordingQueries, type RecordedQuery } from '../src/testing/prisma-queries.ts';
import { logger, report, round, spawnCli, startBenchServer } from './support.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

const CREATE = JSON.stringify({
  query: 'mutation { createJob(input: { jobType: "system.noop", queueName: "api-bench", scheduledAt: "2999-01-01T00:00:00Z" }) { __typename ... on MutationCreateJobSuccess { data { id status } } } }',
});
const list = (first: number) =>
  JSON.stringify({
    query: `{ jobs(first: ${first}) { edges { node { id status jobType steps(first: 10) { edges { node { name status } } } events(first: 10) { edges { node { status createdAt } } } } } } }`,
  });

async function load(url: string, body: string, connections = CONNECTIONS) {
  const result = await autocannon({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: SECONDS });
  if (result.non2xx || result.errors) throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result;
}

/** Prisma queries the API makes for one request, recorded in-process through a `$extends` hook. */
async function queriesPerRequest(databaseUrl: string, first: number) {
  const queries: RecordedQuery[] = [];
  const app = await startApp(loadConfig({ DATABASE_URL: databaseUrl, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn' }), logger, { api: true, worker: false }, {
    wrapPrisma: (prisma) => recordingQueries(prisma, queries),
  });
  try {
    await fetch(app.api!.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: list(first) });
  } finally {
    await app.stop();
  }
  return queries.length;
}

const server = await startBenchServer();
const databaseUrl = await server.database('bench_api');
const api = await spawnCli('serve', { DATABASE_URL: databaseUrl });
try {
  const created = await load(api.url!, CREATE);
  // Give every job a step, so the listing loads steps and events for real.
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query(`insert into job_step (job_id, name, position) select id, 'only', 0 from job`);
  await db.end();
  const listedAlone = await load(api.url!, list(50), 1);
  const listed = await load(api.url!, list(50));
  const rows = [
    {
      request: `createJob (${CONNECTIONS} connections)`,
      'requests/s': round(created.requests.average),
      'p50 ms': created.latency.p50,
      'p99 ms': created.latency.p99,
    },
    {
      request: 'jobs(first: 50) + steps + events (1 connection)',
      'requests/s': round(listedAlone.requests.average),
      'p50 ms': listedAlone.latency.p50,
      'p99 ms': listedAlone.latency.p99,
    },
    {
      request: `jobs(first: 50) + steps + events (${CONNECTIONS} connections)`,
      'requests/s': round(listed.requests.average),
      'p50 ms': listed.latency.p50,
      'p99 ms': listed.latency.p99,
    },
  ];
  const queries = { 'jobs(first: 10)': await queriesPerRequest(databaseUrl, 10), 'jobs(first: 50)': await queriesPerRequest(databaseUrl, 50) };
  await report('api', rows, { connections: CONNECTIONS, seconds: SECONDS, prismaQueriesPerRequest: queries, jobsCreated: created.requests.total });
  console.log('Prisma queries per request:', queries);
} finally {
  await api.stop();
  await server.stop();
}
