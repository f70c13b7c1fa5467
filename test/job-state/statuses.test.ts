// The status machine has two copies that must agree: the TypeScript tables
// (src/job-state/statuses.ts) that the code asks, and the database's functions
// and triggers that have the last word. Every pair of statuses, 8 × 8, for jobs
// and for steps: the tables against the SQL functions, and against the
// triggers on a real row, which either move or refuse with SQLSTATE JW001.
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { JOB_TRANSITIONS, JobStatus, STEP_TRANSITIONS } from '../../src/job-state/statuses.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const STATUSES = Object.values(JobStatus);
const PAIRS = STATUSES.flatMap((from) => STATUSES.map((to) => [from, to] as const));
const REASON = 'a reason';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});

/** Runs `fn` in a transaction that is rolled back, so each pair starts from nothing. */
async function rolledBack<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query('begin');
    return await fn(client);
  } finally {
    await client.query('rollback');
    client.release();
  }
}

/** The SQLSTATE of a statement run in a savepoint (rolled back when it fails), or 'ok'. */
async function attempt(client: pg.PoolClient, text: string, values: unknown[]): Promise<string> {
  await client.query('savepoint attempt');
  try {
    await client.query(text, values);
    await client.query('release savepoint attempt');
    return 'ok';
  } catch (error) {
    await client.query('rollback to savepoint attempt');
    return (error as { code?: string }).code ?? String(error);
  }
}

const expected = (allowed: boolean) => (allowed ? 'ok' : 'JW001');

it('the SQL enum job_status has the statuses of the TypeScript tables, in order', async () => {
  const { rows } = await db.pool.query<{ statuses: string[] }>(`select enum_range(null::job_status)::text[] as statuses`);
  expect(rows[0]!.statuses).toEqual(STATUSES);
  expect(Object.keys(JOB_TRANSITIONS).sort()).toEqual([...STATUSES].sort());
  expect(Object.keys(STEP_TRANSITIONS).sort()).toEqual([...STATUSES].sort());
});

describe.each([
  { of: 'job', table: JOB_TRANSITIONS, fn: 'job_status_transition_allowed' },
  { of: 'step', table: STEP_TRANSITIONS, fn: 'job_step_status_transition_allowed' },
])('$fn', ({ table, fn }) => {
  it(`agrees with the ${fn === 'job_status_transition_allowed' ? 'JOB' : 'STEP'}_TRANSITIONS table on all ${PAIRS.length} pairs`, async () => {
    const { rows } = await db.pool.query<{ from: JobStatus; to: JobStatus; allowed: boolean }>(
      `select f::text as from, t::text as to, ${fn}(f, t) as allowed
         from unnest(enum_range(null::job_status)) as f, unnest(enum_range(null::job_status)) as t`,
    );
    const inSql = Object.fromEntries(rows.map((row) => [`${row.from} → ${row.to}`, row.allowed]));
    const inTypeScript = Object.fromEntries(PAIRS.map(([from, to]) => [`${from} → ${to}`, table[from].includes(to)]));
    expect(inSql).toEqual(inTypeScript);
  });
});

