// Group commit of concurrent creates (src/jobs/create-coalescer.ts): creates
// that arrive while one is in flight share the next statement; each caller
// gets its own jobs or its own error, and nothing is ever half-written.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnApi } from '../support/processes.ts';
import { eventually } from '../support/wait.ts';
import { CreateJobFlow } from '../support/operations.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import { noopHandler } from '../../src/system/handlers.ts';
import { createJobsReporting, type CreateJobInput, type CreateJobsDeps } from '../../src/jobs/create.ts';
import { coalescerOf } from '../../src/jobs/create-coalescer.ts';
import type { Caller } from '../../src/auth/principal.ts';

let db: TestDatabase;
let pool: pg.Pool;
let deps: CreateJobsDeps;
const caller: Caller = { principalId: 'local-dev', tenantId: 'default', scopes: new Set(), expiresAt: null };
const MAX = 50;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 15 });
  deps = { pool, registry: new HandlerRegistry().register(noopHandler), config: { JOB_PAYLOAD_MAX_BYTES: 65536, CREATE_JOBS_MAX: 100, CREATE_COALESCE_MAX_JOBS: MAX } };
  // The first job of a type and queue announces its task (a transaction of its own): later ones are one statement.
  await createJobsReporting(deps, caller, [{ jobType: 'system.noop', queueName: 'coalesced' }]);
});
afterAll(async () => {
  await pool?.end();
});

const plain = (metadata: Record<string, unknown> = {}): CreateJobInput => ({ jobType: 'system.noop', queueName: 'coalesced', metadata });

/**
 * Holds the job table locked, starts one create (which waits for the lock, in
 * flight), then starts `inputs` and waits until `queued` of them wait in the
 * coalescer behind it; releases the lock and answers every outcome.
 */
async function behindOneInFlight(inputs: CreateJobInput[][], queued: number) {
  const coalescer = coalescerOf(pool, MAX);
  const locker = await pool.connect();
  try {
    await locker.query('begin');
    await locker.query('lock table job in share mode');
    const first = createJobsReporting(deps, caller, [plain()]);
    await eventually('the first create to wait for the lock', async () => {
      const { rows } = await locker.query(`select 1 from pg_locks where relation = 'job'::regclass and not granted`);
      return rows.length > 0 ? true : undefined;
    });
    const rest = inputs.map((input) => createJobsReporting(deps, caller, input));
    await eventually(`${queued} creates to wait behind it`, async () => (coalescer.waiting === queued ? true : undefined));
    await locker.query('commit');
    return { first: await first, rest: await Promise.allSettled(rest) };
  } finally {
    locker.release();
  }
}

async function txIdsOf(ids: string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ tx_id: string }>(`select tx_id from job_event where job_id = any($1::uuid[])`, [ids]);
  return new Set(rows.map((row) => row.tx_id));
}

/** Jobs without their queue entry or their first event, and job queue entries without their job. */
async function halfWritten() {
  const { rows } = await pool.query<{ no_entry: number; no_event: number; no_job: number }>(
    `select (select count(*)::int from job where not exists (select from graphile_worker.jobs q where q.id = job.queue_entry_id)) as no_entry,
            (select count(*)::int from job where not exists (select from job_event e where e.job_id = job.id)) as no_event,
            (select count(*)::int from graphile_worker.jobs q
              where q.task_identifier like 'job:%' and not exists (select from job where job.queue_entry_id = q.id)) as no_job`,
  );
  return rows[0];
}

it('creates that arrive while one is in flight share one statement; each caller gets its own job', async () => {
  const coalescer = coalescerOf(pool, MAX);
  const before = coalescer.counts.coalescedStatements;
  const { first, rest } = await behindOneInFlight(
    Array.from({ length: 5 }, (_, index) => [plain({ caller: index })]),
    5,
  );
  const answers = rest.map((outcome) => {
    if (outcome.status !== 'fulfilled') throw outcome.reason;
    return outcome.value;
  });
  expect(answers.map((answer) => answer.length)).toEqual([1, 1, 1, 1, 1]);
  const ids = answers.map((answer) => answer[0]!.id);
  expect(new Set([...ids, first[0]!.id]).size).toBe(6);
  // Each answer is that caller's own job, as inserted (the row its statement returned).
  answers.forEach((answer, index) => {
    expect(answer[0]).toMatchObject({ created: true, row: { id: answer[0]!.id, metadata: { caller: index } } });
  });
  expect(coalescer.counts.coalescedStatements).toBe(before + 1);
  // One statement, one transaction: the five jobs' first events share one transaction id, not the first job's.
  const shared = await txIdsOf(ids);
  expect(shared.size).toBe(1);
  expect([...(await txIdsOf([first[0]!.id]))][0]).not.toBe([...shared][0]);
  expect(await halfWritten()).toEqual({ no_entry: 0, no_event: 0, no_job: 0 });
});

