// The stall watchdog (src/worker/stall-watchdog.ts), on real `work` processes:
// a worker whose fetch finds nothing while jobs are due (their queue entries
// held by another session, as a stuck transaction would) reports the stall on
// /health/ready and exits 1 with one line; a worker busy with long jobs and a
// worker on an empty queue stay ready and alive.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePort } from '../../src/testing/ports.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnWorker, startTestApp, type TestApp } from '../support/app.ts';
import { createJob } from '../support/jobs.ts';
import { eventually } from '../support/wait.ts';

/** Short bounds, so the test sees a stall and an exit in seconds. */
const STALL_ENV = { WORKER_STALL_AFTER_MS: '1500', WORKER_STALL_EXIT_AFTER_MS: '1500' };

let db: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await startTestApp(db.url, { roles: { api: true, worker: false } });
});
afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

async function startWatchedWorker(databaseUrl: string, env: Record<string, string> = {}) {
  const metricsPort = await freePort();
  const worker = await spawnWorker(databaseUrl, { ...STALL_ENV, METRICS_PORT: String(metricsPort), ...env });
  const readiness = async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/health/ready`).catch(() => null);
    if (!response) return null;
    return { status: response.status, body: (await response.json()) as { checks: Record<string, { ok: boolean; detail?: string }> } };
  };
  return { ...worker, readiness };
}

it('a worker that takes no job while jobs are due says so on /health/ready, then exits 1 with one line', async () => {
  // Due at once, and held by a session of ours before any worker runs: the
  // worker then starts with due jobs its fetch cannot take.
  const jobs = await Promise.all([1, 2, 3].map(() => createJob(api.client, { jobType: 'system.noop' })));
  const holder = await db.pool.connect();
  try {
    await holder.query('begin');
    const held = await holder.query(
      `select id from graphile_worker._private_jobs where (payload->>'jobId')::uuid = any($1::uuid[]) and locked_at is null for update`,
      [jobs.map((job) => uuidOf(job.id))],
    );
    expect(held.rowCount).toBe(3);
    const worker = await startWatchedWorker(db.url);

    const notReady = await eventually('/health/ready to report the stall', async () => {
      const answer = await worker.readiness();
      return answer?.status === 503 && answer.body.checks.workerTakesJobs?.ok === false ? answer : undefined;
    });
    expect(notReady.body.checks.workerTakesJobs!.detail).toMatch(/^stalled: 3 job\(s\) due for up to \d+ s are not taken while \d+ of 4 slots have been free for \d+ s$/);
    // The other checks are fine: this is the watchdog speaking, not the database.
    expect(notReady.body.checks.database).toEqual({ ok: true });

    expect(await worker.exited).toBe(1);
    if (!worker.process.stdout!.closed) await new Promise((resolve) => worker.process.stdout!.once('close', resolve));
    const fatal = worker.logs.filter((line) => Number(line.level) >= 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.msg).toMatch(
      /^worker stalled: 3 job\(s\) due .+, for \d+ s more \(WORKER_STALL_EXIT_AFTER_MS=1500\); exiting so that a supervisor restarts the process$/,
    );
  } finally {
    await holder.query('rollback');
    holder.release();
  }

  // What the supervisor does: a new worker runs them.
  await startWatchedWorker(db.url);
  await eventually('the held jobs to complete on a new worker', async () => {
    const { rows } = await db.pool.query<{ n: number }>(`select count(*)::int as n from job where id = any($1::uuid[]) and status = 'COMPLETED'`, [
      jobs.map((job) => uuidOf(job.id)),
    ]);
    return rows[0]!.n === 3 ? true : undefined;
  });
}, 60_000);

it('a worker busy with long jobs, jobs due behind them, and a worker on an empty queue stay ready and alive', async () => {
  const busyDb = await createTestDatabase();
  const idleDb = await createTestDatabase();
  try {
    const busyApi = await startTestApp(busyDb.url, { roles: { api: true, worker: false } });
    const busy = await startWatchedWorker(busyDb.url, { WORKER_CONCURRENCY: '2' });
    const idle = await startWatchedWorker(idleDb.url);
    // Two sleeps fill both slots for 5 s (over three times the stall bounds); four no-ops wait behind them, due.
    const sleeps = await Promise.all([1, 2].map(() => createJob(busyApi.client, { jobType: 'system.sleep', payload: { ms: 5000, ticks: 5 } })));
    const waiting = await Promise.all([1, 2, 3, 4].map(() => createJob(busyApi.client, { jobType: 'system.noop' })));
    const ids = [...sleeps, ...waiting].map((job) => uuidOf(job.id));

    const answers: Array<number | null> = [];
    await eventually(
      'every job of the busy worker to complete',
      async () => {
        const [busyReady, idleReady] = await Promise.all([busy.readiness(), idle.readiness()]);
        answers.push(busyReady?.status ?? null, idleReady?.status ?? null);
        const { rows } = await busyDb.pool.query<{ n: number }>(`select count(*)::int as n from job where id = any($1::uuid[]) and status = 'COMPLETED'`, [ids]);
        return rows[0]!.n === ids.length ? true : undefined;
      },
      60_000,
    );
    expect(answers.length).toBeGreaterThan(20);
    expect(answers.filter((status) => status !== 200)).toEqual([]);
    for (const worker of [busy, idle]) {
      expect(worker.process.exitCode).toBeNull();
      expect(worker.logs.filter((line) => /stalled/.test(String(line.msg)))).toEqual([]);
    }
    await busyApi.stop();
    for (const worker of [busy, idle]) {
      worker.process.kill('SIGTERM');
      await worker.exited;
    }
  } finally {
    await busyDb.drop();
    await idleDb.drop();
  }
}, 90_000);
