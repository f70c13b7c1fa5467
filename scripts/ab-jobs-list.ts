// A/B of bench:api's jobs-list request between two built checkouts (each
// `npm run generate && npm run build` done), in alternating rounds on one
// Postgres server: each checkout migrates its own database, creates the same
// jobs through its own createJob, gives each job a step (as bench:api does),
// then serves; the rounds alternate which side goes first. Prints req/s, p50,
// the API process's CPU ms per request and Postgres' (every process of the
// server: the idle side's connections use next to none), round by round, and A/B ratios.
//   tsx scripts/ab-jobs-list.ts DIR_A DIR_B
//   (AB_ROUNDS=4 AB_SECONDS=8 AB_JOBS=20000 AB_CONNECTIONS=1,10 AB_EVENTS_PER_JOB=0 AB_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof':
//   the node options of the process that serves the listing, started after the jobs are made)
import { spawn, spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { postgresCpuMs } from '../bench/support.ts';
import { createLogger } from '../src/logger.ts';
import { freePort } from '../src/testing/ports.ts';
import { databaseUrl, onServer, startPostgresServer } from '../src/testing/postgres-server.ts';

const [dirA, dirB] = process.argv.slice(2).map((dir) => path.resolve(dir));
if (!dirA || !dirB) throw new Error('usage: tsx scripts/ab-jobs-list.ts DIR_A DIR_B');
const ROUNDS = Number(process.env.AB_ROUNDS ?? 4);
const SECONDS = Number(process.env.AB_SECONDS ?? 8);
const JOBS = Number(process.env.AB_JOBS ?? 20000);
const CONNECTIONS = (process.env.AB_CONNECTIONS ?? '1,10').split(',').map(Number);
// Extra events written on every job (AB_EVENTS_PER_JOB): jobs with a long history.
const EVENTS_PER_JOB = Number(process.env.AB_EVENTS_PER_JOB ?? 0);
const NODE_ARGS = (process.env.AB_NODE_ARGS ?? '').split(' ').filter(Boolean);
const logger = createLogger('warn');

const CREATE = JSON.stringify({
  query: 'mutation { createJob(input: { jobType: "system.noop", queueName: "api-bench", scheduledAt: "2999-01-01T00:00:00Z" }) { __typename } }',
});
const LIST = JSON.stringify({
  query: `{ jobs(first: 50) { edges { node { id status jobType steps(first: 10) { edges { node { name status } } } events(first: 10) { edges { node { status createdAt } } } } } } }`,
});

async function cpuMs(pid: number) {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function serve(dir: string, url: string, nodeArgs: string[] = []) {
  const env = { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn', CI: '1', HOST: '127.0.0.1', MUTATION_RATE_LIMIT_PER_MINUTE: '0' };
  const migrated = spawnSync(process.execPath, ['dist/main.js', 'migrate'], { cwd: dir, env, stdio: 'inherit' });
  if (migrated.status !== 0) throw new Error(`migrate in ${dir} failed`);
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, 'dist/main.js', 'serve'], { cwd: dir, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'inherit', 'inherit'] });
  const api = `http://127.0.0.1:${port}/graphql`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve in ${dir} exited`);
    const up = await fetch(`${api}?query=${encodeURIComponent('{__typename}')}`, { headers: { 'x-graphql-yoga-csrf': '1' } }).then((r) => r.ok, () => false);
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    api,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await done;
    },
  };
}

async function load(side: { api: string; pid: number }, body: string, connections: number, extra: Partial<autocannon.Options> = {}) {
  const before = await cpuMs(side.pid);
  const postgresBefore = await postgresCpuMs(server.adminUrl);
  const options: autocannon.Options = { url: side.api, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, ...(extra.amount ? {} : { duration: SECONDS }), ...extra };
  const result = await autocannon(options);
  if (result.non2xx || result.errors) throw new Error(`${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const requests = Math.max(1, result.requests.total);
  const cpu = ((await cpuMs(side.pid)) - before) / requests;
  return { rps: result.requests.total / (result.duration || SECONDS), p50: result.latency.p50, cpu, pgCpu: ((await postgresCpuMs(server.adminUrl)) - postgresBefore) / requests };
}

const server = await startPostgresServer({ logger, tmpPrefix: 'jobwire-ab-' });
const sides: Array<{ name: string; api: string; pid: number; stop(): Promise<void> }> = [];
try {
  for (const [name, dir] of [['A', dirA], ['B', dirB]] as const) {
    const db = `ab_${name.toLowerCase()}`;
    await onServer(server.adminUrl, `create database ${db}`);
    const url = databaseUrl(server.adminUrl, db);
    const seeder = await serve(dir, url);
    await load(seeder, CREATE, 10, { amount: JOBS });
    await seeder.stop();
    // A fresh process serves the listing: AB_NODE_ARGS (a CPU profile, say) see the listing alone.
    const side = await serve(dir, url, NODE_ARGS);
    sides.push({ name, ...side });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`insert into job_step (job_id, name, position) select id, 'only', 0 from job`);
    if (EVENTS_PER_JOB > 0) await client.query(`insert into job_event (job_id, status, message) select id, 'PENDING', 'bench' from job, generate_series(1, $1::int)`, [EVENTS_PER_JOB]);
    await client.query('vacuum analyze');
    const answer = await fetch(side.api, { method: 'POST', headers: { 'content-type': 'application/json' }, body: LIST }).then((r) => r.json());
    console.log(`${name} = ${dir}: ${(await client.query('select count(*) from job')).rows[0].count} jobs; answer ${JSON.stringify(answer).length} bytes`);
    await client.end();
  }
  // Warm both.
  for (const side of sides) await load(side, LIST, 1, { duration: 2 });
  const figures: Record<string, Record<number, Array<{ rps: number; p50: number; cpu: number; pgCpu: number }>>> = { A: {}, B: {} };
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const connections of CONNECTIONS) {
      for (const side of order) {
        const result = await load(side, LIST, connections);
        (figures[side.name]![connections] ??= []).push(result);
        console.log(
          `round ${round + 1} ${side.name} ${connections} conn: ${result.rps.toFixed(1)} req/s, p50 ${result.p50} ms, API CPU ${result.cpu.toFixed(2)} ms/req, Postgres CPU ${result.pgCpu.toFixed(2)} ms/req, load ${loadavg()[0]!.toFixed(1)}`,
        );
      }
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  for (const connections of CONNECTIONS) {
    const a = figures.A![connections]!;
    const b = figures.B![connections]!;
    const ratios = (key: 'rps' | 'p50' | 'cpu' | 'pgCpu') => a.map((x, index) => x[key] / b[index]![key]);
    console.log(
      `${connections} conn: A median ${median(a.map((x) => x.rps)).toFixed(1)} req/s p50 ${median(a.map((x) => x.p50))} ms CPU ${median(a.map((x) => x.cpu)).toFixed(2)} Postgres ${median(a.map((x) => x.pgCpu)).toFixed(2)} | ` +
        `B median ${median(b.map((x) => x.rps)).toFixed(1)} req/s p50 ${median(b.map((x) => x.p50))} ms CPU ${median(b.map((x) => x.cpu)).toFixed(2)} Postgres ${median(b.map((x) => x.pgCpu)).toFixed(2)} | ` +
        `A/B per round: req/s ${ratios('rps').map((r) => r.toFixed(2)).join(' ')}; CPU ${ratios('cpu').map((r) => r.toFixed(2)).join(' ')}; Postgres CPU ${ratios('pgCpu').map((r) => r.toFixed(2)).join(' ')}`,
    );
  }
} finally {
  for (const side of sides) await side.stop();
  await server.stop();
}
