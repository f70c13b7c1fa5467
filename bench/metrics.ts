// /metrics under load: BENCH_JOBS no-op jobs run by a worker while /metrics is
// scraped every BENCH_SCRAPE_INTERVAL_MS (the worker settings of
// bench:throughput); at the end the scraped counts are compared with the
// database. Then the job table grows to BENCH_STORED_JOBS and the cost of one
// scrape is measured: the first (which waits for the count), later ones (which
// serve the last count and refresh it in the background), and the count itself.
// Every scrape authenticates as a scraper does in production: AUTH_ENABLED and
// an admin API key (verified keys are cached for AUTH_API_KEY_CACHE_MS).
//   npm run bench:metrics   (BENCH_JOBS=20000, BENCH_STORED_JOBS=100000, BENCH_SCRAPE_INTERVAL_MS=1000)
import { setTimeout as delay } from 'node:timers/promises';
import { createApiKey } from '../src/auth/api-keys.ts';
import { createAuthenticator } from '../src/auth/authenticate.ts';
import { DEFAULT_TENANT, LOCAL_PRINCIPAL } from '../src/auth/principal.ts';
import { loadConfig } from '../src/service-config.ts';
import { Listener } from '../src/db/listener.ts';
import { createPool } from '../src/db/pool.ts';
import { createRegistry } from '../src/handlers.ts';
import { createJobs } from '../src/jobs/create.ts';
import { JobCounts } from '../src/metrics/job-counts.ts';
import { Metrics } from '../src/metrics/metrics.ts';
import { startMetricsServer } from '../src/http/metrics-server.ts';
import { startWorker } from '../src/worker/runner.ts';
import { logger, median, percentile, report, round, startBenchServer } from './support.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const STORED = Number(process.env.BENCH_STORED_JOBS ?? 100_000);
const SCRAPE_INTERVAL_MS = Number(process.env.BENCH_SCRAPE_INTERVAL_MS ?? 1000);
const BATCH = 1000;

/** Prometheus text → value of each sample, keyed by `name{labels}` as printed. */
function samples(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

let scrapeHeaders: Record<string, string> = {};

async function timedScrape(url: string) {
  const started = performance.now();
  const response = await fetch(url, { headers: scrapeHeaders });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`scrape answered ${response.status}: ${text}`);
  return { ms: performance.now() - started, values: samples(text) };
}

