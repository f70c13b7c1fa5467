// Throughput: N no-op jobs created in bulk and run to COMPLETED with their full
// event history, against raw graphile-worker running N no-op tasks with the
// same settings on the same server, side by side in each round.
//   npm run bench:throughput   (BENCH_JOBS, BENCH_ROUNDS, BENCH_CONCURRENCY, BENCH_LOCAL_QUEUE, BENCH_COMPLETE_BATCH_DELAY_MS)
//   BENCH_SCENARIO=concurrency-key: each of our jobs has its own concurrencyKey (limit 1): the cost of the key's gate.
//   BENCH_SCENARIO=webhook: ours only, four ways side by side in each round (no webhook loop; the loop with no
//     subscription; one subscription that matches nothing (DEAD_LETTER); one that matches every COMPLETED event,
//     POSTed to a local receiver): the cost of webhooks to job throughput, and the deliveries' own rate.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { run, type WorkerEvents } from 'graphile-worker';
import type { ServiceConfig } from '../src/service-config.ts';
import { Listener } from '../src/db/listener.ts';
import { workerLogger } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { createRegistry } from '../src/handlers.ts';
import { createJobs } from '../src/jobs/create.ts';
import { graphileWorkerSettings, startWorker } from '../src/worker/runner.ts';
import { logger, median, report, round, servePlaceholderWorker, startBenchServer, throughputConfig } from './support.ts';
import { LOCAL_PRINCIPAL } from '../src/auth/principal.ts';
import { ConnectionKeyring } from '../src/connections/encryption.ts';
import { createOutboundFetch } from '../src/net/outbound.ts';
import { WebhookService } from '../src/webhooks/service.ts';
import { createWebhookSubscription } from '../src/webhooks/subscriptions.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = 1000;
const SCENARIO = process.env.BENCH_SCENARIO ?? 'plain';
if (!['plain', 'concurrency-key', 'webhook'].includes(SCENARIO)) throw new Error(`BENCH_SCENARIO must be plain, concurrency-key or webhook, not ${SCENARIO}`);

/** BENCH_SCENARIO=webhook: how the run delivers webhooks. */
type Webhooks = 'none' | 'loop' | 'unmatched' | 'matched';

/** The worker settings every throughput-style bench shares (support.ts), with this bench's batch. */
export const benchConfig = (databaseUrl: string, extra: Record<string, string> = {}) =>
  throughputConfig(databaseUrl, { CREATE_JOBS_MAX: String(BATCH), ...extra });

/**
 * graphile-worker's events, resolving `allTasksDone` once `count` tasks have
 * finished: the run is then polled for its last writes only, so polling does
 * not load the database while the jobs run.
 */
function countTasks(count: number) {
  const events: WorkerEvents = new EventEmitter();
  let done = 0;
  const allTasksDone = new Promise<void>((resolve) => {
    events.on('job:complete', () => {
      if (++done === count) resolve();
    });
  });
  return { events, allTasksDone };
}

async function untilCount(pool: ReturnType<typeof createPool>, sql: string, target: number) {
  for (;;) {
    const { rows } = await pool.query<{ n: string }>(sql);
    if (Number(rows[0]!.n) === target) return;
    await delay(20);
  }
}

async function raw(databaseUrl: string, config: ServiceConfig) {
  const pool = createPool(databaseUrl, config.DATABASE_POOL_SIZE, logger);
  for (let i = 0; i < JOBS; i += BATCH) {
    await pool.query(
      `select graphile_worker.add_jobs(array(select row('noop', '{}'::json, null, null, null, null, null, null)::graphile_worker.job_spec from generate_series(1, $1)))`,
      [Math.min(BATCH, JOBS - i)],
    );
  }
  const { events, allTasksDone } = countTasks(JOBS);
  const started = performance.now();
  const runner = await run({ pgPool: pool, ...graphileWorkerSettings(config), noHandleSignals: true, logger: workerLogger(logger), events, taskList: { noop: async () => {} } });
  await allTasksDone;
  await untilCount(pool, 'select count(*) as n from graphile_worker._private_jobs', 0);
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  await pool.end();
  return JOBS / seconds;
}

/** A receiver that answers every POST 200 at once (BENCH_SCENARIO=webhook). */
async function startReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

