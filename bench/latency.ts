// Live latency: jobs created one by one at a steady rate; for each, the time
// from its COMPLETED event's insert (in the completing transaction, just before
// commit) to its arrival at graphql-ws subscribers of jobEvents, with 1, 100,
// 1,000 and 10,000 subscribers; lost, duplicated or out-of-order events; the
// API process's RSS.
//
// Each size gets a fresh API process (`serve`, the compiled build as `npm start`
// runs it; BENCH_RUNTIME=tsx: the sources) at its defaults, so that its RSS is
// what that many subscribers cost. The subscribers are real graphql-ws clients,
// one socket each, spread over child processes (bench/children/
// latency-subscribers.ts, BENCH_SUBSCRIBERS_PER_PROCESS each): one process
// cannot read 10,000 sockets' messages fast enough to measure the API rather
// than itself.
//   npm run bench:latency   (BENCH_SIZES=1,100,1000,10000 BENCH_LATENCY_JOBS=100 BENCH_RATE=20;
//   BENCH_API_NODE_OPTIONS: Node flags for the API process only, e.g. V8 heap limits)
import { fork, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { buildService, percentile, report, round, spawnCli, startBenchServer } from './support.ts';

const SIZES = (process.env.BENCH_SIZES ?? '1,100,1000,10000').split(',').map(Number);
const JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 100);
const RATE = Number(process.env.BENCH_RATE ?? 20);
const PER_PROCESS = Number(process.env.BENCH_SUBSCRIBERS_PER_PROCESS ?? 2500);
const RUNTIME = process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'dist';
if (RUNTIME === 'dist') buildService();

async function createJob(url: string, queue: string, attempt = 1): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: `mutation ($queue: String!) { createJob(input: { jobType: "system.noop", queueName: $queue }) { __typename } }`,
      variables: { queue },
    }),
  }).catch((error: Error) => {
    // A kept-alive connection the API closed as it was reused (ECONNRESET before
    // any answer, so nothing was created): once more on a new one. The events
    // expected are read from the log, so even a job created twice is checked.
    if (attempt < 2) return null;
    throw error;
  });
  if (!response) return createJob(url, queue, attempt + 1);
  const body = (await response.json()) as { data?: { createJob: { __typename: string } } };
  if (body.data?.createJob.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(body));
}

type FromChild =
  | { type: 'ready' | 'connected' | 'reset' }
  | { type: 'failed'; message: string }
  | { type: 'received'; fewest: number }
  | { type: 'connecting'; connected: number }
  | { type: 'collected'; latencies: Int32Array; sequences: Array<{ ids: string[]; subscribers: number }> };

/** CPU time a process has used so far (user + system), in ms: fields 14 and 15 of /proc/PID/stat, in ticks of 10 ms. */
async function cpuMsOf(pid: number | undefined): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** One child process of subscribers, as the parent sees it. */
class Subscribers {
  readonly process: ChildProcess;
  fewest = 0;
  connected = 0;
  failure: Error | undefined;
  #waiters = new Map<string, (message: FromChild) => void>();

