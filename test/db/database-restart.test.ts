// Postgres restarted under load (pg_ctl stop -m fast, -m immediate, and down
// for 30 s) while two `work` processes and one `serve` process run jobs: every
// process lives on, every job ends COMPLETED exactly once, and a subscriber
// that resumes from its last cursor has every event once. Creates during the
// outage answer DATABASE_UNAVAILABLE and /health/ready says not ready.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { spawnApi, spawnWorker, type ChildApi, type ChildWorker } from '../support/app.ts';
import { createDatabase, createPostgresServer, type PostgresServer } from '../../src/testing/restartable-postgres.ts';
import { eventually } from '../support/wait.ts';
import { CreateJobs, JobEvents, JobsPage } from '../support/operations.ts';
import { encodeCursor } from '../../src/jobs/event-log.ts';

/** Production timings for the heartbeat: the restart, not the test's short settings, is under test. */
const ENV = { WORKER_HEARTBEAT_INTERVAL_MS: '5000', WORKER_DEAD_AFTER_MS: '30000' };
const JOBS_PER_RESTART = 1000;
const BATCH = 50;

let server: PostgresServer;
let databaseUrl: string;
let db: pg.Pool;
let api: ChildApi;
const workers: ChildWorker[] = [];

beforeAll(async () => {
  server = await createPostgresServer();
  databaseUrl = await createDatabase(server, 'jobwire_restart');
  api = await spawnApi(databaseUrl, ENV);
  workers.push(await spawnWorker(databaseUrl, ENV), await spawnWorker(databaseUrl, ENV));
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

interface CreateOutcome {
  created: number;
  unavailableAnswers: Array<{ message: string; code: unknown; status: number }>;
}

/** Creates jobs in batches through the API; a DATABASE_UNAVAILABLE answer is waited out and the batch sent again. */
async function createJobsThrough(queue: string, count: number, afterBatch: (created: number) => Promise<void>): Promise<CreateOutcome> {
  const outcome: CreateOutcome = { created: 0, unavailableAnswers: [] };
  while (outcome.created < count) {
    const jobs = Array.from({ length: BATCH }, (_, index) =>
      index % 2 ? { jobType: 'system.noop', queueName: queue } : { jobType: 'system.sleep', queueName: queue, payload: { ms: 100, ticks: 2 } },
    );
    const response = await fetch(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: CreateJobs.toString(), variables: { jobs } }),
    }).catch(() => null);
    if (!response) throw new Error('the API stopped answering HTTP');
    const body = (await response.json()) as { data?: { createJobs: { __typename: string } } | null; errors?: Array<{ message: string; extensions?: { code?: unknown } }> };
    if (body.errors?.length) {
      const [error] = body.errors;
      // Anything but the outage's answer fails the test.
      if (error!.extensions?.code !== 'DATABASE_UNAVAILABLE') throw new Error(`unexpected answer: ${JSON.stringify(body)}`);
      outcome.unavailableAnswers.push({ message: error!.message, code: error!.extensions.code, status: response.status });
      await delay(250);
      continue;
    }
    expect(body.data?.createJobs.__typename).toBe('MutationCreateJobsSuccess');
    outcome.created += BATCH;
    await afterBatch(outcome.created);
  }
  return outcome;
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

async function restartUnderLoad(queue: string, mode: 'fast' | 'immediate', downMs: number) {
  const subscriber = new ResumingSubscriber(api.url, queue);
  let restarted: { stoppedAt: number; startedAt: number } | null = null;
  let sawNotReady = false;
  let outage: Awaited<ReturnType<typeof createOnce>> | null = null;
  let listing: Awaited<ReturnType<typeof graphql>> | null = null;
  const created = await createJobsThrough(queue, JOBS_PER_RESTART, async (count) => {
    if (count !== 3 * BATCH) return;
    // Jobs are queued and running: Postgres goes away.
    await server.stop(mode);
    const stoppedAt = Date.now();
    sawNotReady = (await eventually('/health/ready to answer 503 while the database is down', async () => ((await readiness()) === 503 ? true : undefined))) === true;
    // A create (pg) and a listing (Prisma) now are answered with the outage's code, not "Unexpected error.".
    outage = await createOnce(queue);
    listing = await graphql({ query: JobsPage.toString(), variables: { first: 1 } });
    const left = downMs - (Date.now() - stoppedAt);
    if (left > 0) await delay(left);
    await server.start();
    restarted = { stoppedAt, startedAt: Date.now() };
  });
  expect(restarted).not.toBeNull();
  expect(sawNotReady).toBe(true);
  expect(outage).toMatchObject({ status: 503, errors: [{ extensions: { code: 'DATABASE_UNAVAILABLE' } }] });
  expect(outage!.errors[0]!.message).toMatch(/unavailable.*retry/i);
  expect(listing).toMatchObject({ status: 503, errors: [{ extensions: { code: 'DATABASE_UNAVAILABLE' } }] });

  // Every job ends COMPLETED; none is left RUNNING or PENDING.
  await eventually(
    `every job of ${queue} COMPLETED`,
    async () => {
      const { rows } = await db.query<{ open: number; total: number }>(
        `select count(*) filter (where status <> 'COMPLETED')::int as open, count(*)::int as total from job where queue_name = $1`,
        [queue],
      );
      return rows[0]!.total >= JOBS_PER_RESTART && rows[0]!.open === 0 ? true : undefined;
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
  expect(completions.length).toBeGreaterThanOrEqual(JOBS_PER_RESTART);
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
  for (const answer of created.unavailableAnswers) {
    expect(answer).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
    expect(answer.message).toMatch(/retry/i);
  }
  const { stoppedAt, startedAt } = restarted!;
  // Figures for the issue note (not asserted: the machine is shared).
  console.log(
    `[database-restart] ${queue}: pg_ctl stop -m ${mode}, down ${startedAt - stoppedAt} ms; all ${completions.length} jobs COMPLETED ` +
      `${recoveredAt - startedAt} ms after the start; ${expected.size} events, each delivered once ` +
      `(${subscriber.resumes} resumes); ${created.unavailableAnswers.length + 1} creates answered DATABASE_UNAVAILABLE`,
  );
  return created;
}

describe('Postgres restarted under load', () => {
  it('pg_ctl stop -m fast, started again at once', async () => {
    await restartUnderLoad('restart-fast', 'fast', 0);
  }, 300_000);

  it('pg_ctl stop -m immediate (crash recovery), started again at once', async () => {
    await restartUnderLoad('restart-immediate', 'immediate', 0);
  }, 300_000);

  it('down for 30 s: creates answer DATABASE_UNAVAILABLE meanwhile, then everything resumes', async () => {
    await restartUnderLoad('restart-30s', 'fast', 30_000);
  }, 300_000);
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