it('a createJobs call is never split: callers join a statement only while it stays within CREATE_COALESCE_MAX_JOBS', async () => {
  const many = (count: number, tag: string) => Array.from({ length: count }, () => plain({ tag }));
  const { rest } = await behindOneInFlight([many(30, 'a'), many(30, 'b'), many(10, 'c')], 3);
  const ids = rest.map((outcome) => {
    if (outcome.status !== 'fulfilled') throw outcome.reason;
    return outcome.value.map((answer) => answer.id);
  });
  expect(ids.map((list) => list.length)).toEqual([30, 30, 10]);
  // 30 + 30 > 50: the first goes alone, the second and third (40 jobs) together.
  const [a, b, c] = await Promise.all(ids.map(txIdsOf));
  expect(a!.size).toBe(1);
  expect(b!.size).toBe(1);
  expect([...b!]).toEqual([...c!]);
  expect([...a!]).not.toEqual([...b!]);
});

it('one create Postgres refuses in a shared statement fails alone; the others are created', async () => {
  // A job the database refuses (as a trigger or constraint would), chosen by its metadata.
  await pool.query(`create function test_refuse_poison() returns trigger language plpgsql as $$
                    begin raise exception 'refused job %', new.id; end $$`);
  await pool.query(`create trigger test_refuse_poison before insert on job for each row when (new.metadata ? 'poison') execute function test_refuse_poison()`);
  try {
    const coalescer = coalescerOf(pool, MAX);
    const fallbacks = coalescer.counts.fallbacks;
    const { rest } = await behindOneInFlight([[plain({ good: 1 })], [plain({ poison: true })], [plain({ good: 2 })], [plain({ good: 3 })]], 4);
    expect(rest.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((rest[1] as PromiseRejectedResult).reason)).toMatch(/refused job/);
    expect(coalescer.counts.fallbacks).toBe(fallbacks + 1);
    const good = rest.flatMap((outcome) => (outcome.status === 'fulfilled' ? outcome.value.map((answer) => answer.id) : []));
    const { rows } = await pool.query(`select metadata from job where id = any($1::uuid[]) order by metadata->>'good'`, [good]);
    expect(rows.map((row) => row.metadata)).toEqual([{ good: 1 }, { good: 2 }, { good: 3 }]);
    const { rows: poisoned } = await pool.query(`select count(*)::int as n from job where metadata ? 'poison'`);
    expect(poisoned[0].n).toBe(0);
    expect(await halfWritten()).toEqual({ no_entry: 0, no_event: 0, no_job: 0 });
  } finally {
    await pool.query('drop trigger test_refuse_poison on job');
    await pool.query('drop function test_refuse_poison()');
  }
});

it('a shared statement whose backend is terminated is run again caller by caller: nobody loses a create', async () => {
  const coalescer = coalescerOf(pool, MAX);
  const fallbacks = coalescer.counts.fallbacks;
  const first = await pool.connect();
  const second = await pool.connect();
  try {
    await first.query('begin');
    await first.query('lock table job in share mode');
    const inFlight = createJobsReporting(deps, caller, [plain()]);
    const waitersOnJob = async (count: number) => {
      const { rows } = await pool.query(`select pid from pg_locks where relation = 'job'::regclass and not granted order by pid`);
      return rows.length === count ? rows.map((row) => row.pid as number) : undefined;
    };
    await eventually('the first create to wait for the lock', () => waitersOnJob(1));
    const queued = [1, 2, 3].map((index) => createJobsReporting(deps, caller, [plain({ queued: index })]));
    await eventually('three creates to wait behind it', async () => (coalescer.waiting === 3 ? true : undefined));
    // Queued behind the waiting insert (Postgres grants locks in order): it will hold the table when the shared statement comes.
    const secondLock = second.query('begin').then(() => second.query('lock table job in share mode'));
    await eventually('the second lock to queue', () => waitersOnJob(2));
    await first.query('commit');
    await inFlight;
    await secondLock;
    const [shared] = await eventually('the shared statement to wait for the lock', () => waitersOnJob(1));
    await pool.query('select pg_terminate_backend($1)', [shared]);
    await second.query('commit');
    const answers = await Promise.all(queued);
    expect(coalescer.counts.fallbacks).toBe(fallbacks + 1);
    const ids = answers.map((answer) => answer[0]!.id);
    const { rows } = await pool.query(`select metadata from job where id = any($1::uuid[]) order by metadata->>'queued'`, [ids]);
    expect(rows.map((row) => row.metadata)).toEqual([{ queued: 1 }, { queued: 2 }, { queued: 3 }]);
    expect(await halfWritten()).toEqual({ no_entry: 0, no_event: 0, no_job: 0 });
  } finally {
    first.release();
    second.release();
  }
});