describe('the job trigger', () => {
  // How a job gets to each status: inserted PENDING or SCHEDULED (the only
  // statuses a new job may have), then moved along allowed transitions.
  const ROUTE: Record<JobStatus, { insert: JobStatus; then: JobStatus[] }> = {
    PENDING: { insert: 'PENDING', then: [] },
    SCHEDULED: { insert: 'SCHEDULED', then: [] },
    RUNNING: { insert: 'PENDING', then: ['RUNNING'] },
    RETRYING: { insert: 'PENDING', then: ['RUNNING', 'RETRYING'] },
    COMPLETED: { insert: 'PENDING', then: ['RUNNING', 'COMPLETED'] },
    FAILED: { insert: 'PENDING', then: ['RUNNING', 'FAILED'] },
    DEAD_LETTER: { insert: 'PENDING', then: ['RUNNING', 'DEAD_LETTER'] },
    CANCELLED: { insert: 'PENDING', then: ['CANCELLED'] },
  };
  // A failure status needs a reason (job_failure_has_reason); the others keep theirs.
  const MOVE = `update job set status = $2::job_status,
                 error_message = case when $2::job_status in ('FAILED', 'DEAD_LETTER', 'RETRYING') then '${REASON}' else error_message end
                 where id = $1`;

  /** A job in `status`, created an hour ago (so a start time before now() is after its creation). */
  async function jobIn(client: pg.PoolClient, status: JobStatus): Promise<string> {
    const { rows } = await client.query<{ id: string }>(
      `insert into job (job_type, status, created_at) values ('test.status_machine', $1, now() - interval '1 hour') returning id`,
      [ROUTE[status].insert],
    );
    const id = rows[0]!.id;
    for (const next of ROUTE[status].then) await client.query(MOVE, [id, next]);
    return id;
  }

  const state = async (client: pg.PoolClient, id: string) => {
    const { rows } = await client.query<{ status: JobStatus; events: string[] }>(
      `select status, array(select coalesce(previous_status::text, '-') || ' → ' || e.status from job_event e where e.job_id = job.id order by e.id) as events
         from job where id = $1`,
      [id],
    );
    return rows[0]!;
  };

  it.each(PAIRS)('%s → %s: moves exactly when JOB_TRANSITIONS allows it, else JW001 and nothing changes', async (from, to) => {
    await rolledBack(async (client) => {
      const id = await jobIn(client, from);
      const before = await state(client, id);
      expect(before.status).toBe(from);
      const outcome = await attempt(client, MOVE, [id, to]);
      const after = await state(client, id);
      if (from === to) {
        // Not a move: the update goes through and writes no event.
        expect(outcome).toBe('ok');
        expect(after).toEqual(before);
      } else if (JOB_TRANSITIONS[from].includes(to)) {
        expect(outcome).toBe('ok');
        expect(after).toEqual({ status: to, events: [...before.events, `${from} → ${to}`] });
      } else {
        expect(outcome).toBe('JW001');
        expect(after).toEqual(before);
      }
    });
  });

  // Migration 000009: a queued job its worker finished before writing RUNNING
  // goes to COMPLETED in one update that passes through RUNNING (it gives the
  // started_at it read when it took the job). That is allowed exactly where the
  // table allows from → RUNNING → COMPLETED, or from → COMPLETED itself.
  it.each(STATUSES.filter((from) => from !== 'COMPLETED'))(
    '%s → COMPLETED with a start time: moves exactly when the table allows it directly or through RUNNING',
    async (from) => {
      await rolledBack(async (client) => {
        const id = await jobIn(client, from);
        const before = await state(client, id);
        const outcome = await attempt(client, `update job set status = 'COMPLETED', started_at = now() - interval '1 minute' where id = $1`, [id]);
        const after = await state(client, id);
        const throughRunning = JOB_TRANSITIONS[from].includes('RUNNING') && JOB_TRANSITIONS.RUNNING.includes('COMPLETED');
        if (JOB_TRANSITIONS[from].includes('COMPLETED')) {
          expect(outcome).toBe('ok');
          expect(after).toEqual({ status: 'COMPLETED', events: [...before.events, `${from} → COMPLETED`] });
        } else if (throughRunning) {
          expect(outcome).toBe('ok');
          expect(after).toEqual({ status: 'COMPLETED', events: [...before.events, `${from} → RUNNING`, 'RUNNING → COMPLETED'] });
        } else {
          expect(outcome).toBe('JW001');
          expect(after).toEqual(before);
        }
      });
    },
  );
});

describe('the step trigger', () => {
  // A step row can hold only PENDING, RUNNING, COMPLETED, FAILED and CANCELLED
  // (job_step_status_allowed); it is inserted PENDING or RUNNING.
  const ROUTE: Partial<Record<JobStatus, { insert: JobStatus; then: JobStatus[] }>> = {
    PENDING: { insert: 'PENDING', then: [] },
    RUNNING: { insert: 'RUNNING', then: [] },
    COMPLETED: { insert: 'RUNNING', then: ['COMPLETED'] },
    FAILED: { insert: 'RUNNING', then: ['FAILED'] },
    CANCELLED: { insert: 'PENDING', then: ['CANCELLED'] },
  };
  const MOVE = `update job_step set status = $2::job_status,
                 error_message = case when $2::job_status = 'FAILED' then '${REASON}' else error_message end where id = $1`;

  async function stepIn(client: pg.PoolClient, status: JobStatus): Promise<string> {
    const route = ROUTE[status]!;
    const { rows } = await client.query<{ id: string }>(
      `with parent as (insert into job (job_type) values ('test.status_machine') returning id)
       insert into job_step (job_id, name, position, status) select id, 'only', 0, $1 from parent returning id`,
      [route.insert],
    );
    const id = rows[0]!.id;
    for (const next of route.then) await client.query(MOVE, [id, next]);
    return id;
  }

  const statusOf = async (client: pg.PoolClient, id: string) =>
    (await client.query<{ status: JobStatus }>('select status from job_step where id = $1', [id])).rows[0]!.status;

  it.each(STATUSES.filter((status) => !ROUTE[status]))('%s: no step is ever in it, and none may be created in it', async (status) => {
    expect(Object.values(STEP_TRANSITIONS).some((targets) => targets.includes(status))).toBe(false);
    expect(STEP_TRANSITIONS[status]).toEqual([]);
    await rolledBack(async (client) => {
      const { rows } = await client.query<{ id: string }>(`insert into job (job_type) values ('test.status_machine') returning id`);
      const outcome = await attempt(client, `insert into job_step (job_id, name, position, status) values ($1, 'only', 0, $2)`, [rows[0]!.id, status]);
      expect(outcome).toBe('JW001');
    });
  });

  const reachable = PAIRS.filter(([from]) => ROUTE[from]);
  it.each(reachable)('%s → %s: moves exactly when STEP_TRANSITIONS allows it, else JW001 and nothing changes', async (from, to) => {
    await rolledBack(async (client) => {
      const id = await stepIn(client, from);
      const outcome = await attempt(client, MOVE, [id, to]);
      if (from === to || STEP_TRANSITIONS[from].includes(to)) {
        expect(outcome).toBe('ok');
        expect(await statusOf(client, id)).toBe(to);
      } else {
        expect(outcome).toBe('JW001');
        expect(await statusOf(client, id)).toBe(from);
      }
    });
  });
});
