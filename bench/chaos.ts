// bench:chaos — the chaos scenarios of the public postgresql-job-queue-benchmarking
// harness (postgres_restart, pg_backend_kill, pool_exhaustion, crash_recovery,
// repeated_kills), plus a crash restart, a 30 s outage and three restarts in a
// row, each against one `serve` and two `work` processes (the compiled CLI, at
// the documented defaults) on a Postgres this script can stop.
//
// The load is what production meets (src/testing/job-load.ts): three clients
// create jobs every 150–300 ms through the fault, a third of them sleeps of
// 4–8 s, so long jobs are RUNNING at the fault. Per scenario it
// prints: jobs lost (acknowledged but missing or not COMPLETED), jobs completed
// twice (two COMPLETED events), jobs stuck (still active after the drain), the
// time from the end of the fault until a job created then completed, and the
// completion rate after the fault as a share of the rate before it (the
// harness's recovery ratio).
//
//   npm run bench:chaos                       every scenario, full size (~12 min)
//   npm run bench:chaos -- postgres_restart   the named scenarios only
//   CHAOS_SCALE=0.25 npm run bench:chaos      every phase a quarter as long (bench:smoke)
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { createOneJob, JobLoad, LOAD_WORKER_CONCURRENCY } from '../src/testing/job-load.ts';
import { freePort } from '../src/testing/ports.ts';
import { createDatabase, createPostgresServer, type PostgresServer } from '../src/testing/restartable-postgres.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { buildService, logger, report, round } from './support.ts';

const SCALE = Number(process.env.CHAOS_SCALE ?? 1);
const seconds = (s: number) => Math.max(1000, Math.round(s * 1000 * SCALE));
/** Load before the fault, and after it. */
const BEFORE_MS = seconds(16);
const AFTER_MS = seconds(20);
/** How long the jobs still active after the load may take to finish before they count as stuck. */
const DRAIN_LIMIT_MS = Math.max(60_000, seconds(90));
const LOG_DIR = path.join(process.env.BENCH_RESULTS_DIR || 'bench/results', 'chaos-logs');
/** Two workers that carry the load (job-load.ts), so that a stall shows as one, not hidden in a backlog. */
const WORKER_CONCURRENCY = Number(process.env.CHAOS_WORKER_CONCURRENCY ?? LOAD_WORKER_CONCURRENCY);
/** The longest job of the load: completion rates are read from this long after a start, when what was created then ends. */
const LONGEST_JOB_MS = 8000;


interface Proc {
  name: string;
  process: ChildProcess;
  readyUrl: string;
}

class Cluster {
  api!: Proc & { url: string };
  workers: Array<Proc | null> = [null, null];
  constructor(
    readonly databaseUrl: string,
    readonly scenario: string,
  ) {}

  async start() {
    this.api = (await this.#spawn('serve', 'api')) as Proc & { url: string };
    this.workers[0] = await this.#spawn('work', 'worker-0');
    this.workers[1] = await this.#spawn('work', 'worker-1');
  }

  async startWorker(index: number) {
    this.workers[index] = await this.#spawn('work', `worker-${index}-${Date.now()}`);
  }

  killWorker(index: number) {
    this.workers[index]?.process.kill('SIGKILL');
    this.workers[index] = null;
  }

  get processes(): Proc[] {
    return [this.api, ...this.workers.filter((worker): worker is Proc => worker !== null)];
  }

  async stop() {
    for (const proc of this.processes) proc.process.kill('SIGKILL');
  }

  async #spawn(command: 'serve' | 'work', name: string): Promise<Proc & { url?: string }> {
    const port = await freePort();
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      DATABASE_URL: this.databaseUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? 'info',
      CI: '1',
      WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
    };
    let readyUrl = `http://127.0.0.1:${port}/health/ready`;
    if (command === 'work') {
      const metricsPort = await freePort();
      env.METRICS_PORT = String(metricsPort);
      readyUrl = `http://127.0.0.1:${metricsPort}/health/ready`;
    }
    const child = spawn(process.execPath, ['dist/main.js', command], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(path.join(LOG_DIR, `${this.scenario}-${name}.log`));
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready (see ${LOG_DIR})`);
      const ready = await fetch(readyUrl).then((r) => r.ok, () => false);
      if (ready) break;
      await delay(100);
    }
    return { name, process: child, readyUrl, ...(command === 'serve' ? { url: `http://127.0.0.1:${port}/graphql` } : {}) };
  }
}

/** Creates one no-op once the API accepts creates again, then waits until it completes: the time to recover. */
async function probe(url: string, db: pg.Pool, queueName: string, limitMs: number): Promise<number | null> {
  const from = Date.now();
  const id = await createOneJob(url, `${queueName}-probe`, {}, limitMs).catch(() => null);
  while (id && Date.now() - from < limitMs) {
    const { rows } = await db.query<{ status: string }>('select status from job where id = $1', [id]).catch(() => ({ rows: [] as Array<{ status: string }> }));
    if (rows[0]?.status === 'COMPLETED') return Date.now() - from;
    await delay(50);
  }
  return null;
}

