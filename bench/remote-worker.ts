// Remote workers: N no-op jobs run to COMPLETED (full event history) through
// the remote-worker protocol (/workers/v1 of a `serve` process; Node clients
// in this process, each claiming in batches and completing each batch with
// its next claim) against the in-process worker (bench:throughput's
// settings), on the same server, side by side in each round, which side goes
// first alternating.
// The remote side runs twice per round: claims with markRunning false (RUNNING
// written with COMPLETED, one write per job) and true (the protocol's default).
//   npm run bench:remote-worker   (BENCH_JOBS, BENCH_ROUNDS, BENCH_REMOTE_CLIENTS, BENCH_REMOTE_BATCH)
import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import { LOCAL_PRINCIPAL } from '../src/auth/principal.ts';
import { Listener } from '../src/db/listener.ts';
import { createPool } from '../src/db/pool.ts';
import { createRegistry } from '../src/handlers.ts';
import { createJobs } from '../src/jobs/create.ts';
import { startWorker } from '../src/worker/runner.ts';
import { logger, median, report, round, servePlaceholderWorker, spawnCli, startBenchServer, throughputConfig } from './support.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Remote workers claiming side by side (each one claim → complete loop). */
const CLIENTS = Number(process.env.BENCH_REMOTE_CLIENTS ?? 4);
/** Jobs per claim (and per completion call). */
const BATCH = Number(process.env.BENCH_REMOTE_BATCH ?? 50);
const JOB_TYPE = 'system.noop';

/** bench:throughput's settings for the in-process worker (support.ts). */
const benchConfig = (databaseUrl: string) => throughputConfig(databaseUrl, { CREATE_JOBS_MAX: '1000', WORKER_COMPLETE_BATCH_DELAY_MS: '0' });

async function insertJobs(databaseUrl: string) {
  const config = benchConfig(databaseUrl);
  const pool = createPool(databaseUrl, 4, logger);
  const registry = createRegistry({ pool, config });
  // The jobs are inserted before the measured workers start (support.ts).
  await servePlaceholderWorker(pool, registry, [JOB_TYPE]);
  for (let i = 0; i < JOBS; i += 1000) {
    await createJobs({ pool, registry, config }, LOCAL_PRINCIPAL, Array.from({ length: Math.min(1000, JOBS - i) }, () => ({ jobType: JOB_TYPE })), 'jobs');
  }
  await pool.end();
}

async function untilAllCompleted(pool: pg.Pool) {
  for (;;) {
    const { rows } = await pool.query<{ n: string }>(`select count(*) as n from job where status in ('PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING')`);
    if (Number(rows[0]!.n) === 0) return;
    await delay(20);
  }
}

async function checkHistory(pool: pg.Pool) {
  const completed = await pool.query<{ n: string }>(`select count(*) as n from job where status = 'COMPLETED'`);
  if (Number(completed.rows[0]!.n) !== JOBS) throw new Error(`expected ${JOBS} COMPLETED jobs, found ${completed.rows[0]!.n}`);
  const history = await pool.query<{ n: string }>('select count(*) as n from job_event');
  if (Number(history.rows[0]!.n) !== 3 * JOBS) throw new Error(`expected ${3 * JOBS} events, found ${history.rows[0]!.n}`);
}

async function inProcess(databaseUrl: string): Promise<number> {
  await insertJobs(databaseUrl);
  const config = benchConfig(databaseUrl);
  const pool = createPool(databaseUrl, config.DATABASE_POOL_SIZE, logger);
  const registry = createRegistry({ pool, config });
  const listener = new Listener(databaseUrl, logger);
  await listener.start();
  const started = performance.now();
  const worker = await startWorker({ config, connectionString: databaseUrl, pool, listener, registry, logger });
  await untilAllCompleted(pool);
  const seconds = (performance.now() - started) / 1000;
  await worker.stop();
  await checkHistory(pool);
  await listener.stop();
  await pool.end();
  return JOBS / seconds;
}

