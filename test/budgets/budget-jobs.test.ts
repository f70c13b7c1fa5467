// Budget jobs (seed 004) end to end: GraphQL mutations create them, a worker
// runs them against the local YNAB server over HTTP, Postgres stores what they
// fetch. Each test is one "must hold" line of issue 17 (the two-worker and
// tenant lines have their own files).
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { budgetProviderEnv, create, created, finished, generateBudget, startBudgetServer, succeeded, YNAB_TOKEN } from '../support/budgets.ts';
import {
  AcceptSuggestions,
  BudgetCountsByOldNames,
  BudgetJobs,
  BudgetSnapshots,
  BudgetSuggestions,
  CreateBudgetSchedule,
  CreateBudgetSyncJob,
  CreateSnapshotRedownloadJob,
  CreateSuggestionsApplyJob,
  CreateSuggestionsRetryPayeeJob,
  CreateSyncAndSuggestJob,
  RejectSuggestions,
} from '../support/operations-budgets.ts';
import { PauseQueue, ResumeQueue } from '../support/operations.ts';
import { eventually } from '../support/wait.ts';
import { recordingQueries, type RecordedQuery } from '../../src/testing/prisma-queries.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import type { YnabServer } from '../../src/testing/ynab-server.ts';

const BIG = generateBudget({ seed: 17, transactions: 10_000, name: 'Household' });
const SMALL = generateBudget({ seed: 4, transactions: 300, name: 'Side project' });
let db: TestDatabase;
let server: YnabServer;
let client: GraphQLTestClient;
let service: TestApp;
/** What the API's Prisma client asked (a list must not cost a query per row). */
const queries: RecordedQuery[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startBudgetServer([BIG, SMALL]);
  service = await startTestApp(db.url, { wrapPrisma: (prisma) => recordingQueries(prisma, queries), env: { ...budgetProviderEnv(server), SCHEDULE_POLL_INTERVAL_MS: '100' } });
  client = service.client;
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

/** The requests the server got from `from` on, as "METHOD /resource" without the budget id. */
function requestsSince(from: number, budgetId = BIG.id) {
  return server.requests.slice(from).map((r) => ({ ...r, resource: `${r.method} ${r.path.replace(`/budgets/${budgetId}`, '')}` }));
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await db.pool.query(sql, params)).rows[0].count);
}

/** Pauses the queue while `fn` runs: a job created meanwhile starts only after it (server failures queued then meet the job, not the create's check). */
async function withQueuePaused<T>(fn: () => Promise<T>): Promise<T> {
  await client.request(PauseQueue, { queueName: 'default' });
  try {
    return await fn();
  } finally {
    await client.request(ResumeQueue, { queueName: 'default' });
  }
}