async function ours(databaseUrl: string, config: ServiceConfig, webhooks: Webhooks = 'none', receiverUrl = '') {
  const pool = createPool(databaseUrl, config.DATABASE_POOL_SIZE, logger);
  const registry = createRegistry({ pool, config });
  // The jobs are inserted before the worker starts (support.ts).
  await servePlaceholderWorker(pool, registry, ['system.noop']);
  const createStarted = performance.now();
  for (let i = 0; i < JOBS; i += BATCH) {
    const inputs = Array.from({ length: Math.min(BATCH, JOBS - i) }, (_, j) =>
      SCENARIO === 'concurrency-key' ? { jobType: 'system.noop', concurrencyKey: `bench-${i + j}` } : { jobType: 'system.noop' },
    );
    await createJobs({ pool, registry, config }, LOCAL_PRINCIPAL, inputs, 'jobs');
  }
  const createPerSecond = JOBS / ((performance.now() - createStarted) / 1000);
  const listener = new Listener(databaseUrl, logger);
  await listener.start();
  const { events, allTasksDone } = countTasks(JOBS);
  // The webhook loop as a worker process runs it (app.ts), with one subscription or none.
  let webhookService: WebhookService | undefined;
  if (webhooks !== 'none') {
    const keyring = new ConnectionKeyring(randomBytes(32));
    if (webhooks !== 'loop') {
      const statuses = webhooks === 'matched' ? (['COMPLETED'] as const) : (['DEAD_LETTER'] as const);
      await createWebhookSubscription(pool, keyring, LOCAL_PRINCIPAL, { url: receiverUrl, statuses: [...statuses] }, ['127.0.0.1']);
    }
    webhookService = new WebhookService({ pool, listener, keyring, outbound: createOutboundFetch({ allowList: ['127.0.0.1'], maxRedirects: 0 }), config, logger });
    await webhookService.start();
  }
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const worker = await startWorker({ config, connectionString: databaseUrl, pool, listener, registry, logger, events });
  // As the raw run, then until no job is active: a worker writes a job's
  // outcome just after graphile-worker removes its queue entry.
  await allTasksDone;
  await untilCount(pool, 'select count(*) as n from graphile_worker._private_jobs', 0);
  await untilCount(pool, `select count(*) as n from job where status in ('PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING')`, 0);
  const seconds = (performance.now() - started) / 1000;
  const completed = await pool.query<{ n: string }>(`select count(*) as n from job where status = 'COMPLETED'`);
  if (Number(completed.rows[0]!.n) !== JOBS) throw new Error(`expected ${JOBS} COMPLETED jobs, found ${completed.rows[0]!.n}`);
  const cpu = process.cpuUsage(cpuBefore);
  const workerCpuShare = (cpu.user + cpu.system) / 1e6 / seconds;
  // Every COMPLETED event delivered: the deliveries' rate from the worker's start.
  let deliveriesPerSecond: number | undefined;
  if (webhooks === 'matched') {
    await untilCount(pool, `select count(*) as n from webhook_delivery where status = 'DELIVERED'`, JOBS);
    deliveriesPerSecond = JOBS / ((performance.now() - started) / 1000);
  }
  await webhookService?.stop();
  await worker.stop();
  const history = await pool.query<{ n: string }>('select count(*) as n from job_event');
  if (Number(history.rows[0]!.n) !== 3 * JOBS) throw new Error(`expected ${3 * JOBS} events, found ${history.rows[0]!.n}`);
  await listener.stop();
  await pool.end();
  return { perSecond: JOBS / seconds, createPerSecond, workerCpuShare, deliveriesPerSecond };
}

