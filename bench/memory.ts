// `npm start`'s memory: the all-in-one process (API and worker, `node
// dist/main.js start`) on its embedded Postgres, as a new user runs it, through
// the README's examples one after another: the first job watched over graphql-ws
// (GraphiQL's subscription tab) and created and read over HTTP (the curl
// example), an import (docs/imports.md), a collection (docs/collections.md),
// and budget syncs on the sample budget (docs/budgets.md). After each, the
// Node process's RSS now and at its peak. Postgres runs in processes of its
// own (started by this one) and is not counted: only the Node process is.
//   npm run bench:memory   (BENCH_MEMORY_BUDGET_SYNCS, default 3;
//   BENCH_MEMORY_NODE_OPTIONS: Node flags for the process, e.g. to compare heap settings;
//   BENCH_MEMORY_HEAP_SNAPSHOT=1: a heap snapshot of the process at the end, written to the current folder)
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { freePort } from '../src/testing/ports.ts';
import { buildService, report, round } from './support.ts';

const BUDGET_SYNCS = Number(process.env.BENCH_MEMORY_BUDGET_SYNCS ?? 3);
const HEAP_SNAPSHOT = Boolean(process.env.BENCH_MEMORY_HEAP_SNAPSHOT);
const nodeOptions = [process.env.BENCH_MEMORY_NODE_OPTIONS, HEAP_SNAPSHOT ? '--heapsnapshot-signal=SIGUSR2' : undefined].filter(Boolean).join(' ');
const SAMPLE_BUDGET = '5a3b1e0c-7d2f-4c1a-9e8b-000000000017';
const TERMINAL = ['COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'];

