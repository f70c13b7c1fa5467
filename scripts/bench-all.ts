// `npm run bench`: every bench in bench/ (scripts/benches.ts: a new bench file
// with its `bench:<name>` script is run with no edit here), one after another,
// each by its npm script with its output shown, then ONE summary of them all:
// bench/results/summary.json and bench/results/summary.md (a Markdown table:
// bench, headline figures, target, held). A bench's figures are the JSON
// reports it wrote during its run (bench/support.ts report(); its
// `headline`, else its `summary`, else its first rows).
//
// Some benches run shorter here than alone, so that the whole fits in 30
// minutes (docs/benchmarks.md has the timed run) (RUN below, each with its why; the
// summary lists them): none below the size its target names (bench:search
// keeps its 1,000,000 jobs, bench:waits its 10,000 sleepers, bench:latency its
// 10,000 subscribers, bench:fairness its 100,000 jobs), but bench:imports'
// 1,000,000 stored pairs, which alone would take a third of the time.
// One embedded Postgres serves the whole run (BENCH_DATABASE_URL: a server of
// yours instead), as bench:smoke's does: a server start and stop less per bench,
// and every bench database a clone of one migrated template
// (BENCH_TEMPLATE_DATABASE) instead of a migration each. Each bench gets its
// own databases; those it made are dropped once it ends, and a checkpoint
// written, so that no bench measures another's leftovers (its rows, its
// autovacuum, its dirty pages). bench:chaos and bench:readiness still start
// their own Postgres (they stop and restart it), bench:memory its own embedded
// one (as `npm start` does).
//   npm run bench                    every bench
//   npm run bench -- latency api     only those (the summary then lists only those)
//   npm run bench -- --dry-run       the commands it would run, one a line
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Headline } from '../bench/support.ts';
import { createLogger } from '../src/logger.ts';
import { createMigratedDatabase, onServer, startPostgresServer } from '../src/testing/postgres-server.ts';
import { benchNames } from './benches.ts';

/** How `npm run bench` runs a bench, where not as `npm run bench:<name>` alone does. */
export const RUN: Record<string, { env: Record<string, string>; why: string }> = {
  pressure: {
    env: { PRESSURE_SCALE: '0.1', PRESSURE_HIGH_LOAD_SECONDS: '300', PRESSURE_BURST_JOBS: '5000', PRESSURE_PEAK_JOBS: '1000' },
    why: '30 s of each pressure (alone: 5 or 10 min), clean and after 6 s (alone: 1 min), dead tuples followed 30 s at most (alone: 5 min) and sampled every second (alone: 10 s), a burst of 5,000 (alone: 100,000), the peak and clean bursts 1,000 (alone: 20,000)',
  },
  chaos: {
    env: { CHAOS_SCALE: '0.25' },
    why: 'every scenario, each phase a quarter as long (alone: the full length; the 30 s outage lasts 7.5 s)',
  },
  logs: {
    env: { BENCH_ROUNDS: '1', BENCH_LOG_SECONDS: '5', BENCH_NOOP_JOBS: '150000' },
    why: 'one round (alone: the median of 2), windows of 5 s (alone: 10 s; so 5,000 lines logged, under the 10,000-line bound) and a backlog of 150,000 (alone: 300,000)',
  },
  quota: {
    env: { BENCH_JOBS: '500' },
    why: '500 creates per round and case (alone: 2,000)',
  },
  peers: {
    env: { BENCH_ROUNDS: '1' },
    why: 'one round (alone: the median of 3, the order rotating)',
  },
  'add-job': {
    env: { BENCH_JOBS: '2000' },
    why: '2,000 jobs a transaction (alone: 10,000)',
  },
  imports: {
    env: { BENCH_IMPORT_ROWS: '20000', BENCH_STORED_PAIRS: '100000' },
    why: 'a 20,000-row CSV (alone: 50,000) against 100,000 stored pairs only (alone: then 1,000,000 too, whose seeding and index builds take about 12 minutes on the shared 2-core machine)',
  },
  throughput: {
    env: { BENCH_ROUNDS: '3' },
    why: 'the median of 3 rounds (alone: 5)',
  },
  'remote-worker': {
    env: { BENCH_ROUNDS: '1' },
    why: 'one round (alone: 3)',
  },
};