const server = await startBenchServer();
try {
  const databaseUrl = await server.database('bench_metrics');
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    DATABASE_POOL_SIZE: '20',
    WORKER_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? '10',
    WORKER_LOCAL_QUEUE_SIZE: process.env.BENCH_LOCAL_QUEUE ?? '50',
    WORKER_COMPLETE_BATCH_DELAY_MS: '0',
    WORKER_POLL_INTERVAL_MS: '1000',
    CREATE_JOBS_MAX: String(BATCH),
    AUTH_ENABLED: 'true',
  });
  const pool = createPool(databaseUrl, config.DATABASE_POOL_SIZE, logger);
  const registry = createRegistry({ pool, config });
  const authenticator = createAuthenticator(config, pool);
  const { key } = await createApiKey(pool, { name: 'bench-scraper', tenantId: DEFAULT_TENANT, scopes: ['admin'] });
  scrapeHeaders = { authorization: `Bearer ${key}` };
  const create = async (count: number) => {
    for (let i = 0; i < count; i += BATCH) {
      const inputs = Array.from({ length: Math.min(BATCH, count - i) }, () => ({ jobType: 'system.noop' }));
      await createJobs({ pool, registry, config }, { ...LOCAL_PRINCIPAL, principalId: 'bench' }, inputs, 'jobs');
    }
  };
  const dbCount = async (sql: string) => Number((await pool.query<{ n: string }>(sql)).rows[0]!.n);

  // 1. Scraped while a worker runs the jobs; compared with the database at the end.
  await create(JOBS);
  const metrics = new Metrics();
  metrics.observeJobCounts(new JobCounts(pool, SCRAPE_INTERVAL_MS, logger));
  const endpoint = await startMetricsServer(metrics, authenticator, '127.0.0.1', 0, logger);
  const listener = new Listener(databaseUrl, logger);
  await listener.start();
  const worker = await startWorker({ config, connectionString: databaseUrl, pool, listener, registry, logger, metrics });
  const scrapeMs: number[] = [];
  let running = true;
  const scraper = (async () => {
    while (running) {
      scrapeMs.push((await timedScrape(endpoint.url)).ms);
      await delay(SCRAPE_INTERVAL_MS);
    }
  })();
  while ((await dbCount(`select count(*) as n from job where status <> 'COMPLETED'`)) > 0) await delay(100);
  // Outcomes are written just after the tasks return; the counters move as they commit.
  const endedAt = Date.now();
  running = false;
  await scraper;
  let final: Map<string, number>;
  do {
    await delay(SCRAPE_INTERVAL_MS);
    final = (await timedScrape(endpoint.url)).values;
  } while ((final.get('jobwire_jobs_counted_at_seconds') ?? 0) * 1000 < endedAt);
  await worker.stop();
  await listener.stop();
  await endpoint.close();

  const label = '{queue="default",job_type="system.noop"}';
  const comparison = [
    { figure: 'jobs COMPLETED (jobwire_jobs gauge)', metrics: final.get('jobwire_jobs{queue="default",status="COMPLETED"}'), database: await dbCount(`select count(*) as n from job where status = 'COMPLETED'`) },
    { figure: 'jobs PENDING (jobwire_jobs gauge)', metrics: final.get('jobwire_jobs{queue="default",status="PENDING"}'), database: await dbCount(`select count(*) as n from job where status = 'PENDING'`) },
    { figure: 'jobs started (counter)', metrics: final.get(`jobwire_jobs_started_total${label}`), database: await dbCount(`select count(*) as n from job where started_at is not null`) },
    { figure: 'jobs completed (counter)', metrics: final.get(`jobwire_jobs_completed_total${label}`), database: await dbCount(`select count(*) as n from job_event where status = 'COMPLETED'`) },
    { figure: 'run times observed (histogram count)', metrics: final.get('jobwire_job_run_seconds_count{job_type="system.noop",status="COMPLETED"}'), database: await dbCount(`select count(*) as n from job where status = 'COMPLETED'`) },
  ].map((row) => ({ ...row, match: row.metrics === row.database ? 'yes' : 'NO' }));
  const sorted = [...scrapeMs].sort((a, b) => a - b);
  await report('metrics-under-load', comparison, {
    jobs: JOBS,
    scrapes: scrapeMs.length,
    scrapeMs: { median: round(median(scrapeMs), 2), p95: round(percentile(sorted, 95), 2), max: round(sorted.at(-1) ?? NaN, 2) },
  });
  // Scraped counts that disagree with the database are a broken bench (bench:smoke runs this in CI).
  const disagreeing = comparison.filter((row) => row.match !== 'yes');
  console.log(`${scrapeMs.length} scrapes while the worker ran: median ${round(median(scrapeMs), 2)} ms, p95 ${round(percentile(sorted, 95), 2)} ms, max ${round(sorted.at(-1) ?? NaN, 2)} ms`);

  // 2. The cost of one scrape with BENCH_STORED_JOBS jobs stored.
  await create(STORED - (await dbCount('select count(*) as n from job')));
  await pool.query('vacuum analyze job');
  const stored = await dbCount('select count(*) as n from job');
  const countMs: number[] = [];
  const counts = new JobCounts(pool, 60_000, logger);
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await new JobCounts(pool, 0, logger).current();
    countMs.push(performance.now() - started);
  }
  const cold = new Metrics();
  cold.observeJobCounts(counts);
  const coldEndpoint = await startMetricsServer(cold, authenticator, '127.0.0.1', 0, logger);
  const first = await timedScrape(coldEndpoint.url);
  const later: number[] = [];
  for (let i = 0; i < 50; i++) later.push((await timedScrape(coldEndpoint.url)).ms);
  await coldEndpoint.close();
  const laterSorted = [...later].sort((a, b) => a - b);
  const rows = [
    { measure: 'the count query (jobs by queue and status, worker heartbeats)', 'median ms': round(median(countMs), 2), 'max ms': round(Math.max(...countMs), 2), runs: countMs.length },
    { measure: 'first scrape (waits for the count)', 'median ms': round(first.ms, 2), 'max ms': round(first.ms, 2), runs: 1 },
    { measure: 'later scrapes (serve the last count)', 'median ms': round(median(later), 2), 'max ms': round(laterSorted.at(-1)!, 2), runs: later.length },
  ];
  await report('metrics-scrape-cost', rows, { storedJobs: stored });
  console.log(`jobs stored: ${stored}`);
  await pool.end();
  if (disagreeing.length) throw new Error(`/metrics disagreed with the database: ${JSON.stringify(disagreeing)}`);
} finally {
  await server.stop();
}