  constructor(readonly count: number) {
    this.process = fork(new URL('./children/latency-subscribers.ts', import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (message: FromChild) => {
      if (message.type === 'failed') this.failure ??= new Error(message.message);
      if (message.type === 'received') this.fewest = message.fewest;
      if (message.type === 'connecting') this.connected = message.connected;
      this.#waiters.get(message.type)?.(message);
    });
    this.process.once('exit', (code) => (this.failure ??= code ? new Error(`a subscriber process exited with ${code}`) : undefined));
  }

  next<T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>> {
    return new Promise((resolve) => this.#waiters.set(type, resolve as (message: FromChild) => void));
  }

  async stop() {
    if (this.process.exitCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.send({ type: 'stop' });
    await Promise.race([exited, delay(30_000).then(() => this.process.kill('SIGKILL'))]);
  }
}

const server = await startBenchServer();
const databaseUrl = await server.database('bench_latency');
const env = { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', JOB_PROGRESS_THROTTLE_MS: '0' };
const apiEnv = { ...env, ...(process.env.BENCH_API_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_API_NODE_OPTIONS } : {}) };
const worker = await spawnCli('work', { ...env, WORKER_CONCURRENCY: '10' }, RUNTIME);
const db = new pg.Client({ connectionString: databaseUrl });
await db.connect();
const rows = [];
let failedOnce = false;
try {
  for (const size of SIZES) {
    const queue = `latency-${size}`;
    const api = await spawnCli('serve', apiEnv, RUNTIME);
    const children: Subscribers[] = [];
    const until = async (what: string, done: () => boolean, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // A refused or dropped socket (e.g. 4429, too many sockets) fails the run at once.
        const failure = children.find((child) => child.failure)?.failure;
        if (failure) throw failure;
        if (done()) return;
        if (Date.now() > deadline) throw new Error(`${size} subscribers: timed out after ${timeoutMs} ms waiting for ${what}`);
        await delay(20);
      }
    };
    try {
      const rssBefore = await api.rssMb();
      for (let first = 0; first < size; first += PER_PROCESS) children.push(new Subscribers(Math.min(PER_PROCESS, size - first)));
      await Promise.all(children.map((child) => child.next('ready')));
      let connected = 0;
      children.forEach((child, index) => {
        void child.next('connected').then(() => connected++);
        child.process.send({ type: 'start', url: api.url!.replace(/^http/, 'ws'), queue, count: child.count, firstIndex: index * PER_PROCESS });
      });
      const connecting = performance.now();
      // Generous: ~10 ms a socket on a loaded machine; the time taken is reported.
      await until('every socket to connect', () => connected === children.length, 60_000 + size * 30).catch((error: Error) => {
        throw new Error(`${error.message} (${children.reduce((sum, child) => sum + child.connected, 0)} connected)`);
      });
      const connectSeconds = (performance.now() - connecting) / 1000;
      console.log(`${size} subscribers connected in ${round(connectSeconds)} s`);
      // A probe job shows every subscription is live (graphql-ws does not acknowledge subscribes).
      await createJob(api.url!, queue);
      await until('the probe event at every subscriber', () => children.every((child) => child.fewest >= 1));
      await Promise.all(children.map((child) => (child.process.send({ type: 'reset' }), child.next('reset'))));
      children.forEach((child) => (child.fewest = 0));
      const rssConnected = await api.rssMb();
      console.log(`${size} subscribers: the probe arrived everywhere; creating ${JOBS} jobs at ${RATE}/s`);
      // CPU while the events flow: the API's, and the subscriber processes' (which share the machine with it).
      const clientsCpu = () => Promise.all(children.map((child) => cpuMsOf(child.process.pid))).then((all) => all.reduce((a, b) => a + b, 0));
      const [apiCpuBefore, clientsCpuBefore] = await Promise.all([api.cpuMs(), clientsCpu()]);
      const flowing = performance.now();

      for (let i = 0; i < JOBS; i++) {
        await createJob(api.url!, queue);
        await delay(1000 / RATE);
        if (children.some((child) => child.failure)) break;
      }
      await until('every event at every subscriber', () => children.every((child) => child.fewest >= JOBS), 30_000).catch((error: Error) => {
        // Counted below as lost; any other failure stops the run.
        if (error.message.includes('timed out')) return;
        throw error;
      });
      const [apiCpuAfter, clientsCpuAfter] = await Promise.all([api.cpuMs(), clientsCpu()]);
      const flowSeconds = (performance.now() - flowing) / 1000;
      const rssAfter = await api.rssMb();
      const collected = await Promise.all(children.map((child) => (child.process.send({ type: 'collect' }), child.next('collected'))));

      // Every subscriber must have every event once, in the log's order (the probe's was first, and forgotten).
      const { rows: logged } = await db.query<{ id: string }>(
        `select e.id::text as id from job_event e join job j on j.id = e.job_id
          where j.queue_name = $1 and e.status = 'COMPLETED' order by e.tx_id, e.id`,
        [queue],
      );
      const expected = logged.slice(1).map((row) => row.id);
      const position = new Map(expected.map((id, index) => [id, index]));
      let lost = 0;
      let duplicates = 0;
      let outOfOrder = 0;
      let unexpected = 0;
      for (const { ids, subscribers } of collected.flatMap((result) => result.sequences)) {
        const unique = new Set(ids);
        duplicates += (ids.length - unique.size) * subscribers;
        lost += expected.filter((id) => !unique.has(id)).length * subscribers;
        unexpected += [...unique].filter((id) => !position.has(id)).length * subscribers;
        const positions = ids.map((id) => position.get(id) ?? -1);
        if (positions.some((at, index) => index > 0 && at <= positions[index - 1]!)) outOfOrder += subscribers;
      }
      const latencies = collected.flatMap((result) => Array.from(result.latencies)).sort((a, b) => a - b);
      rows.push({
        subscribers: size,
        'client processes': children.length,
        'connect s': round(connectSeconds),
        deliveries: latencies.length,
        'p50 ms': percentile(latencies, 50),
        'p95 ms': percentile(latencies, 95),
        'p99 ms': percentile(latencies, 99),
        'max ms': latencies.at(-1),
        lost,
        duplicates,
        'out of order': outOfOrder + unexpected,
        // From the first job's create until every event arrived (or the wait gave up).
        'events s': round(flowSeconds),
        'API CPU s': round((apiCpuAfter - apiCpuBefore) / 1000),
        'API CPU µs a delivery': latencies.length ? round(((apiCpuAfter - apiCpuBefore) * 1000) / latencies.length) : null,
        'clients CPU s': round((clientsCpuAfter - clientsCpuBefore) / 1000),
        'API RSS MB before': round(rssBefore),
        'API RSS MB connected': round(rssConnected),
        'API RSS MB after': round(rssAfter),
        'API peak RSS MB': round(await api.peakRssMb()),
      });
      console.log(rows.at(-1));
      if (lost || duplicates || outOfOrder || unexpected) failedOnce = true;
    } finally {
      await Promise.allSettled(children.map((child) => child.stop()));
      await api.stop();
    }
  }
  await report('latency', rows, {
    jobsPerSize: JOBS,
    ratePerSecond: RATE,
    subscribersPerProcess: PER_PROCESS,
    runtime: RUNTIME,
    apiNodeOptions: process.env.BENCH_API_NODE_OPTIONS ?? null,
    // Issue 26's targets, at the sizes this run measured.
    headline: rows.flatMap((row) => {
      const p99 = Number(row['p99 ms']);
      const figures = [];
      if (row.subscribers === 1000) figures.push({ figure: 'p99 ms at 1,000 subscribers', value: p99, target: '≤ 25', held: p99 <= 25 });
      if (row.subscribers === 10_000) {
        figures.push({ figure: 'p99 ms at 10,000 subscribers', value: p99, target: '≤ 100', held: p99 <= 100 });
        const peak = Number(row['API peak RSS MB']);
        figures.push({ figure: 'API RSS MB at 10,000 subscribers (all connected / peak)', value: `${row['API RSS MB connected']} / ${peak}`, target: '≤ 400 (peak)', held: peak <= 400 });
      }
      if (row.subscribers !== 1000 && row.subscribers !== 10_000) figures.push({ figure: `p99 ms at ${row.subscribers} subscribers`, value: p99 });
      return figures;
    }),
  });
  if (failedOnce) throw new Error('events were lost, delivered twice or out of order (see those columns)');
} finally {
  await db.end();
  await worker.stop();
  await server.stop();
}