const resultsDir = process.env.BENCH_RESULTS_DIR || 'bench/results';
const scripts = (JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
const all = benchNames();
const missing = all.filter((name) => !scripts[`bench:${name}`]);
if (missing.length) {
  console.error(`npm run bench: no script bench:${missing.join(', bench:')} in package.json for bench/${missing[0]}.ts`);
  process.exit(2);
}
/** --dry-run: print the commands, one a line, and run none (test/readme.test.ts checks every bench is among them). */
const dryRun = process.argv.includes('--dry-run');
const wanted = process.argv
  .slice(2)
  .filter((arg) => arg !== '--dry-run')
  .map((name) => name.replace(/^bench:/, ''));
const unknown = wanted.filter((name) => !all.includes(name));
if (unknown.length) {
  console.error(`npm run bench: unknown bench ${unknown.join(', ')}; the benches are ${all.join(', ')}`);
  process.exit(2);
}
const benches = wanted.length ? wanted : all;
if (dryRun) {
  for (const name of benches) console.log(`${Object.entries(RUN[name]?.env ?? {}).map(([key, value]) => `${key}=${value} `).join('')}npm run bench:${name}`);
  process.exit(0);
}

interface Ran {
  bench: string;
  ok: boolean;
  seconds: number;
  exit: string;
  /** How it ran, when not as alone. */
  shortened?: string;
  reports: Array<{ file: string; headline: Headline[] }>;
}

function run(name: string, shared: Record<string, string>): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', `bench:${name}`], { env: { ...process.env, ...shared, ...RUN[name]?.env }, stdio: 'inherit' });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/** The JSON reports in the results folder, each with its modification time (ms). */
async function reportTimes(): Promise<Map<string, number>> {
  const files = await readdir(resultsDir).catch(() => [] as string[]);
  const times = new Map<string, number>();
  for (const file of files) {
    if (!file.endsWith('.json') || file === 'summary.json') continue;
    times.set(file, (await stat(path.join(resultsDir, file))).mtimeMs);
  }
  return times;
}

/**
 * The JSON reports a bench wrote: those new or changed since `before`, oldest first. (Comparing
 * each file's own time, not a clock: the bench before may have written its report in the same second.)
 */
async function reportsWritten(before: Map<string, number>): Promise<string[]> {
  const after = await reportTimes();
  return [...after]
    .filter(([file, at]) => before.get(file) !== at)
    .sort((a, b) => a[1] - b[1])
    .map(([file]) => file);
}

const short = (value: unknown) => (typeof value === 'number' ? String(value) : typeof value === 'string' ? value : JSON.stringify(value));

/** A report's headline figures: its own, else its `summary` object, else its first rows (at most 3, 4 columns each). */
function headlineOf(json: { headline?: Headline[]; summary?: Record<string, unknown>; rows?: Array<Record<string, unknown>> }): Headline[] {
  if (Array.isArray(json.headline) && json.headline.length) return json.headline;
  if (json.summary && typeof json.summary === 'object') return Object.entries(json.summary).map(([figure, value]) => ({ figure, value: short(value) }));
  return (json.rows ?? []).slice(0, 3).map((row) => {
    const [first, ...rest] = Object.entries(row);
    return { figure: first ? `${first[0]} ${short(first[1])}` : 'row', value: rest.slice(0, 4).map(([key, value]) => `${key}: ${short(value)}`).join(', ') };
  });
}

/** The migrated database every bench database of the run is cloned from (bench/support.ts startBenchServer). */
const TEMPLATE = 'jobwire_bench_template';

/** The databases on the server now. */
async function databaseNames(adminUrl: string): Promise<Set<string>> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    return new Set((await admin.query<{ datname: string }>('select datname from pg_database')).rows.map((row) => row.datname));
  } finally {
    await admin.end();
  }
}

await mkdir(resultsDir, { recursive: true });
const startedAll = Date.now();
const server = await startPostgresServer({ url: process.env.BENCH_DATABASE_URL, logger: createLogger('warn'), tmpPrefix: 'jobwire-bench-all-' });
// Ended by ^C or a kill: the embedded server goes too (its folder is temporary).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.stop().finally(() => process.exit(130));
  });
}
await createMigratedDatabase(server.adminUrl, TEMPLATE, createLogger('warn'));
const shared = { BENCH_DATABASE_URL: server.adminUrl, BENCH_TEMPLATE_DATABASE: TEMPLATE };
const ran: Ran[] = [];

