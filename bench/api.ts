// API: createJob mutations per second over HTTP with concurrent clients
// (autocannon), and jobs(first: 50) with steps and events: latency percentiles
// of one client alone and under concurrent clients, and Prisma queries per
// request for 10 and 50 jobs. createJob runs against two API processes on the
// same database, one without authentication and one with an API key,
// alternating, in the same run. The API processes run the compiled build, as
// `npm run serve` does (BENCH_RUNTIME=tsx: the sources), at the defaults but
// MUTATION_RATE_LIMIT_PER_MINUTE=0. Each row says the API process's CPU time
// per request (a figure the machine's other load moves less than requests/s)
// and the keyed API's peak RSS under the createJob load is printed. Last, how
// long the query bombs of issue 13 take to be refused, and the API's peak
// memory before and after. A third API process with an API key writes each
// create alone (CREATE_COALESCE_MAX_JOBS=1), in the same alternating rounds:
// the A/B of group commit (src/jobs/create-coalescer.ts), with Postgres' CPU
// time per request (every process of the embedded server) beside the API's.
// BENCH_API_ONLY=list runs the listing alone: one createJob load makes the
// jobs, then the two jobs-list rows (no authentication rounds, bombs or query counts).
//   npm run bench:api   (BENCH_CONNECTIONS=10 BENCH_SECONDS=10 BENCH_AUTH_ROUNDS=2 BENCH_API_ONLY=list)
import autocannon from 'autocannon';
import pg from 'pg';
import { startApp } from '../src/app.ts';
import { createApiKey } from '../src/auth/api-keys.ts';
import { loadConfig } from '../src/service-config.ts';
import { recordingQueries, type RecordedQuery } from '../src/testing/prisma-queries.ts';
import { buildService, logger, postgresCpuMs, report, round, spawnCli, startBenchServer, type Child } from './support.ts';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

const CREATE = JSON.stringify({
  query: 'mutation { createJob(input: { jobType: "system.noop", queueName: "api-bench", scheduledAt: "2999-01-01T00:00:00Z" }) { __typename ... on MutationCreateJobSuccess { data { id status } } } }',
});
const list = (first: number) =>
  JSON.stringify({
    query: `{ jobs(first: ${first}) { edges { node { id status jobType steps(first: 10) { edges { node { name status } } } events(first: 10) { edges { node { status createdAt } } } } } } }`,
  });

const ONLY = process.env.BENCH_API_ONLY || undefined;
if (ONLY !== undefined && ONLY !== 'list') throw new Error(`BENCH_API_ONLY=${ONLY}: the one part that runs alone is list`);
const AUTH_ROUNDS = ONLY === 'list' ? 0 : Number(process.env.BENCH_AUTH_ROUNDS ?? 2);
const RUNTIME = process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'dist';

