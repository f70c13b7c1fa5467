// Readiness across a database outage: a `serve` and a `work` process on a
// Postgres that is stopped (`pg_ctl stop -m fast`, then `-m immediate`) and
// started again, BENCH_READINESS_ROUNDS times each; /health/ready is polled every
// 50 ms. Prints the time from the stop to the first 503 and from the start to
// the first 200 again, with default settings.
//   npm run bench:readiness   (BENCH_READINESS_ROUNDS, default 3)
import { setTimeout as delay } from 'node:timers/promises';
import { migrateDatabase } from '../src/db/migrate.ts';
import { createDatabase, createPostgresServer } from '../src/testing/restartable-postgres.ts';
import { logger, median, report, spawnCli, type Child } from './support.ts';

const ROUNDS = Number(process.env.BENCH_READINESS_ROUNDS ?? 3);
const POLL_MS = 50;

const server = await createPostgresServer();
const databaseUrl = await createDatabase(server, 'bench_readiness');
await migrateDatabase(databaseUrl, logger);
const env = { DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent', DATABASE_UNAVAILABLE_EXIT_AFTER_MS: '600000' };
const children: Child[] = [];

async function readiness(url: string): Promise<number | null> {
  const response = await fetch(new URL('/health/ready', url), { signal: AbortSignal.timeout(1000) }).catch(() => null);
  await response?.arrayBuffer();
  return response?.status ?? null;
}

/** Polls until /health/ready answers `status`; the time it took since `since`. */
async function until(url: string, status: number, since: number): Promise<number> {
  while ((await readiness(url)) !== status) await delay(POLL_MS);
  return Date.now() - since;
}

try {
  const api = await spawnCli('serve', env);
  children.push(api, await spawnCli('work', env));
  await until(api.url!, 200, Date.now());

  const rows = [];
  for (const mode of ['fast', 'immediate'] as const) {
    for (let round = 1; round <= ROUNDS; round++) {
      const stoppedAt = Date.now();
      await server.stop(mode);
      const notReadyMs = await until(api.url!, 503, stoppedAt);
      await delay(2000);
      const startedAt = Date.now();
      await server.start();
      const startMs = Date.now() - startedAt;
      const readyAgainMs = await until(api.url!, 200, startedAt);
      rows.push({ mode, round, 'stop → 503 (ms)': notReadyMs, 'pg_ctl start (ms)': startMs, 'start → 200 (ms)': readyAgainMs });
    }
  }
  const summary = {
    'median stop → 503 (ms)': median(rows.map((row) => row['stop → 503 (ms)'])),
    'max stop → 503 (ms)': Math.max(...rows.map((row) => row['stop → 503 (ms)'])),
    'median start → 200 (ms)': median(rows.map((row) => row['start → 200 (ms)'])),
    'max start → 200 (ms)': Math.max(...rows.map((row) => row['start → 200 (ms)'])),
  };
  await report('readiness', rows, { ...summary, poll: `${POLL_MS} ms`, settings: 'defaults' });
  console.log(summary);
} finally {
  for (const child of children) child.process.kill('SIGKILL');
  await server.destroy();
}
