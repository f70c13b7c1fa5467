// Postgres restarted under load (pg_ctl stop -m fast, -m immediate, down for
// 30 s, three restarts 20 s apart) while two `work` processes and one `serve`
// process run jobs, long ones among them, and three clients go on creating
// (src/testing/job-load.ts): every process lives on, every acknowledged job
// ends COMPLETED exactly once, a job created after the restart completes within
// 10 s, and a subscriber that resumes from its last cursor has every event
// once. Creates during the outage answer DATABASE_UNAVAILABLE and /health/ready
// says not ready.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { spawnApi, spawnWorker, type ChildApi, type ChildWorker } from '../support/app.ts';
import { createDatabase, createPostgresServer, type PostgresServer } from '../../src/testing/restartable-postgres.ts';
import { eventually } from '../support/wait.ts';
import { CreateJobs, JobEvents, JobsPage } from '../support/operations.ts';
import { createOneJob, JobLoad, LOAD_WORKER_CONCURRENCY } from '../../src/testing/job-load.ts';
import { encodeCursor } from '../../src/jobs/event-log.ts';

/** Production timings for the heartbeat: the restart, not the test's short settings, is under test. */
const ENV = { WORKER_HEARTBEAT_INTERVAL_MS: '5000', WORKER_DEAD_AFTER_MS: '30000' };
/** Workers that carry the load (src/testing/job-load.ts): a fault, not a backlog, is under test. */
const WORKER_ENV = { ...ENV, WORKER_CONCURRENCY: String(LOAD_WORKER_CONCURRENCY) };

let server: PostgresServer;
let databaseUrl: string;
let db: pg.Pool;
let api: ChildApi;
const workers: ChildWorker[] = [];

beforeAll(async () => {
  server = await createPostgresServer();
  databaseUrl = await createDatabase(server, 'jobwire_restart');
  api = await spawnApi(databaseUrl, ENV);
  workers.push(await spawnWorker(databaseUrl, WORKER_ENV), await spawnWorker(databaseUrl, WORKER_ENV));
  db = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  db.on('error', () => undefined);
}, 120_000);

afterAll(async () => {
  for (const child of [api, ...workers]) child?.process.kill('SIGKILL');
  await db?.end().catch(() => undefined);
  await server?.destroy();
});

/** A cursor before every event (each restart case has a queue of its own). */
const FROM_THE_START = encodeCursor({ txId: '0', id: '0' });

interface EventSeen {
  id: string;
  cursor: string;
  status: string;
}

/**
 * A graphql-ws subscriber of one queue's events that, when its subscription
 * fails or its socket closes, subscribes again with `after:` its last cursor.
 */
class ResumingSubscriber {
  readonly received: EventSeen[] = [];
  resumes = 0;
  #client: Client;
  #stop: (() => void) | null = null;
  #closed = false;

  constructor(url: string, private readonly queue: string) {
    this.#client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
    this.#subscribe();
  }

  #subscribe() {
    // The first subscription replays the queue from the start of the log: events
    // committed before the socket is up (a busy machine) are delivered too.
    const after = this.received.at(-1)?.cursor ?? FROM_THE_START;
    let done = false;
    const resume = () => {
      if (done || this.#closed) return;
      done = true;
      this.#stop?.();
      this.resumes++;
      setTimeout(() => this.#subscribe(), 200);
    };
    this.#stop = this.#client.subscribe<{ jobEvents: EventSeen }>(
      { query: JobEvents.toString(), variables: { filter: { queueNames: [this.queue] }, after } },
      {
        next: ({ data, errors }) => {
          if (errors?.length || !data) return resume();
          this.received.push(data.jobEvents);
        },
        error: resume,
        complete: resume,
      },
    );
  }

  async close() {
    this.#closed = true;
    this.#stop?.();
    await this.#client.dispose();
  }
}

async function graphql(request: { query: string; variables: Record<string, unknown> }) {
  const response = await fetch(api.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify(request),
  });
  const body = (await response.json()) as { errors: Array<{ message: string; extensions?: Record<string, unknown> }> };
  return { status: response.status, errors: body.errors };
}

const createOnce = (queue: string) =>
  graphql({ query: CreateJobs.toString(), variables: { jobs: [{ jobType: 'system.noop', queueName: queue }] } });

async function readiness(): Promise<number | null> {
  const response = await fetch(new URL('/health/ready', api.url)).catch(() => null);
  return response?.status ?? null;
}