describe('budget_sync', () => {
  it('a first sync stores 10,000 transactions page by page; a delta sync then fetches and writes only the 25 that changed', async () => {
    const before = server.requests.length;
    const job = await create.sync(client, BIG.id);
    expect(job).toMatchObject({ budgetJobType: 'BUDGET_SYNC', jobType: 'budget.sync', budgetMetadata: { fullResync: false, trigger: 'MANUAL' } });
    const { job: first, updates } = await finished(client, job.id);
    expect(first.budgetStatus).toBe('SUCCEEDED');
    expect(first.syncedTransactionCount).toBe(10_000);
    // Progress moved live, page by page.
    expect(new Set(updates.map((u) => u.syncedTransactionCount).filter((n) => n! > 0 && n! < 10_000)).size).toBeGreaterThan(0);
    const pages = requestsSince(before).filter((r) => r.resource === 'GET /transactions');
    expect(pages).toHaveLength(10);
    expect(pages.every((r) => r.query.last_knowledge_of_server === undefined)).toBe(true);
    expect(await count(`select count(*) from budget_transaction where budget_id = $1`, [BIG.id])).toBe(10_000);
    const knowledge = Number((await db.pool.query(`select transactions_knowledge from budget where budget_id = $1`, [BIG.id])).rows[0].transactions_knowledge);

    const changed = server.mutate(BIG.id, 25);
    const deltaFrom = server.requests.length;
    const delta = await succeeded(client, create.sync(client, BIG.id));
    expect(delta.syncedTransactionCount).toBe(25);
    // The dashboard's detail of the job, from the budget kind's descriptor.
    const detail = await client.send<{ job: { kindDetail: { title: string; facts: Array<{ label: string; value: string }> } } }, { id: string }>(
      'query ($id: ID!) { job(id: $id) { kindDetail { title facts { label value } } } }',
      { id: delta.id },
    );
    expect(detail.body.data?.job.kindDetail).toEqual({
      title: 'Budget job',
      facts: expect.arrayContaining([
        { label: 'Budget', value: BIG.id },
        { label: 'Type', value: 'budget_sync' },
        { label: 'Transactions synced', value: '25' },
      ]),
    });
    const deltaPages = requestsSince(deltaFrom).filter((r) => r.resource === 'GET /transactions');
    expect(deltaPages).toHaveLength(1);
    expect(deltaPages[0]!.query.last_knowledge_of_server).toBe(String(knowledge));
    const written = await db.pool.query<{ transaction_id: string; memo: string }>(
      `select transaction_id, memo from budget_transaction where budget_id = $1 and synced_by_job_id = $2`,
      [BIG.id, uuidOf(delta.id)],
    );
    expect(written.rows.map((r) => r.transaction_id).sort()).toEqual([...changed].sort());
    expect(written.rows.every((r) => r.memo.startsWith('edited at knowledge'))).toBe(true);
    expect(await count(`select count(*) from budget_transaction where budget_id = $1`, [BIG.id])).toBe(10_000);
  });

  it('fullResync fetches everything again, whatever the stored knowledge', async () => {
    const from = server.requests.length;
    const job = await succeeded(client, created((await client.request(CreateBudgetSyncJob, { input: { budgetId: BIG.id, fullResync: true } })).createBudgetSyncJob as never));
    expect(job.budgetMetadata.fullResync).toBe(true);
    expect(job.syncedTransactionCount).toBe(10_000);
    expect(requestsSince(from).filter((r) => r.resource === 'GET /transactions').every((r) => r.query.last_knowledge_of_server === undefined)).toBe(true);
  });

  it('a 429 with Retry-After: 2 makes the next request wait at least 2 s, and the job succeeds', async () => {
    const from = server.requests.length;
    const job = await withQueuePaused(async () => {
      const queued = await create.sync(client, SMALL.id);
      server.failNext({ status: 429, retryAfter: '2' });
      return queued;
    });
    const done = await succeeded(client, job);
    expect(done.syncedTransactionCount).toBe(300);
    const requests = server.requests.slice(from);
    const limited = requests.find((r) => r.status === 429)!;
    expect(limited).toBeDefined();
    // The adapter asks again for the same thing: not before Retry-After.
    const again = requests.find((r) => r !== limited && r.at >= limited.at && r.method === limited.method && r.path === limited.path && JSON.stringify(r.query) === JSON.stringify(limited.query))!;
    expect(again.status).toBe(200);
    expect(again.at - limited.at).toBeGreaterThanOrEqual(2000);
  });

  it('a provider error that carries the token and the URL: failureReason contains neither', async () => {
    const job = await withQueuePaused(async () => {
      const queued = created((await client.request(CreateBudgetSyncJob, { input: { budgetId: SMALL.id, maxRetries: 0 } })).createBudgetSyncJob as never);
      // Every try of the adapter (YNAB_RETRIES=3 by default, then the job's) meets a 500 whose body has the token and URL.
      server.failNext({ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 500 });
      return queued;
    });
    const { job: failed } = await finished(client, job.id);
    expect(failed.budgetStatus).toBe('FAILED');
    expect(failed.failureReason).toBeTruthy();
    for (const secret of [YNAB_TOKEN, server.url, '127.0.0.1', 'http']) {
      expect(failed.failureReason).not.toContain(secret);
      expect(failed.errorMessage).not.toContain(secret);
    }
  });
});