/** BENCH_SCENARIO=webhook: the four ways in each round, their order rotating. */
async function webhookRounds() {
  const receiver = await startReceiver();
  const ways: Webhooks[] = ['none', 'loop', 'unmatched', 'matched'];
  const rows = [];
  try {
    for (let round_ = 1; round_ <= ROUNDS; round_++) {
      const perSecond: Partial<Record<Webhooks, number>> = {};
      let deliveries = 0;
      for (let i = 0; i < ways.length; i++) {
        const way = ways[(i + round_ - 1) % ways.length]!;
        const url = await server.database(`bench_webhook_${way}_${round_}`);
        const result = await ours(url, benchConfig(url), way, receiver.url);
        perSecond[way] = result.perSecond;
        if (result.deliveriesPerSecond) deliveries = result.deliveriesPerSecond;
      }
      rows.push({
        round: round_,
        'no loop jobs/s': round(perSecond.none!),
        'loop, no subscription jobs/s': round(perSecond.loop!),
        'one unmatched subscription jobs/s': round(perSecond.unmatched!),
        'one matching subscription jobs/s': round(perSecond.matched!),
        'unmatched/no loop': round(perSecond.unmatched! / perSecond.none!, 2),
        'matched/no loop': round(perSecond.matched! / perSecond.none!, 2),
        'deliveries/s (matched)': round(deliveries),
      });
      console.log(rows.at(-1));
    }
  } finally {
    await receiver.close();
  }
  const summary = {
    'median loop, no subscription / no loop': round(median(rows.map((r) => r['loop, no subscription jobs/s'] / r['no loop jobs/s'])), 2),
    'median unmatched/no loop': round(median(rows.map((r) => r['unmatched/no loop'])), 2),
    'median matched/no loop': round(median(rows.map((r) => r['matched/no loop'])), 2),
    'median deliveries/s': round(median(rows.map((r) => r['deliveries/s (matched)']))),
  };
  await report('throughput-webhook', rows, { jobs: JOBS, scenario: SCENARIO, summary });
  console.log({ scenario: SCENARIO, ...summary });
}

const server = await startBenchServer();
try {
  if (SCENARIO === 'webhook') {
    await webhookRounds();
    // The other scenarios' rounds are below; this one is done (the server stops here, as in `finally`).
    await server.stop();
    process.exit(0);
  }
  const rows = [];
  for (let round_ = 1; round_ <= ROUNDS; round_++) {
    const rawUrl = await server.database(`bench_raw_${round_}`);
    const oursUrl = await server.database(`bench_ours_${round_}`);
    // Which side runs first alternates, so a slow spell on this shared machine
    // does not always fall on the same side.
    let rawPerSecond: number;
    let result: Awaited<ReturnType<typeof ours>>;
    if (round_ % 2 === 1) {
      rawPerSecond = await raw(rawUrl, benchConfig(rawUrl));
      result = await ours(oursUrl, benchConfig(oursUrl));
    } else {
      result = await ours(oursUrl, benchConfig(oursUrl));
      rawPerSecond = await raw(rawUrl, benchConfig(rawUrl));
    }
    rows.push({
      round: round_,
      'raw jobs/s': round(rawPerSecond),
      'ours jobs/s': round(result.perSecond),
      'ours/raw': round(result.perSecond / rawPerSecond, 2),
      'createJobs jobs/s': round(result.createPerSecond),
      'worker CPU (cores)': round(result.workerCpuShare, 2),
    });
    console.log(rows.at(-1));
  }
  const settings = benchConfig('postgres://x');
  const summary = {
    'median raw jobs/s': round(median(rows.map((r) => r['raw jobs/s']))),
    'median ours jobs/s': round(median(rows.map((r) => r['ours jobs/s']))),
    'median ours/raw': round(median(rows.map((r) => r['ours/raw'])), 2),
  };
  await report(SCENARIO === 'plain' ? 'throughput' : `throughput-${SCENARIO}`, rows, {
    jobs: JOBS,
    scenario: SCENARIO,
    settings: {
      concurrency: settings.WORKER_CONCURRENCY,
      localQueueSize: settings.WORKER_LOCAL_QUEUE_SIZE,
      completeJobBatchDelayMs: settings.WORKER_COMPLETE_BATCH_DELAY_MS,
      pollIntervalMs: settings.WORKER_POLL_INTERVAL_MS,
    },
    summary,
    // Issue 26's target: our jobs with their full history at 0.8 of raw graphile-worker's rate or better.
    headline: [
      { figure: 'median ours jobs/s', value: summary['median ours jobs/s'] },
      ...(SCENARIO === 'plain' ? [{ figure: 'median ours/raw', value: summary['median ours/raw'], target: '≥ 0.8', held: summary['median ours/raw'] >= 0.8 }] : []),
    ],
  });
  console.log({ scenario: SCENARIO, ...summary });
} finally {
  await server.stop();
}