buildService();
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'jobwire-bench-memory-'));
// Run as root, the embedded Postgres runs as "postgres", which must enter the folder.
await chmod(dataDir, 0o755);
const port = await freePort();
const url = `http://127.0.0.1:${port}/graphql`;
const { DATABASE_URL: _unset, ...environment } = process.env;
const child = spawn(process.execPath, ['dist/main.js', 'start'], {
  env: {
    ...environment,
    // No DATABASE_URL: the embedded Postgres, as `npm start` runs.
    DATA_DIR: dataDir,
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    CI: '1',
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const exited = new Promise((resolve) => child.once('exit', resolve));

async function memoryMb() {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  const body = (await response.json()) as { data?: T; errors?: unknown };
  if (!body.data || body.errors) throw new Error(JSON.stringify(body));
  return body.data;
}

/** The job's status, read until it has ended (every 100 ms). */
async function waitForEnd(id: string): Promise<string> {
  for (;;) {
    const { node } = await graphql<{ node: { status: string } | null }>('query ($id: ID!) { node(id: $id) { ... on Job { status } } }', { id });
    if (node && TERMINAL.includes(node.status)) return node.status;
    await delay(100);
  }
}

/** The id in a create mutation's answer, or the whole answer as the error. */
function createdId(answer: Record<string, { data?: { id: string } }>): string {
  const created = Object.values(answer)[0];
  if (!created?.data) throw new Error(`not created: ${JSON.stringify(answer)}`);
  return created.data.id;
}

const rows: Array<Record<string, unknown>> = [];
async function measure(step: string, status?: string) {
  const { rss, peak } = await memoryMb();
  rows.push({ after: step, ...(status ? { job: status } : {}), 'RSS MB': round(rss), 'peak RSS MB': round(peak) });
  console.log(rows.at(-1));
}

try {
  const started = performance.now();
  while (!(await fetch(`${url}?query=${encodeURIComponent('{__typename}')}`, { headers: { 'x-graphql-yoga-csrf': '1' } }).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null) throw new Error(`npm start's process exited (${child.exitCode})`);
    await delay(100);
  }
  console.log(`started in ${round((performance.now() - started) / 1000)} s`);
  await measure('start');

  // The first job: GraphiQL's page, its subscription tab watching jobEvents, its mutation tab.
  const page = await fetch(url, { headers: { accept: 'text/html' } });
  if (!page.ok) throw new Error(`GraphiQL: HTTP ${page.status}`);
  await page.text();
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
  const statuses: string[] = [];
  let sawCompleted!: () => void;
  const completed = new Promise<void>((resolve) => (sawCompleted = resolve));
  const unsubscribe = client.subscribe<{ jobEvents: { status: string } }>(
    { query: 'subscription { jobEvents { status previousStatus message cursor job { id jobType } } }' },
    {
      next: ({ data }) => {
        statuses.push(data!.jobEvents.status);
        if (data!.jobEvents.status === 'COMPLETED') sawCompleted();
      },
      error: (error) => console.error('jobEvents failed', error),
      complete: () => undefined,
    },
  );
  await delay(200); // graphql-ws does not acknowledge a subscribe
  createdId(
    await graphql(`mutation { createJob(input: { jobType: "system.sleep", payload: { ms: 2000 } }) {
      ... on MutationCreateJobSuccess { data { id status } } ... on ValidationError { field message } } }`),
  );
  await completed;
  unsubscribe();
  await client.dispose();
  await measure(`the first job in GraphiQL (events ${statuses.join(' → ')})`);

  // The curl example: create, then read the job with its events.
  const second = createdId(
    await graphql(`mutation { createJob(input: { jobType: "system.sleep", payload: { ms: 2000 } }) {
      ... on MutationCreateJobSuccess { data { id status } } ... on ValidationError { field message } } }`),
  );
  const curlStatus = await waitForEnd(second);
  await graphql('query ($id: ID!) { job(id: $id) { status result events { edges { node { status } } } } }', { id: second });
  await measure('the first job with curl', curlStatus);

  // An import: the multipart request of docs/imports.md, with a sample file of the test fixtures.
  const form = new FormData();
  form.set(
    'operations',
    JSON.stringify({
      query: 'mutation ($f: File!) { createImportJob(input: { file: $f }) { __typename ... on MutationCreateImportJobSuccess { data { id } } ... on ValidationError { field message } } }',
      variables: { f: null },
    }),
  );
  form.set('map', JSON.stringify({ 0: ['variables.f'] }));
  form.set('0', new Blob([await readFile('test/fixtures/qa/mgsm_de.csv')]), 'pairs.csv');
  const imported = (await (await fetch(url, { method: 'POST', headers: { 'x-graphql-yoga-csrf': '1' }, body: form })).json()) as {
    data?: Record<string, { data?: { id: string } }>;
  };
  await measure('an import', await waitForEnd(createdId(imported.data ?? {})));

  const collection = createdId(
    await graphql(`mutation { createCollectionJob(input: { symbols: ["AAPL", "MSFT", "SPY"], timeframe: "1d",
      rangeFrom: "2024-01-01T00:00:00Z", rangeTo: "2024-03-31T00:00:00Z", provider: "csv-dir" }) {
      ... on MutationCreateCollectionJobSuccess { data { id } } ... on ValidationError { field message } } }`),
  );
  await measure('a collection', await waitForEnd(collection));

  for (let sync = 1; sync <= BUDGET_SYNCS; sync++) {
    const job = createdId(
      await graphql(`mutation ($budgetId: ID!) { createSyncAndSuggestJob(input: { budgetId: $budgetId }) {
        ... on MutationCreateSyncAndSuggestJobSuccess { data { id } } ... on Error { message } } }`, { budgetId: SAMPLE_BUDGET }),
    );
    await measure(`budget sync and suggest ${sync} of ${BUDGET_SYNCS}`, await waitForEnd(job));
  }
  if (HEAP_SNAPSHOT) {
    const before = new Set(await readdir('.'));
    child.kill('SIGUSR2');
    let written: string | undefined;
    // Node writes Heap.<date>.<pid>...heapsnapshot into its working folder; done when its size stops changing.
    for (let last = -1; ; await delay(500)) {
      written ??= (await readdir('.')).find((file) => file.endsWith('.heapsnapshot') && !before.has(file));
      if (!written) continue;
      const { size } = await stat(written);
      if (size === last && size > 0) break;
      last = size;
    }
    console.log(`heap snapshot: ${written}`);
  }
  // Issue 26's target: npm start ≤ 300 MB after the README's examples (its peak over them all).
  const peak = Math.max(...rows.map((row) => Number(row['peak RSS MB'])));
  const headline = [{ figure: "npm start's peak RSS MB over the README's examples", value: peak, target: '≤ 300', held: peak <= 300 }];
  await report('memory', rows, { budgetSyncs: BUDGET_SYNCS, nodeOptions: process.env.BENCH_MEMORY_NODE_OPTIONS ?? null, headline });
  const failed = rows.filter((row) => row.job !== undefined && row.job !== 'COMPLETED');
  if (failed.length) throw new Error(`a job did not complete: ${failed.map((row) => row.after).join(', ')}`);
} finally {
  if (child.exitCode === null) child.kill('SIGTERM');
  await exited;
  await rm(dataDir, { recursive: true, force: true });
}