describe('suggestions', () => {
  it('sync_and_suggest runs its steps sync then suggestions; suggestions come from payee history, near-identical names included', async () => {
    const { job, updates } = await finished(client, (await create.syncAndSuggest(client, SMALL.id)).id);
    expect(job.budgetStatus).toBe('SUCCEEDED');
    // Suggestions made reach subscribers live (transactions synced: the first test).
    expect(updates.some((u) => u.suggestionCount === job.suggestionCount)).toBe(true);
    expect(job.steps.edges.map((e) => [e.node.position, e.node.name, e.node.status])).toEqual([
      [0, 'sync', 'COMPLETED'],
      [1, 'suggestions', 'COMPLETED'],
    ]);
    expect(job.suggestionCount).toBeGreaterThan(0);
    const counts = (await client.request(BudgetCountsByOldNames, { id: job.id })).job as Record<string, number>;
    expect([counts.transactionsSynced, counts.suggestionsMade]).toEqual([counts.syncedTransactionCount, counts.suggestionCount]);
    const { budgetSuggestions } = await client.request(BudgetSuggestions, { budgetId: SMALL.id, status: 'PENDING', first: 100 });
    const suggestions = budgetSuggestions.edges.map((e) => e.node);
    expect(suggestions.length).toBe(Math.min(job.suggestionCount, 100));
    for (const s of suggestions) {
      expect(s.confidence).toBeGreaterThan(0);
      expect(s.confidence).toBeLessThanOrEqual(1);
      expect(s.evidenceCount).toBeGreaterThan(0);
    }
    // Every suggestion is for a transaction stored without a category.
    const uncategorised = await db.pool.query<{ transaction_id: string }>(
      `select transaction_id from budget_transaction where budget_id = $1 and category_id is null and not deleted`,
      [SMALL.id],
    );
    const open = new Set(uncategorised.rows.map((r) => r.transaction_id));
    expect(suggestions.every((s) => open.has(s.transactionId))).toBe(true);
    // Some rest on more history than their own payee has: near-identical names (AMAZON.COM*X1, Amazon.com #12) count.
    const wider = await count(
      `select count(*) from category_suggestion s
        where s.budget_id = $1 and s.evidence_count > (
          select count(*) from budget_transaction t
           where t.budget_id = s.budget_id and t.payee_id = s.payee_id and t.category_id is not null and not t.deleted)`,
      [SMALL.id],
    );
    expect(wider).toBeGreaterThan(0);
  });

  it('sync_and_suggest whose suggestions step fails once: the retry resumes there and does not call the sync endpoints again', async () => {
    // The suggestions store fails once, as a database hiccup would.
    await db.pool.query(`
      create sequence test_suggestion_inserts;
      create function test_fail_suggestions_once() returns trigger language plpgsql as $$
      begin
        -- A sequence, as the failure rolls back everything else the transaction wrote.
        if nextval('test_suggestion_inserts') = 1 then raise exception 'suggestion store unavailable'; end if;
        return null;
      end $$;
      create trigger test_fail_suggestions_once before insert on category_suggestion
        for each statement execute function test_fail_suggestions_once();`);
    try {
      const from = server.requests.length;
      const job = await succeeded(client, create.syncAndSuggest(client, SMALL.id, 2));
      expect(job.retryCount).toBe(1);
      expect(job.steps.edges.map((e) => [e.node.name, e.node.status])).toEqual([
        ['sync', 'COMPLETED'],
        ['suggestions', 'COMPLETED'],
      ]);
      // One sync's requests in all (the first attempt's): the retry called no sync endpoint.
      const sync = requestsSince(from, SMALL.id).map((r) => r.resource);
      expect(sync.filter((r) => r === 'GET /transactions')).toHaveLength(1);
      expect(sync.filter((r) => r === 'GET /accounts')).toHaveLength(1);
      expect(sync.filter((r) => r === 'GET /payees')).toHaveLength(1);
      expect(sync.filter((r) => r === 'GET /categories')).toHaveLength(1);
      // The failed attempt was recorded with a user-safe reason: the database's error stayed in the log.
      const events = await db.pool.query<{ status: string; message: string | null }>(`select status, message from job_event where job_id = $1 order by id`, [uuidOf(job.id)]);
      expect(events.rows.map((e) => e.status)).toContain('RETRYING');
      expect(JSON.stringify(events.rows)).not.toContain('suggestion store unavailable');
    } finally {
      await db.pool.query(`drop trigger test_fail_suggestions_once on category_suggestion; drop function test_fail_suggestions_once(); drop sequence test_suggestion_inserts;`);
    }
  });

  it('suggestions_retry_payee makes one payee\'s PENDING suggestions again, and only theirs', async () => {
    const { rows } = await db.pool.query<{ payee_id: string }>(
      `select payee_id from category_suggestion where budget_id = $1 and status = 'PENDING' group by payee_id order by count(*) desc limit 1`,
      [SMALL.id],
    );
    const payeeId = rows[0]!.payee_id;
    const before = await db.pool.query(`select payee_id, count(*)::int as n from category_suggestion where budget_id = $1 group by payee_id order by payee_id`, [SMALL.id]);
    const job = await succeeded(client, create.retryPayee(client, SMALL.id, payeeId));
    expect(job).toMatchObject({ budgetJobType: 'SUGGESTIONS_RETRY_PAYEE', payeeId });
    const ofPayee = await count(`select count(*) from category_suggestion where budget_id = $1 and payee_id = $2`, [SMALL.id, payeeId]);
    expect(job.suggestionCount).toBe(ofPayee);
    expect(await count(`select count(*) from category_suggestion where budget_id = $1 and created_by_job_id = $2`, [SMALL.id, uuidOf(job.id)])).toBe(ofPayee);
    const after = await db.pool.query(`select payee_id, count(*)::int as n from category_suggestion where budget_id = $1 group by payee_id order by payee_id`, [SMALL.id]);
    expect(after.rows).toEqual(before.rows);
  });

  it('suggestions_apply run twice: the provider receives each update once; each suggestion records what happened', async () => {
    const { budgetSuggestions } = await client.request(BudgetSuggestions, { budgetId: SMALL.id, status: 'PENDING', first: 6 });
    const [rejected, ...accepted] = budgetSuggestions.edges.map((e) => e.node);
    const accept = await client.request(AcceptSuggestions, { input: { budgetId: SMALL.id, suggestionIds: accepted.map((s) => s.id) } });
    expect(accept.acceptSuggestions.__typename).toBe('MutationAcceptSuggestionsSuccess');
    await client.request(RejectSuggestions, { input: { budgetId: SMALL.id, suggestionIds: [rejected!.id] } });
    const updatesBefore = server.receivedUpdates.length;

    const first = await succeeded(client, create.apply(client, SMALL.id));
    expect(first.appliedSuggestionCount).toBe(accepted.length);
    // The second names the same suggestions and the rejected one: nothing is sent again.
    const second = await succeeded(client, create.apply(client, SMALL.id, [...accepted.map((s) => s.id), rejected!.id]));
    expect(second.appliedSuggestionCount).toBe(0);
    expect(second.notAppliedSuggestionCount).toBe(1);
    expect(second.result).toMatchObject({ appliedSuggestionCount: 0, alreadyAppliedSuggestionCount: accepted.length, notAppliedSuggestionCount: 1 });
    // The deprecated names answer what the new ones do (the two apply jobs tell applied from not applied).
    for (const { id } of [first, second]) {
      const counts = (await client.request(BudgetCountsByOldNames, { id })).job as Record<string, number>;
      expect([counts.transactionsSynced, counts.suggestionsMade, counts.suggestionsApplied, counts.suggestionsNotApplied]).toEqual([
        counts.syncedTransactionCount, counts.suggestionCount, counts.appliedSuggestionCount, counts.notAppliedSuggestionCount,
      ]);
    }

    const received = server.receivedUpdates.slice(updatesBefore);
    expect(received.map((u) => u.transactionId).sort()).toEqual(accepted.map((s) => s.transactionId).sort());
    for (const s of accepted) expect(received.find((u) => u.transactionId === s.transactionId)!.categoryId).toBe(s.suggestedCategoryId);

    const applied = await client.request(BudgetSuggestions, { budgetId: SMALL.id, status: 'APPLIED', first: 10 });
    expect(applied.budgetSuggestions.edges.map((e) => e.node.id).sort()).toEqual(accepted.map((s) => s.id).sort());
    expect(applied.budgetSuggestions.edges.every((e) => e.node.appliedByJobId === first.id && e.node.appliedAt)).toBe(true);
    const notApplied = await client.request(BudgetSuggestions, { budgetId: SMALL.id, status: 'REJECTED', first: 10 });
    expect(notApplied.budgetSuggestions.edges.find((e) => e.node.id === rejected!.id)!.node.notAppliedReason).toBe('the suggestion is not ACCEPTED');
    // An APPLIED suggestion can no longer be answered.
    const late = await client.request(RejectSuggestions, { input: { budgetId: SMALL.id, suggestionIds: [accepted[0]!.id] } });
    expect(late.rejectSuggestions).toMatchObject({ __typename: 'SuggestionAlreadyAppliedError', suggestionId: accepted[0]!.id, field: 'suggestionIds.0' });
  });
});