async function call(baseUrl: string, operation: string, body: unknown): Promise<any> {
  const response = await fetch(`${baseUrl}/workers/v1/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as any;
  if (!response.ok) throw new Error(`${operation}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** One remote worker: each claim completes the previous batch and takes the next, until a claim finds nothing. */
async function remoteClient(baseUrl: string, workerId: string, markRunning: boolean): Promise<number> {
  await call(baseUrl, 'register', { workerId, jobTypes: [JOB_TYPE], leaseSeconds: 60 });
  let done = 0;
  let finished: Array<{ jobId: string; result: Record<string, never> }> = [];
  for (;;) {
    const answer = await call(baseUrl, 'claim', { workerId, jobTypes: [JOB_TYPE], limit: BATCH, markRunning, complete: finished });
    done += (answer.completed ?? []).filter((state: { state: string }) => state.state === 'COMPLETED').length;
    // No-op jobs: each is done as soon as it is claimed.
    finished = answer.jobs.map((job: { id: string }) => ({ jobId: job.id, result: {} }));
    if (finished.length === 0) break;
  }
  await call(baseUrl, 'unregister', { workerId });
  return done;
}

async function remote(databaseUrl: string, markRunning: boolean): Promise<{ perSecond: number }> {
  await insertJobs(databaseUrl);
  // With authentication off the API binds loopback only, and every caller is the local admin (a worker of every tenant).
  const api = await spawnCli('serve', { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '20' });
  const baseUrl = new URL(api.url!).origin;
  const pool = createPool(databaseUrl, 2, logger);
  const started = performance.now();
  const done = await Promise.all(Array.from({ length: CLIENTS }, (_, n) => remoteClient(baseUrl, `bench-${n}`, markRunning)));
  await untilAllCompleted(pool);
  const seconds = (performance.now() - started) / 1000;
  if (done.reduce((a, b) => a + b, 0) !== JOBS) throw new Error(`the clients completed ${done.reduce((a, b) => a + b, 0)} jobs, not ${JOBS}`);
  await checkHistory(pool);
  await api.stop();
  await pool.end();
  return { perSecond: JOBS / seconds };
}

const server = await startBenchServer();
try {
  const rows = [];
  for (let round_ = 1; round_ <= ROUNDS; round_++) {
    const localUrl = await server.database(`bench_remote_local_${round_}`);
    const remoteUrl = await server.database(`bench_remote_remote_${round_}`);
    const markedUrl = await server.database(`bench_remote_marked_${round_}`);
    let local: number;
    let viaProtocol: Awaited<ReturnType<typeof remote>>;
    let marked: Awaited<ReturnType<typeof remote>>;
    if (round_ % 2 === 1) {
      local = await inProcess(localUrl);
      viaProtocol = await remote(remoteUrl, false);
      marked = await remote(markedUrl, true);
    } else {
      marked = await remote(markedUrl, true);
      viaProtocol = await remote(remoteUrl, false);
      local = await inProcess(localUrl);
    }
    rows.push({
      round: round_,
      'in-process jobs/s': round(local),
      'remote jobs/s': round(viaProtocol.perSecond),
      'remote/in-process': round(viaProtocol.perSecond / local, 2),
      'remote markRunning jobs/s': round(marked.perSecond),
      'remote markRunning/in-process': round(marked.perSecond / local, 2),
    });
    console.log(rows.at(-1));
  }
  const summary = {
    'median in-process jobs/s': round(median(rows.map((r) => r['in-process jobs/s']))),
    'median remote jobs/s': round(median(rows.map((r) => r['remote jobs/s']))),
    'median remote/in-process': round(median(rows.map((r) => r['remote/in-process'])), 2),
    'median remote markRunning jobs/s': round(median(rows.map((r) => r['remote markRunning jobs/s']))),
    'median remote markRunning/in-process': round(median(rows.map((r) => r['remote markRunning/in-process'])), 2),
  };
  await report('remote-worker', rows, { jobs: JOBS, clients: CLIENTS, batch: BATCH, summary });
  console.log(summary);
} finally {
  await server.stop();
}