/**
 * Runs the load (src/testing/job-load.ts) on its own queue and, from 6 s in, the
 * given restarts of Postgres; goes on 8 s after the last one, then checks
 * that nothing was lost, run twice or left behind.
 */
async function restartUnderLoad(queue: string, restarts: Array<{ mode: 'fast' | 'immediate'; downMs: number; gapMs?: number }>) {
  const subscriber = new ResumingSubscriber(api.url, queue);
  const load = new JobLoad(api.url, queue);
  const outages: Array<{ stoppedAt: number; startedAt: number }> = [];
  let sawNotReady = false;
  let outage: Awaited<ReturnType<typeof createOnce>> | null = null;
  let listing: Awaited<ReturnType<typeof graphql>> | null = null;
  await delay(6000);
  for (const [index, { mode, downMs, gapMs = 0 }] of restarts.entries()) {
    if (index > 0) await delay(gapMs);
    // Long jobs are running, clients are creating: Postgres goes away.
    await server.stop(mode);
    const stoppedAt = Date.now();
    if (index === 0) {
      sawNotReady = (await eventually('/health/ready to answer 503 while the database is down', async () => ((await readiness()) === 503 ? true : undefined))) === true;
      // A create (pg) and a listing (Prisma) now are answered with the outage's code, not "Unexpected error.".
      outage = await createOnce(queue);
      listing = await graphql({ query: JobsPage.toString(), variables: { first: 1 } });
    }
    const left = downMs - (Date.now() - stoppedAt);
    if (left > 0) await delay(left);
    await server.start();
    outages.push({ stoppedAt, startedAt: Date.now() });
  }
  // A job created once the API takes creates again completes within 10 s of the restart (the issue's bound).
  const probeId = await createOneJob(api.url, `${queue}-after`);
  const probeCompleted = await eventually(
    'the job created after the restart to complete within 10 s',
    async () => {
      const { rows } = await db.query<{ status: string }>('select status from job where id = $1', [probeId]);
      return rows[0]?.status === 'COMPLETED' ? Date.now() : undefined;
    },
    10_000,
  );
  await delay(8000);
  const created = await load.stop();
  expect(created.acknowledged.length).toBeGreaterThan(100);
  expect(sawNotReady).toBe(true);
  expect(outage).toMatchObject({ status: 503, errors: [{ extensions: { code: 'DATABASE_UNAVAILABLE' } }] });
  expect(outage!.errors[0]!.message).toMatch(/unavailable.*retry/i);
  expect(listing).toMatchObject({ status: 503, errors: [{ extensions: { code: 'DATABASE_UNAVAILABLE' } }] });
  // While Postgres was down, creates were answered DATABASE_UNAVAILABLE, and nothing else went wrong.
  expect([...created.refused.keys()].filter((answer) => answer !== '503 DATABASE_UNAVAILABLE')).toEqual([]);

  // Every job ends COMPLETED; none is left RUNNING or PENDING.
  await eventually(
    `every job of ${queue} COMPLETED`,
    async () => {
      const { rows } = await db.query<{ open: number }>(`select count(*) filter (where status <> 'COMPLETED')::int as open from job where queue_name = $1`, [queue]);
      return rows[0]!.open === 0 ? true : undefined;
    },
    180_000,
  );
  const recoveredAt = Date.now();
  const { rows: completions } = await db.query<{ job_id: string; completed: number }>(
    `select j.id as job_id, count(e.id) filter (where e.status = 'COMPLETED' and e.step_id is null)::int as completed
       from job j left join job_event e on e.job_id = j.id
      where j.queue_name = $1 group by j.id`,
    [queue],
  );
  // Every acknowledged job is there, and each completed exactly once.
  const stored = new Set(completions.map((row) => row.job_id));
  expect(created.acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  expect(completions.filter((row) => row.completed !== 1)).toEqual([]);

  // The subscriber has every event of the queue, once.
  const { rows: logged } = await db.query<{ id: string }>(
    `select e.id::text as id from job_event e join job j on j.id = e.job_id where j.queue_name = $1`,
    [queue],
  );
  const expected = new Set(logged.map((row) => row.id));
  await eventually(`the subscriber to have all ${expected.size} events of ${queue}`, async () =>
    new Set(subscriber.received.map((event) => event.id)).size >= expected.size ? true : undefined,
  ).catch(async (error: Error) => {
    // What a reader of a failure needs: which events are missing and what holds the log's barrier.
    const got = new Set(subscriber.received.map((event) => event.id));
    const missing = [...expected].filter((id) => !got.has(id));
    const { rows: missed } = await db.query(
      `select id, tx_id, status, created_at, job_event_settled_before() as barrier from job_event where id = any($1::bigint[]) order by tx_id, id limit 10`,
      [missing],
    );
    const { rows: sessions } = await db.query(
      `select application_name, state, backend_xid::text, xact_start, left(query, 100) as query from pg_stat_activity where datname = current_database()`,
    );
    throw new Error(`${error.message}; ${missing.length} missing, first: ${JSON.stringify(missed)}; resumes: ${subscriber.resumes}; sessions: ${JSON.stringify(sessions)}`);
  });
  const ids = subscriber.received.map((event) => event.id);
  expect(ids.length - new Set(ids).size).toBe(0);
  expect(new Set(ids)).toEqual(expected);
  await subscriber.close();

  // Ready again, and every process is still there.
  await eventually('/health/ready to answer 200 again', async () => ((await readiness()) === 200 ? true : undefined), 30_000);
  for (const child of [api, ...workers]) {
    expect(child.process.exitCode).toBeNull();
    expect(child.process.signalCode).toBeNull();
  }
  const lastStart = outages.at(-1)!.startedAt;
  // Figures for the issue note (not asserted: the machine is shared).
  console.log(
    `[database-restart] ${queue}: ${restarts.map(({ mode }, n) => `pg_ctl stop -m ${mode}, down ${outages[n]!.startedAt - outages[n]!.stoppedAt} ms`).join('; ')}; ` +
      `a job created after the restart COMPLETED ${probeCompleted - lastStart} ms after it; all ${completions.length} jobs COMPLETED once, ` +
      `${recoveredAt - lastStart} ms after the restart; ${expected.size} events, each delivered once (${subscriber.resumes} resumes); ` +
      `creates answered: ${[...created.refused].map(([answer, n]) => `${n}× ${answer}`).join(', ')}; slowest answer ${created.slowestMs} ms`,
  );
}

describe('Postgres restarted under load', () => {
  it('pg_ctl stop -m fast, started again at once', async () => {
    await restartUnderLoad('restart-fast', [{ mode: 'fast', downMs: 0 }]);
  }, 300_000);

  it('pg_ctl stop -m immediate (crash recovery), started again at once', async () => {
    await restartUnderLoad('restart-immediate', [{ mode: 'immediate', downMs: 0 }]);
  }, 300_000);

  it('down for 30 s: creates answer DATABASE_UNAVAILABLE meanwhile, then everything resumes', async () => {
    await restartUnderLoad('restart-30s', [{ mode: 'fast', downMs: 30_000 }]);
  }, 300_000);

  it('three restarts 20 s apart', async () => {
    await restartUnderLoad('restart-three-times', [
      { mode: 'fast', downMs: 0 },
      { mode: 'fast', downMs: 0, gapMs: 20_000 },
      { mode: 'fast', downMs: 0, gapMs: 20_000 },
    ]);
  }, 360_000);
});

it('a process without its database for DATABASE_UNAVAILABLE_EXIT_AFTER_MS exits with code 1 and says why, once', async () => {
  const impatient = { ...ENV, DATABASE_UNAVAILABLE_EXIT_AFTER_MS: '3000' };
  const apiOnly = await spawnApi(databaseUrl, impatient);
  const worker = await spawnWorker(databaseUrl, impatient);
  await server.stop('fast');
  try {
    for (const child of [apiOnly, worker]) {
      expect(await child.exited).toBe(1);
      // Its output is read to the end (the exit can be seen first).
      if (!child.process.stdout!.closed) await new Promise((resolve) => child.process.stdout!.once('close', resolve));
      await new Promise((resolve) => setImmediate(resolve));
      const fatal = child.logs.filter((line) => Number(line.level) >= 60);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]!.msg).toMatch(/^database unreachable for \d+ s \(DATABASE_UNAVAILABLE_EXIT_AFTER_MS=3000\): .+; exiting so that a supervisor restarts the process$/);
    }
  } finally {
    await server.start();
  }
  // The long-running processes of the other tests waited instead (their limit is the default 60 s).
  for (const child of [api, ...workers]) expect(child.process.exitCode).toBeNull();
}, 120_000);