describe('snapshots', () => {
  it('snapshot_create stores the gzip of the export with its sha256; snapshot_redownload verifies it and says whether the budget changed', async () => {
    const exported = await fetch(`${server.url}/budgets/${SMALL.id}`, { headers: { authorization: `Bearer ${YNAB_TOKEN}` } });
    const body = Buffer.from(await exported.arrayBuffer());
    const job = await succeeded(client, create.snapshot(client, SMALL.id));
    const { budgetSnapshots } = await client.request(BudgetSnapshots, { budgetId: SMALL.id });
    const snapshot = budgetSnapshots.edges[0]!.node;
    expect(snapshot).toMatchObject({ id: job.snapshotId, createdByJobId: job.id, sizeBytes: body.length, verifiedAt: null, contentChanged: null });
    expect(snapshot.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    const stored = await db.pool.query<{ content_gzip: Buffer }>(`select content_gzip from budget_snapshot where id = $1`, [snapshot.id]);
    expect(gunzipSync(stored.rows[0]!.content_gzip).equals(body)).toBe(true);
    expect(snapshot.compressedSizeBytes).toBe(stored.rows[0]!.content_gzip.length);

    const same = await succeeded(client, create.redownload(client, SMALL.id, snapshot.id));
    expect(same.result).toMatchObject({ verified: true, contentChanged: false, sha256: snapshot.sha256, redownloadedSha256: snapshot.sha256 });
    server.mutate(SMALL.id, 3);
    const changed = await succeeded(client, create.redownload(client, SMALL.id, snapshot.id));
    expect(changed.result).toMatchObject({ verified: true, contentChanged: true, sha256: snapshot.sha256 });
    const after = (await client.request(BudgetSnapshots, { budgetId: SMALL.id })).budgetSnapshots.edges[0]!.node;
    expect(after.contentChanged).toBe(true);
    expect(after.sha256).toBe(snapshot.sha256);
    expect(after.redownloadedSha256).not.toBe(snapshot.sha256);
    expect(after.verifiedAt).not.toBeNull();
  });

  it('a snapshot whose stored bytes no longer match its sha256 fails its redownload, saying so', async () => {
    const { budgetSnapshots } = await client.request(BudgetSnapshots, { budgetId: SMALL.id });
    const id = budgetSnapshots.edges[0]!.node.id;
    await db.pool.query(`update budget_snapshot set sha256 = repeat('0', 64) where id = $1`, [id]);
    const job = created((await client.request(CreateSnapshotRedownloadJob, { input: { budgetId: SMALL.id, snapshotId: id } })).createSnapshotRedownloadJob as never);
    const { job: failed } = await finished(client, job.id);
    expect(failed.budgetStatus).toBe('FAILED');
    expect(failed.failureReason).toBe(`snapshot ${id} is damaged: its stored bytes no longer match its sha256`);
  });
});

describe('schedules', () => {
  it('a budget schedule makes scheduled_sync_and_suggest BudgetJobs, whose sync_and_suggest children are marked SCHEDULED', async () => {
    const answer = await client.request(CreateBudgetSchedule, { input: { budgetId: SMALL.id, cron: '* * * * * *', timezone: 'Europe/Berlin' } });
    if (answer.createBudgetSchedule.__typename !== 'MutationCreateBudgetScheduleSuccess') throw new Error(JSON.stringify(answer));
    const scheduleId = answer.createBudgetSchedule.data.id;
    try {
      // Made by the worker's scheduler at a tick: awaited in the database.
      const scheduledJob = await eventually('a job made by the budget schedule', async () => {
        const { budgetJobs } = await client.request(BudgetJobs, { budgetId: SMALL.id, first: 5 });
        return budgetJobs.edges.map((e) => e.node).find((j) => j.budgetJobType === 'SYNC_AND_SUGGEST' && j.budgetMetadata.trigger === 'SCHEDULED');
      });
      expect(scheduledJob).toMatchObject({ budgetJobType: 'SYNC_AND_SUGGEST', parentJob: { jobType: 'budget.scheduled_sync_and_suggest' } });
      // The tick itself is a BudgetJob of seed 004's eighth type, with its budget_job row.
      const ticks = await db.pool.query(
        `select j.kind, b.budget_job_type as type, j.metadata->>'trigger' as trigger from job j join budget_job b on b.job_id = j.id
          where j.job_type = 'budget.scheduled_sync_and_suggest' and b.budget_id = $1 limit 1`,
        [SMALL.id],
      );
      expect(ticks.rows).toEqual([{ kind: 'BUDGET', type: 'scheduled_sync_and_suggest', trigger: 'SCHEDULED' }]);
      const { budgetJobs } = await client.request(BudgetJobs, { budgetId: SMALL.id, first: 100 });
      expect(budgetJobs.edges.some((e) => e.node.budgetJobType === 'SCHEDULED_SYNC_AND_SUGGEST')).toBe(true);
      const done = await succeeded(client, scheduledJob);
      expect(done.steps.edges.map((e) => e.node.status)).toEqual(['COMPLETED', 'COMPLETED']);
    } finally {
      await db.pool.query(`delete from schedule where id = $1`, [scheduleId]);
    }
  });
});

describe('bad input: a typed error naming it, and nothing changes', () => {
  const tables = ['job', 'budget_job', 'graphile_worker.jobs', 'category_suggestion', 'budget_snapshot', 'schedule'];
  async function rowCounts() {
    const counts: Record<string, number> = {};
    for (const table of tables) counts[table] = await count(`select count(*) from ${table}`);
    counts.accepted = await count(`select count(*) from category_suggestion where status = 'ACCEPTED'`);
    return counts;
  }

  it('an unknown budget, payee, snapshot or suggestion, a suggestion of another budget, an option of another type', async () => {
    const bigSuggestion = await (async () => {
      await succeeded(client, create.suggestions(client, BIG.id));
      return (await client.request(BudgetSuggestions, { budgetId: BIG.id, status: 'PENDING', first: 1 })).budgetSuggestions.edges[0]!.node.id;
    })();
    const before = await rowCounts();
    const unknownId = '00000000-0000-4000-8000-000000000000';
    const answers = [
      (await client.request(CreateBudgetSyncJob, { input: { budgetId: 'no-such-budget' } })).createBudgetSyncJob,
      (await client.request(CreateSyncAndSuggestJob, { input: { budgetId: '' } })).createSyncAndSuggestJob,
      (await client.request(CreateSuggestionsRetryPayeeJob, { input: { budgetId: SMALL.id, payeeId: 'no-such-payee' } })).createSuggestionsRetryPayeeJob,
      (await client.request(CreateSnapshotRedownloadJob, { input: { budgetId: SMALL.id, snapshotId: unknownId } })).createSnapshotRedownloadJob,
      (await client.request(CreateSnapshotRedownloadJob, { input: { budgetId: SMALL.id, snapshotId: 'not-a-uuid' } })).createSnapshotRedownloadJob,
      (await client.request(CreateSuggestionsApplyJob, { input: { budgetId: SMALL.id, suggestionIds: [unknownId] } })).createSuggestionsApplyJob,
      (await client.request(CreateSuggestionsApplyJob, { input: { budgetId: SMALL.id, suggestionIds: [bigSuggestion] } })).createSuggestionsApplyJob,
      (await client.request(CreateSuggestionsApplyJob, { input: { budgetId: SMALL.id, suggestionIds: [] } })).createSuggestionsApplyJob,
      (await client.request(AcceptSuggestions, { input: { budgetId: SMALL.id, suggestionIds: [bigSuggestion] } })).acceptSuggestions,
      (await client.request(AcceptSuggestions, { input: { budgetId: SMALL.id, suggestionIds: [unknownId] } })).acceptSuggestions,
      (await client.request(CreateBudgetSchedule, { input: { budgetId: 'no-such-budget', cron: '0 6 * * *' } })).createBudgetSchedule,
      (await client.request(CreateBudgetSchedule, { input: { budgetId: SMALL.id, cron: 'every morning' } })).createBudgetSchedule,
    ];
    expect(answers).toEqual([
      { __typename: 'BudgetNotFoundError', budgetId: 'no-such-budget', message: 'no budget with id no-such-budget at the budget provider' },
      { __typename: 'ValidationError', field: 'budgetId', message: 'budgetId: is required' },
      expect.objectContaining({ __typename: 'PayeeNotFoundError', payeeId: 'no-such-payee', budgetId: SMALL.id }),
      expect.objectContaining({ __typename: 'SnapshotNotFoundError', snapshotId: unknownId, budgetId: SMALL.id }),
      expect.objectContaining({ __typename: 'ValidationError', field: 'snapshotId' }),
      { __typename: 'SuggestionNotFoundError', suggestionId: unknownId, field: 'suggestionIds.0', message: `suggestionIds.0: no category suggestion with id ${unknownId}` },
      expect.objectContaining({ __typename: 'SuggestionOfAnotherBudgetError', suggestionId: bigSuggestion, budgetId: SMALL.id, field: 'suggestionIds.0' }),
      expect.objectContaining({ __typename: 'ValidationError', field: 'suggestionIds' }),
      expect.objectContaining({ __typename: 'SuggestionOfAnotherBudgetError', suggestionId: bigSuggestion, budgetId: SMALL.id }),
      expect.objectContaining({ __typename: 'SuggestionNotFoundError', suggestionId: unknownId }),
      expect.objectContaining({ __typename: 'BudgetNotFoundError', budgetId: 'no-such-budget' }),
      expect.objectContaining({ __typename: 'ValidationError', field: 'cron' }),
    ]);
    expect(await rowCounts()).toEqual(before);
  });
});

it('budgetJobs costs the same queries for 2 jobs as for 10, steps and parents included', async () => {
  const cost = async (first: number) => {
    queries.length = 0;
    const { budgetJobs } = await client.request(BudgetJobs, { budgetId: SMALL.id, first });
    expect(budgetJobs.edges).toHaveLength(first);
    return queries.map((q) => `${q.model}.${q.operation}`);
  };
  expect(await cost(10)).toEqual(await cost(2));
});