interface Fault {
  /** Runs the fault; resolves when it is over (Postgres back, worker started again, pressure lifted). */
  run(context: { server: PostgresServer; cluster: Cluster; admin: pg.Pool; database: string }): Promise<string>;
}

const restart = (mode: 'fast' | 'immediate', downMs: number): Fault => ({
  async run({ server }) {
    const stoppedAt = Date.now();
    await server.stop(mode);
    const left = downMs - (Date.now() - stoppedAt);
    if (left > 0) await delay(left);
    await server.start();
    return `pg_ctl stop -m ${mode}, down ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`;
  },
});

const SCENARIOS: Record<string, Fault> = {
  postgres_restart: restart('fast', 3000),
  postgres_crash_restart: restart('immediate', 3000),
  postgres_outage_30s: restart('fast', Math.max(3000, seconds(30))),
  three_restarts: {
    async run(context) {
      const done: string[] = [];
      for (let n = 0; n < 3; n++) {
        if (n > 0) await delay(seconds(10));
        done.push(await restart('fast', 2000).run(context));
      }
      return `3 × (${done[0]}), 10 s apart`;
    },
  },
  pg_backend_kill: {
    async run({ admin, database }) {
      let killed = 0;
      const until = Date.now() + seconds(15);
      while (Date.now() < until) {
        const { rowCount } = await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`,
          [database],
        );
        killed += rowCount ?? 0;
        await delay(500);
      }
      return `every backend of the database terminated twice a second for ${seconds(15) / 1000} s (${killed} backends)`;
    },
  },
  pool_exhaustion: {
    async run({ server, database }) {
      const held: pg.Client[] = [];
      for (;;) {
        const client = new pg.Client({ connectionString: server.url(database) });
        client.on('error', () => undefined);
        try {
          await client.connect();
          held.push(client);
        } catch {
          break;
        }
      }
      await delay(seconds(12));
      await Promise.all(held.map((client) => client.end().catch(() => undefined)));
      return `every free connection slot (${held.length}) held for ${seconds(12) / 1000} s`;
    },
  },
  crash_recovery: {
    async run({ cluster }) {
      cluster.killWorker(0);
      await delay(seconds(8));
      await cluster.startWorker(0);
      return `worker 0 SIGKILLed, started again ${seconds(8) / 1000} s later`;
    },
  },
  repeated_kills: {
    async run({ cluster }) {
      for (let n = 0; n < 3; n++) {
        cluster.killWorker(0);
        await delay(seconds(2));
        await cluster.startWorker(0);
        await delay(seconds(4));
      }
      return 'worker 0 SIGKILLed 3 times, 6 s apart, started again after each';
    },
  },
};

async function completionRate(db: pg.Pool, queueName: string, from: number, to: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `select count(*)::int as n from job where queue_name = $1 and status = 'COMPLETED'
        and completed_at >= to_timestamp($2 / 1000.0) and completed_at < to_timestamp($3 / 1000.0)`,
    [queueName, from, to],
  );
  return rows[0]!.n / ((to - from) / 1000);
}

/** The migrated database each scenario's is cloned from: its `serve` then starts on a current schema, as a deployed one does, not migrating it first. */
const TEMPLATE = 'chaos_template';

async function runScenario(server: PostgresServer, name: string, fault: Fault) {
  const database = `chaos_${name}_${Date.now()}`;
  const create = new pg.Client({ connectionString: server.url('postgres') });
  await create.connect();
  await create.query(`create database ${database} template ${TEMPLATE}`).finally(() => create.end());
  const databaseUrl = server.url(database);
  const cluster = new Cluster(databaseUrl, name);
  await cluster.start();
  const db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  db.on('error', () => undefined);
  const admin = new pg.Pool({ connectionString: server.url('postgres'), max: 1 });
  admin.on('error', () => undefined);
  const queueName = name;
  try {
    const loadStart = Date.now();
    const load = new JobLoad(cluster.api.url, queueName);
    await delay(BEFORE_MS);
    const faultStart = Date.now();
    const what = await fault.run({ server, cluster, admin, database });
    const faultEnd = Date.now();
    const recoverMs = await probe(cluster.api.url, db, queueName, 60_000);
    const sinceFault = Date.now() - faultEnd;
    if (sinceFault < AFTER_MS) await delay(AFTER_MS - sinceFault);
    const created = await load.stop();
    const loadEnd = Date.now();

    // Drain: every job of the scenario ends, or the limit passes.
    const drainFrom = Date.now();
    let active = Infinity;
    while (Date.now() - drainFrom < DRAIN_LIMIT_MS) {
      const { rows } = await db.query<{ n: number }>(
        `select count(*)::int as n from job where queue_name like $1 and status in ('PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING')`,
        [`${queueName}%`],
      );
      active = rows[0]!.n;
      if (active === 0) break;
      await delay(250);
    }
    const { rows: states } = await db.query<{ id: string; status: string; completions: number }>(
      `select j.id, j.status, count(e.id) filter (where e.status = 'COMPLETED' and e.step_id is null)::int as completions
         from job j left join job_event e on e.job_id = j.id where j.queue_name = $1 group by j.id`,
      [queueName],
    );
    const byId = new Map(states.map((row) => [row.id, row]));
    const lost = created.acknowledged.filter((id) => {
      const row = byId.get(id);
      return !row || ['FAILED', 'DEAD_LETTER', 'CANCELLED'].includes(row.status);
    }).length;
    const twice = states.filter((row) => row.completions > 1).length;
    const stuck = states.filter((row) => ['PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING'].includes(row.status)).length;
    // Steady states: from the longest job's length after the load's start, and after recovery, when
    // jobs created in the window (not before it, nor refused during the fault) are what completes.
    const before = await completionRate(db, queueName, loadStart + Math.min(LONGEST_JOB_MS, BEFORE_MS / 2), faultStart);
    const recoveredAt = faultEnd + (recoverMs ?? 0);
    const afterFrom = recoveredAt + Math.min(LONGEST_JOB_MS, AFTER_MS / 2);
    const after = recoverMs === null ? 0 : await completionRate(db, queueName, afterFrom, Math.max(loadEnd, afterFrom + 1000));
    const alive = cluster.processes.filter((proc) => proc.process.exitCode === null && proc.process.signalCode === null).length;
    const readiness = await Promise.all(
      cluster.processes.map(async (proc) => {
        const answer = await fetch(proc.readyUrl).catch(() => null);
        return { name: proc.name, ok: answer?.ok === true, body: answer && !answer.ok ? await answer.text() : '' };
      }),
    );
    const ready = readiness.filter((proc) => proc.ok).length;
    for (const proc of readiness.filter((proc) => !proc.ok)) console.log(`[chaos] ${name}: ${proc.name} not ready at the end: ${proc.body}`);
    const refused = [...created.refused].map(([code, n]) => `${n}× ${code}`).join(', ');
    const row = {
      scenario: name,
      jobs: states.length,
      lost,
      'completed twice': twice,
      stuck,
      'recover s': recoverMs === null ? 'never' : round(recoverMs / 1000, 2),
      'recovery ratio %': before > 0 ? Math.round((100 * after) / before) : NaN,
      'processes alive/ready': `${alive}/${ready} of ${cluster.processes.length}`,
    };
    console.log(`[chaos] ${name}: ${what}; creates refused meanwhile: ${refused || 'none'}; slowest answer ${created.slowestMs} ms; ${JSON.stringify(row)}`);
    return { ...row, fault: what };
  } finally {
    await cluster.stop();
    await db.end();
    await admin.end();
  }
}

async function main() {
  const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  for (const name of wanted) if (!SCENARIOS[name]) throw new Error(`unknown scenario "${name}"; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const names = wanted.length ? wanted : Object.keys(SCENARIOS);
  await mkdir(LOG_DIR, { recursive: true });
  buildService();
  const server = await createPostgresServer();
  const rows: Array<Awaited<ReturnType<typeof runScenario>>> = [];
  try {
    await migrateDatabase(await createDatabase(server, TEMPLATE), logger);
    for (const name of names) rows.push(await runScenario(server, name, SCENARIOS[name]!));
  } finally {
    await server.destroy();
  }
  const failed = rows.filter((row) => row.lost || row['completed twice'] || row.stuck || row['recover s'] === 'never');
  const sum = (key: 'lost' | 'completed twice' | 'stuck') => rows.reduce((total, row) => total + row[key], 0);
  const recovered = rows.map((row) => row['recover s']).filter((value): value is number => typeof value === 'number');
  const headline = [
    {
      figure: `jobs lost / completed twice / stuck over ${rows.length} scenarios${failed.length ? ` (failed: ${failed.map((row) => row.scenario).join(', ')})` : ''}`,
      value: `${sum('lost')} / ${sum('completed twice')} / ${sum('stuck')}`,
      target: '0 / 0 / 0, every scenario recovered',
      held: failed.length === 0,
    },
    ...(recovered.length ? [{ figure: 'slowest recovery s (fault ended → a new job completed)', value: Math.max(...recovered) }] : []),
  ];
  await report('chaos', rows.map(({ fault: _fault, ...row }) => row), { scale: SCALE, faults: Object.fromEntries(rows.map((row) => [row.scenario, row.fault])), headline });
  if (failed.length) {
    console.error(`[chaos] FAILED: ${failed.map((row) => row.scenario).join(', ')} (logs in ${LOG_DIR})`);
    process.exitCode = 1;
  }
}

await main();