it('a shared statement cancelled by statement_timeout fails each of its callers, without running them again', async () => {
  const timed = new pg.Pool({ connectionString: db.url, max: 3, options: '-c statement_timeout=1000' });
  try {
    const coalescer = coalescerOf(timed, MAX);
    const timedDeps = { ...deps, pool: timed };
    const locker = await pool.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table job in share mode');
      const first = createJobsReporting(timedDeps, caller, [plain()]);
      await eventually('the first create to wait for the lock', async () => {
        const { rows } = await locker.query(`select 1 from pg_locks where relation = 'job'::regclass and not granted`);
        return rows.length > 0 ? true : undefined;
      });
      const queued = [1, 2, 3].map((index) => createJobsReporting(timedDeps, caller, [plain({ timedOut: index })]));
      await eventually('three creates to wait behind it', async () => (coalescer.waiting === 3 ? true : undefined));
      // The lock stays: the first statement, then the shared one, run into the timeout.
      await expect(first).rejects.toMatchObject({ code: '57014' });
      const outcomes = await Promise.allSettled(queued);
      expect(outcomes.map((outcome) => outcome.status === 'rejected' && (outcome.reason as { code?: string }).code)).toEqual(['57014', '57014', '57014']);
      expect(coalescer.counts).toEqual({ coalescedStatements: 1, fallbacks: 0 });
      await locker.query('commit');
    } finally {
      locker.release();
    }
    const { rows } = await pool.query(`select count(*)::int as n from job where metadata ? 'timedOut'`);
    expect(rows[0].n).toBe(0);
  } finally {
    await timed.end();
  }
});

it('creates with one idempotency key, concurrent with coalesced creates, make one job: one answer says created, all name it', async () => {
  const keyed = Array.from({ length: 8 }, (): CreateJobInput[] => [{ ...plain(), idempotencyKey: 'batch-key' }]);
  // Keyed creates take the transaction of src/flow (never coalesced); the plain ones wait in the coalescer.
  const { rest } = await behindOneInFlight([...keyed, [plain()], [plain()]], 2);
  const answers = rest.map((outcome) => {
    if (outcome.status !== 'fulfilled') throw outcome.reason;
    return outcome.value[0]!;
  });
  const keyedAnswers = answers.slice(0, 8);
  expect(new Set(keyedAnswers.map((answer) => answer.id)).size).toBe(1);
  expect(keyedAnswers.filter((answer) => answer.created)).toHaveLength(1);
  const { rows } = await pool.query(`select count(*)::int as n from job_idempotency_key k join job on job.id = k.job_id where k.idempotency_key = 'batch-key'`);
  expect(rows[0].n).toBe(1);
  expect(answers.slice(8).every((answer) => answer.created)).toBe(true);
});

it('an API process killed during concurrent creates leaves no job half-written, and every create it answered is there', async () => {
  const child = await spawnApi(db.url, { MUTATION_RATE_LIMIT_PER_MINUTE: '0' });
  await child.client.request(CreateJobFlow, { input: { jobType: 'system.noop', queueName: 'killed' } });
  const answered: string[] = [];
  let killed = false;
  const CLIENTS = 20;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (!killed) {
      try {
        const answer = await child.client.request(CreateJobFlow, { input: { jobType: 'system.noop', queueName: 'killed' } });
        if (answer.createJob.__typename === 'MutationCreateJobSuccess') answered.push(uuidOf(answer.createJob.data.id));
      } catch {
        return; // the process is gone
      }
      // Killed with creates in flight: every client has one outstanding when the count is reached.
      if (answered.length >= 200 && !killed) {
        killed = true;
        child.process.kill('SIGKILL');
      }
    }
  });
  await Promise.all(clients);
  expect(await child.exited).toBe('SIGKILL');
  expect(await halfWritten()).toEqual({ no_entry: 0, no_event: 0, no_job: 0 });
  const { rows } = await pool.query<{ n: number }>(`select count(*)::int as n from job where id = any($1::uuid[])`, [answered]);
  expect(rows[0]!.n).toBe(answered.length);
  // The child did coalesce: some statement wrote the jobs of several callers.
  const { rows: shared } = await pool.query<{ n: number }>(
    `select count(*)::int as n from (select tx_id from job_event e join job on job.id = e.job_id
                                      where job.queue_name = 'killed' group by tx_id having count(*) > 1) as t`,
  );
  expect(shared[0]!.n).toBeGreaterThan(0);
});
