// The API process (`serve`) started from the compiled build (node dist/main.js)
// and from the TypeScript sources through tsx: time until it answers a GraphQL
// query, and its resident memory then. Builds first (npm run build).
//   npm run bench:startup   (BENCH_STARTUP_RUNS, default 5 per side)
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { freePort } from '../src/testing/ports.ts';
import { buildService, median, report, round, startBenchServer } from './support.ts';

const RUNS = Number(process.env.BENCH_STARTUP_RUNS ?? 5);
const SIDES = {
  'node dist/main.js': ['dist/main.js'],
  'tsx src/main.ts': ['--import', 'tsx', 'src/main.ts'],
} as const;

async function startOnce(args: readonly string[], databaseUrl: string) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [...args, 'serve'], {
    env: { ...process.env, DATABASE_URL: databaseUrl, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', CI: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}/graphql?query=${encodeURIComponent('{__typename}')}`;
  // A GET needs the CSRF prevention header (http/yoga.ts).
  while (!(await fetch(url, { headers: { 'x-graphql-yoga-csrf': '1' } }).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null) throw new Error(`serve exited (${child.exitCode})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const readyMs = performance.now() - started;
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const rssMb = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  return { readyMs, rssMb };
}

buildService();
const server = await startBenchServer();
try {
  const databaseUrl = await server.database('bench_startup');
  const samples: Record<string, Array<{ readyMs: number; rssMb: number }>> = {};
  for (let run = 0; run < RUNS; run++) {
    // Alternating, so a slow spell of this shared machine falls on both sides.
    for (const [name, args] of Object.entries(SIDES)) (samples[name] ??= []).push(await startOnce(args, databaseUrl));
  }
  const rows = Object.entries(samples).map(([name, runs]) => ({
    'API process': name,
    'median ms to first answer': round(median(runs.map((r) => r.readyMs))),
    'median RSS MB then': round(median(runs.map((r) => r.rssMb))),
    'ms (each run)': runs.map((r) => Math.round(r.readyMs)).join(' '),
  }));
  await report('startup', rows, { runs: RUNS });
} finally {
  await server.stop();
}