/** autocannon's result, and the API process's (and Postgres') CPU time per request while it ran. */
async function load(api: Child, body: string, connections = CONNECTIONS, headers: Record<string, string> = {}) {
  const cpuBefore = await api.cpuMs();
  const postgresBefore = await postgresCpuMs(databaseUrl);
  const result = await autocannon({ url: api.url!, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, connections, duration: SECONDS });
  if (result.non2xx || result.errors) throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const requests = Math.max(1, result.requests.total);
  return {
    ...result,
    cpuMsPerRequest: ((await api.cpuMs()) - cpuBefore) / requests,
    postgresCpuMsPerRequest: ((await postgresCpuMs(databaseUrl)) - postgresBefore) / requests,
  };
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

/** Milliseconds until the API answers a refused query bomb, and the refusal. */
async function refusal(url: string, query: string) {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' }, body: JSON.stringify({ query }) });
  const body = (await response.json()) as { errors?: Array<{ message: string }> };
  return { ms: round(performance.now() - started), status: response.status, refusal: body.errors?.[0]?.message ?? '(not refused)' };
}

function bombs() {
  let nested = 'id';
  for (let level = 0; level < 10; level++) nested = `job { events(first: 3) { edges { node { ${nested} } } } }`;
  return {
    'depth: job → events → job, 10 levels, 3 per level': `{ jobs(first: 3) { edges { node { events(first: 3) { edges { node { ${nested} } } } } } } }`,
    'aliases: 1,000 × jobs(first: 100)': `{ ${Array.from({ length: 1000 }, (_, index) => `a${index}: jobs(first: 100) { totalCount }`).join(' ')} }`,
    'size: 5 MB document of aliases': `{ ${'a: jobTypes { jobType } '.repeat((5 * 1024 * 1024) / 25)} }`,
    'cost: three nested pages of 100': '{ jobs(first: 100) { edges { node { events(first: 100) { edges { node { job { events(first: 100) { edges { node { id } } } } } } } } } } }',
  };
}

if (RUNTIME === 'dist') buildService();
const server = await startBenchServer();
const databaseUrl = await server.database('bench_api');
const unlimited = { DATABASE_URL: databaseUrl, MUTATION_RATE_LIMIT_PER_MINUTE: '0' };
const api = await spawnCli('serve', unlimited, RUNTIME);
const keyClient = new pg.Client({ connectionString: databaseUrl });
await keyClient.connect();
const { key } = await createApiKey(keyClient, { name: 'bench', tenantId: 'bench', scopes: ['jobs:read', 'jobs:write'] });
await keyClient.end();
const authApi = await spawnCli('serve', { ...unlimited, AUTH_ENABLED: 'true' }, RUNTIME);
const aloneApi = await spawnCli('serve', { ...unlimited, AUTH_ENABLED: 'true', CREATE_COALESCE_MAX_JOBS: '1' }, RUNTIME);
try {
  // Same run, alternating which goes first: the machine's load moves both alike.
  const withoutAuth: number[] = [];
  const withKey: number[] = [];
  const keyedCpu: number[] = [];
  const keyedP50: number[] = [];
  const keyedPostgresCpu: number[] = [];
  const alone = { requestsPerSecond: [] as number[], p50Ms: [] as number[], apiCpuMsPerRequest: [] as number[], postgresCpuMsPerRequest: [] as number[] };
  for (let pass = 0; pass < AUTH_ROUNDS; pass++) {
    const plain = () => load(api, CREATE).then((result) => withoutAuth.push(result.requests.average));
    const keyed = () =>
      load(authApi, CREATE, CONNECTIONS, { authorization: `Bearer ${key}` }).then((result) => {
        withKey.push(result.requests.average);
        keyedCpu.push(result.cpuMsPerRequest);
        keyedP50.push(result.latency.p50);
        keyedPostgresCpu.push(result.postgresCpuMsPerRequest);
      });
    const keyedAlone = () =>
      load(aloneApi, CREATE, CONNECTIONS, { authorization: `Bearer ${key}` }).then((result) => {
        alone.requestsPerSecond.push(result.requests.average);
        alone.p50Ms.push(result.latency.p50);
        alone.apiCpuMsPerRequest.push(result.cpuMsPerRequest);
        alone.postgresCpuMsPerRequest.push(result.postgresCpuMsPerRequest);
      });
    if (pass % 2 === 0) await plain().then(keyed).then(keyedAlone);
    else await keyedAlone().then(keyed).then(plain);
  }
  const created = await load(api, CREATE);
  const keyedRssUnderCreate = await authApi.peakRssMb();
  const plainRssUnderCreate = await api.peakRssMb();
  // Give every job a step, so the listing loads steps and events for real.
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query(`insert into job_step (job_id, name, position) select id, 'only', 0 from job`);
  await db.end();
  const listedAlone = await load(api, list(50), 1);
  const listed = await load(api, list(50));
  const rows = [
    {
      request: `createJob (${CONNECTIONS} connections)`,
      'requests/s': round(created.requests.average),
      'p50 ms': created.latency.p50,
      'p99 ms': created.latency.p99,
      'API CPU ms/request': round(created.cpuMsPerRequest, 2),
    },
    {
      request: 'jobs(first: 50) + steps + events (1 connection)',
      'requests/s': round(listedAlone.requests.average),
      'p50 ms': listedAlone.latency.p50,
      'p99 ms': listedAlone.latency.p99,
      'API CPU ms/request': round(listedAlone.cpuMsPerRequest, 2),
    },
    {
      request: `jobs(first: 50) + steps + events (${CONNECTIONS} connections)`,
      'requests/s': round(listed.requests.average),
      'p50 ms': listed.latency.p50,
      'p99 ms': listed.latency.p99,
      'API CPU ms/request': round(listed.cpuMsPerRequest, 2),
    },
  ];
  if (ONLY === 'list') {
    await report('api-list', rows, { connections: CONNECTIONS, seconds: SECONDS, runtime: RUNTIME, jobsCreated: created.requests.total });
  } else {
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const authRows = [
      { createJob: 'without authentication', 'requests/s (mean of rounds)': round(mean(withoutAuth)), rounds: withoutAuth.map((value) => round(value)).join(' / ') },
      {
        createJob: 'with an API key',
        'requests/s (mean of rounds)': round(mean(withKey)),
        rounds: withKey.map((value) => round(value)).join(' / '),
        'p50 ms': keyedP50.join(' / '),
        'API CPU ms/request': keyedCpu.map((value) => round(value, 2)).join(' / '),
        'Postgres CPU ms/request': keyedPostgresCpu.map((value) => round(value, 2)).join(' / '),
      },
      {
        createJob: 'with an API key, each create alone (CREATE_COALESCE_MAX_JOBS=1)',
        'requests/s (mean of rounds)': round(mean(alone.requestsPerSecond)),
        rounds: alone.requestsPerSecond.map((value) => round(value)).join(' / '),
        'p50 ms': alone.p50Ms.join(' / '),
        'API CPU ms/request': alone.apiCpuMsPerRequest.map((value) => round(value, 2)).join(' / '),
        'Postgres CPU ms/request': alone.postgresCpuMsPerRequest.map((value) => round(value, 2)).join(' / '),
      },
    ];
    console.table(authRows);
    console.log(`API key / no authentication: ${round((100 * mean(withKey)) / mean(withoutAuth))} %`);
    // Round by round (each pair ran back to back), so that the machine's drift moves both alike.
    const pairRatios = withKey.map((value, index) => value / alone.requestsPerSecond[index]!);
    console.log(`group commit / each create alone (requests/s, round by round): ${pairRatios.map((ratio) => round(ratio, 2)).join(' / ')}`);
    console.log(
      `API peak RSS under the createJob load (${RUNTIME === 'dist' ? 'node dist/main.js serve' : 'tsx src/main.ts serve'}): with an API key ${round(keyedRssUnderCreate)} MB, without authentication ${round(plainRssUnderCreate)} MB`,
    );

    const rssBefore = await api.peakRssMb();
    const bombRows = [];
    for (const [name, query] of Object.entries(bombs())) bombRows.push({ bomb: name, ...(await refusal(api.url!, query)) });
    console.table(bombRows);
    console.log(`API peak RSS before the bombs: ${round(rssBefore)} MB, after: ${round(await api.peakRssMb())} MB`);

    const queries = { 'jobs(first: 10)': await queriesPerRequest(databaseUrl, 10), 'jobs(first: 50)': await queriesPerRequest(databaseUrl, 50) };
    await report('api', rows, {
      connections: CONNECTIONS,
      seconds: SECONDS,
      runtime: RUNTIME,
      createJobWithApiKey: { requestsPerSecond: withKey, p50Ms: keyedP50, apiCpuMsPerRequest: keyedCpu, postgresCpuMsPerRequest: keyedPostgresCpu },
      createJobWithApiKeyEachAlone: alone,
      createJobWithoutAuthentication: { requestsPerSecond: withoutAuth },
      apiPeakRssMbUnderCreate: { withApiKey: keyedRssUnderCreate, withoutAuthentication: plainRssUnderCreate },
      prismaQueriesPerRequest: queries,
      jobsCreated: created.requests.total,
      // Issue 26's targets.
      headline: [
        { figure: 'createJob with an API key, requests/s (mean of rounds)', value: round(mean(withKey)), target: '≥ 2,000', held: mean(withKey) >= 2000 },
        { figure: 'serve peak RSS under the createJob load, with an API key (MB)', value: round(keyedRssUnderCreate), target: '≤ 200', held: keyedRssUnderCreate <= 200 },
        { figure: 'jobs(first: 50) + steps + events, 1 client, p50 ms', value: listedAlone.latency.p50, target: '≤ 4', held: listedAlone.latency.p50 <= 4 },
        { figure: `jobs(first: 50) + steps + events, ${CONNECTIONS} clients, requests/s`, value: round(listed.requests.average), target: '≥ 600', held: listed.requests.average >= 600 },
      ],
    });
    console.log('Prisma queries per request:', queries);
  }
} finally {
  await api.stop();
  await authApi.stop();
  await aloneApi.stop();
  await server.stop();
}
