// Candles stored per second: one CollectionJob of 100 symbols x 2,500 daily
// candles from csv-dir, run by a real worker against Postgres (embedded unless
// BENCH_DATABASE_URL is set). Run: npm run bench:collections [-- symbols candles]
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startApp } from '../src/app.ts';
import { createCollectionJob } from '../src/collections/create.ts';
import { loadConfig } from '../src/service-config.ts';
import { createPool } from '../src/db/pool.ts';
import { createRegistry } from '../src/handlers.ts';
import { logger, report, round, startBenchServer } from './support.ts';
import { LOCAL_PRINCIPAL } from '../src/auth/principal.ts';

const SYMBOLS = Number(process.argv[2] ?? 100);
const CANDLES = Number(process.argv[3] ?? 2500);

async function writeCsvFiles(directory: string): Promise<string[]> {
  const symbols = Array.from({ length: SYMBOLS }, (_, i) => `BENCH${i}`);
  const start = Date.UTC(2000, 0, 1);
  for (const symbol of symbols) {
    const lines = ['Date,Open,High,Low,Close,Volume'];
    let price = 100;
    for (let day = 0; day < CANDLES; day++) {
      const date = new Date(start + day * 86_400_000).toISOString().slice(0, 10);
      const close = Math.max(1, price * (1 + (Math.random() - 0.5) / 25));
      const high = Math.max(price, close) * 1.005;
      const low = Math.min(price, close) * 0.995;
      lines.push(`${date},${price.toFixed(4)},${high.toFixed(4)},${low.toFixed(4)},${close.toFixed(4)},${Math.round(Math.random() * 1e7)}`);
      price = close;
    }
    await writeFile(path.join(directory, `${symbol}.csv`), `${lines.join('\n')}\n`);
  }
  return symbols;
}

const work = await mkdtemp(path.join(os.tmpdir(), 'jobwire-bench-collections-'));
await chmod(work, 0o755);
const csvDir = path.join(work, 'candles');
await import('node:fs/promises').then((fs) => fs.mkdir(csvDir));
const symbols = await writeCsvFiles(csvDir);
const server = await startBenchServer();
const config = loadConfig({
  ...process.env,
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  DATABASE_URL: await server.database('bench_collections'),
  PORT: '0',
  HOST: '127.0.0.1',
  WORKER_POLL_INTERVAL_MS: '100',
  COLLECTION_CSV_DIR: csvDir,
  COLLECTION_MAX_RANGE_DAYS: '36500',
  COLLECTION_SYMBOLS_MAX: String(Math.max(SYMBOLS, 1000)),
});
const app = await startApp(config, logger, { api: false, worker: true });
const pool = createPool(app.databaseUrl, 4, logger);
try {
  const started = performance.now();
  const { id } = await createCollectionJob({ pool, registry: createRegistry({ pool, config }), config }, LOCAL_PRINCIPAL, {
    symbols,
    timeframe: '1d',
    rangeFrom: new Date(Date.UTC(2000, 0, 1)),
    rangeTo: new Date(Date.UTC(2000, 0, 1) + CANDLES * 86_400_000),
    provider: 'csv-dir',
  });
  type Progress = { status: string; candle_count: number; completed_symbol_count: number };
  let row: Progress;
  for (;;) {
    const result = await pool.query<Progress>(
      `select status, candle_count, completed_symbol_count from job join collection_job on job_id = id where id = $1`,
      [id],
    );
    row = result.rows[0]!;
    if (['COMPLETED', 'FAILED', 'DEAD_LETTER'].includes(row.status)) break;
    await delay(20);
  }
  const seconds = (performance.now() - started) / 1000;
  const stored = (await pool.query<{ n: number }>('select count(*)::int as n from candle')).rows[0]!.n;
  if (row.status !== 'COMPLETED') throw new Error(`the collection ended ${row.status}`);
  await report('collections', [
    {
      symbols: SYMBOLS,
      'candles/symbol': CANDLES,
      'candles stored': stored,
      'job counted': row.candle_count,
      'symbols completed': row.completed_symbol_count,
      // create to COMPLETED, worker in-process
      seconds: round(seconds, 2),
      'candles/s': Math.round(stored / seconds),
    },
  ]);
} finally {
  await pool.end();
  await app.stop();
  await server.stop();
  await rm(work, { recursive: true, force: true });
}