/** Writes summary.md and summary.json: after each bench, so that a run stopped half-way leaves what it measured. */
async function writeSummary(): Promise<number> {
  const totalSeconds = Math.round((Date.now() - startedAll) / 1000);
  const done = ran.length === benches.length ? '' : `, stopped or still running: ${ran.length} of ${benches.length} benches so far`;
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    '# Benchmark summary',
    '',
    `\`npm run bench\` on ${new Date(startedAll).toISOString()}: ${ran.length} benches${done} in ${Math.floor(totalSeconds / 60)} min ${totalSeconds % 60} s, ${os.cpus().length} CPUs, Node ${process.version}` +
      ` (load average ${os.loadavg().map((n) => n.toFixed(1)).join(', ')} at the end; a shared machine's figures are noisy).`,
    'Each bench writes its full figures to its own JSON file here; the figures below are its headline, with the target issue 26 sets where it sets one.',
    'One Postgres served every bench but bench:chaos, bench:readiness and bench:memory (each their own); each bench had databases of its own, cloned from one migrated template and dropped after it.',
    '',
    '| bench | ran | seconds | headline figures | target | held |',
    '|---|---|---|---|---|---|',
  ];
  for (const bench of ran) {
    const figures = bench.reports.flatMap(({ file, headline }) => headline.map((figure) => ({ ...figure, file })));
    const status = `${bench.ok ? 'ok' : `**FAILED** (${bench.exit})`}${bench.shortened ? ', shorter than alone (below)' : ''}`;
    const multi = new Set(figures.map(({ file }) => file)).size > 1;
    const rows = figures.length ? figures : [{ figure: 'no JSON report written', value: '', file: '' }];
    rows.forEach((figure, index) => {
      const label = `${multi ? `${figure.file.replace(/\.json$/, '')}: ` : ''}${figure.figure}${figure.value !== '' ? `: ${figure.value}` : ''}`;
      const held = 'held' in figure && typeof figure.held === 'boolean' ? (figure.held ? 'yes' : '**no**') : '';
      lines.push(
        `| ${index === 0 ? `\`bench:${bench.bench}\`` : ''} | ${index === 0 ? cell(status) : ''} | ${index === 0 ? bench.seconds : ''} | ${cell(label)} | ${cell(('target' in figure && figure.target) || '')} | ${held} |`,
      );
    });
  }
  const shortened = ran.filter((bench) => bench.shortened);
  if (shortened.length) {
    lines.push('', 'Shorter here than alone (`npm run bench:<name>` runs the full size), so that the whole fits in 30 minutes:', '');
    for (const bench of shortened) lines.push(`- \`bench:${bench.bench}\` (${Object.entries(RUN[bench.bench]!.env).map(([key, value]) => `${key}=${value}`).join(' ')}): ${bench.shortened}`);
  }
  lines.push('');
  await writeFile(path.join(resultsDir, 'summary.md'), lines.join('\n'));
  await writeFile(
    path.join(resultsDir, 'summary.json'),
    `${JSON.stringify({ at: new Date(startedAll).toISOString(), totalSeconds, complete: ran.length === benches.length, machine: { cpus: os.cpus().length, node: process.version, loadAverage: os.loadavg() }, benches: ran }, null, 2)}\n`,
  );
  return totalSeconds;
}

for (const name of benches) {
  console.log(`\n=== npm run bench:${name}${RUN[name] ? ` (${RUN[name].why})` : ''}`);
  const before = await reportTimes();
  const databasesBefore = await databaseNames(server.adminUrl);
  const started = Date.now();
  const { code, signal } = await run(name, shared);
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  // The bench's databases go, and their dirty pages are written now, not during the next bench.
  const left = [...(await databaseNames(server.adminUrl))].filter((database) => !databasesBefore.has(database));
  await onServer(server.adminUrl, ...left.map((database) => `drop database if exists "${database}" with (force)`));
  await onServer(server.adminUrl, 'checkpoint').catch((error: Error) => console.warn(`checkpoint after bench:${name} failed: ${error.message}`));
  const reports = [];
  for (const file of await reportsWritten(before)) {
    try {
      reports.push({ file, headline: headlineOf(JSON.parse(await readFile(path.join(resultsDir, file), 'utf8'))) });
    } catch (error) {
      reports.push({ file, headline: [{ figure: 'report unreadable', value: (error as Error).message }] });
    }
  }
  const ok = code === 0;
  ran.push({ bench: name, ok, seconds, exit: signal ? `ended by ${signal}` : `exit status ${code}`, ...(RUN[name] ? { shortened: RUN[name].why } : {}), reports });
  console.log(`=== bench:${name}: ${ok ? 'ok' : 'FAILED'} in ${seconds} s`);
  await writeSummary();
}
await onServer(server.adminUrl, `drop database if exists ${TEMPLATE} with (force)`);
await server.stop();
const totalSeconds = await writeSummary();
const failed = ran.filter((bench) => !bench.ok);
console.log(`\nnpm run bench: ${ran.length - failed.length} of ${ran.length} benches ok in ${totalSeconds} s; summary in ${path.join(resultsDir, 'summary.md')} and summary.json`);
if (failed.length) {
  console.log(`failed: ${failed.map((bench) => `bench:${bench.bench} (${bench.exit})`).join(', ')}`);
  process.exitCode = 1;
}
