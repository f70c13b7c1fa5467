// CollectionJob end to end: a real worker collects candles over HTTP from a
// local server (some symbols failing for good, some only twice), a jobUpdated
// subscriber watches the counters, and bad requests change nothing.
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../support/http-server.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import {
  Candles,
  CandlesByOldArgumentNames,
  CollectionJobUpdated,
  CollectionStatsByOldNames,
  CreateCollectionJob,
  DeleteCollectionJob,
  GetCollectionJob,
  ListCollectionJobs,
} from '../support/operations-collections.ts';
import { CancelJob, RetryJob } from '../support/operations.ts';
import type { CreateCollectionJobInput } from '../generated/graphql.ts';

const SYMBOLS = Array.from({ length: 50 }, (_, i) => `S${String(i).padStart(2, '0')}`);
const ALWAYS_FAIL = new Set(SYMBOLS.slice(0, 3));
const FAIL_TWICE = new Set(SYMBOLS.slice(3, 8));
/** Serves one malformed row among its candles. */
const WITH_BAD_ROW = 'S10';
const CANDLES_PER_SYMBOL = 20;

function csvFor(symbol: string): string {
  const lines = ['Date,Open,High,Low,Close,Volume'];
  for (let day = 0; day < CANDLES_PER_SYMBOL; day++) {
    const date = new Date(Date.UTC(2025, 0, 1 + day)).toISOString().slice(0, 10);
    lines.push(`${date},10,12,9,11,${1000 + day}`);
    if (symbol === WITH_BAD_ROW && day === 5) lines.push(`2025-02-30,10,12,9,11,x`);
  }
  return `${lines.join('\n')}\n`;
}

let db: TestDatabase;
let service: TestApp;
let openGate!: () => void;
const gate = new Promise<void>((resolve) => (openGate = resolve));
const requests = new Map<string, number>();
/** Symbols starting with H are answered only once the cancel test lets them through. */
let letHSymbolsThrough!: () => void;
const hSymbolsThrough = new Promise<void>((resolve) => (letHSymbolsThrough = resolve));

beforeAll(async () => {
  const candleServer = await startHttpServer(async (request, response) => {
    const symbol = new URL(request.url!, 'http://x').searchParams.get('s')!;
    const count = (requests.get(symbol) ?? 0) + 1;
    requests.set(symbol, count);
    await gate; // until the test's subscriber is live
    if (symbol.startsWith('H')) await hSymbolsThrough;
    if (ALWAYS_FAIL.has(symbol)) return void response.writeHead(500).end('boom');
    if (FAIL_TWICE.has(symbol) && count <= 2) return void response.writeHead(count === 1 ? 503 : 429).end('busy');
    if (symbol === 'NOPE') return void response.writeHead(404).end('no such symbol');
    response.writeHead(200, { 'content-type': 'text/csv' }).end(csvFor(symbol));
  });
  db = await createTestDatabase();
  service = await startTestApp(db.url, {
    env: {
      OUTBOUND_ALLOW_LIST: '127.0.0.1',
      COLLECTION_HTTP_URL_TEMPLATE: `${candleServer.url}/q/d/l/?s={symbol}&i=d`,
      COLLECTION_HTTP_RETRIES: '2',
      COLLECTION_HTTP_RETRY_BASE_DELAY_MS: '1',
      COLLECTION_HTTP_CONCURRENCY: '4',
      COLLECTION_MAX_RANGE_DAYS: '400',
    },
  });
});

async function create(input: CreateCollectionJobInput) {
  return (await service.client.request(CreateCollectionJob, { input })).createCollectionJob;
}

const request2025: CreateCollectionJobInput = {
  symbols: SYMBOLS,
  timeframe: '1d',
  rangeFrom: '2025-01-01T00:00:00Z',
  rangeTo: '2025-12-31T00:00:00Z',
  provider: 'http-csv',
};

describe('collecting 50 symbols over http-csv', () => {
  it('stores 47, records the 3 that always fail, completes, and a subscriber sees the counters rise', async () => {
    const created = await create(request2025);
    if (created.__typename !== 'MutationCreateCollectionJobSuccess') throw new Error(JSON.stringify(created));
    const id = created.data.id;
    expect(created.data.stats).toEqual({ symbolCount: 50, completedSymbolCount: 0, failedSymbolCount: 0, candleCount: 0, newCandleCount: 0 });

    const updates = service.client.subscribe(CollectionJobUpdated, { id });
    await updates.waitFor('the current state', (received) => received.length > 0);
    openGate();
    const received = await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));
    updates.close();

    const stored = 47 * CANDLES_PER_SYMBOL;
    const counters = received.map((u) => (u.jobUpdated.__typename === 'CollectionJob' ? u.jobUpdated.stats : null)!);
    expect(counters.at(-1)).toEqual({ symbolCount: 50, completedSymbolCount: 47, failedSymbolCount: 3, candleCount: stored, newCandleCount: stored });
    expect(counters[0]!.completedSymbolCount).toBe(0);
    // Live: the counts only ever rise, through values in between.
    for (let i = 1; i < counters.length; i++) {
      expect(counters[i]!.completedSymbolCount).toBeGreaterThanOrEqual(counters[i - 1]!.completedSymbolCount);
      expect(counters[i]!.failedSymbolCount).toBeGreaterThanOrEqual(counters[i - 1]!.failedSymbolCount);
      expect(counters[i]!.candleCount).toBeGreaterThanOrEqual(counters[i - 1]!.candleCount);
    }
    expect(new Set(counters.map((c) => c.completedSymbolCount)).size).toBeGreaterThan(2);

    const job = (await service.client.request(GetCollectionJob, { id })).collectionJob!;
    expect(job.status).toBe('COMPLETED');
    expect(job.stats).toEqual({ symbolCount: 50, completedSymbolCount: 47, failedSymbolCount: 3, candleCount: stored, newCandleCount: stored });
    expect(job.failedSymbols.map((f) => f.symbol).sort()).toEqual([...ALWAYS_FAIL]);
    for (const failed of job.failedSymbols) expect(failed.error).toMatch(/HTTP 500 \(after 3 attempts\)/);
    expect(job.result).toMatchObject({
      completedSymbolCount: 47,
      failedSymbolCount: 3,
      rejectedRows: { [WITH_BAD_ROW]: { count: 1, rows: [{ line: 8, reason: expect.stringMatching(/Date "2025-02-30"/) }] } },
    });

    // Each failing-twice symbol was asked three times; the others once (always-failing: 3 attempts).
    for (const symbol of FAIL_TWICE) expect(requests.get(symbol)).toBe(3);
    for (const symbol of ALWAYS_FAIL) expect(requests.get(symbol)).toBe(3);

    const { rows } = await db.pool.query<{ symbols: number; candles: number }>(
      `select count(distinct symbol)::int as symbols, count(*)::int as candles from candle`,
    );
    expect(rows[0]).toEqual({ symbols: 47, candles: stored });
    const bad = await service.client.request(Candles, { symbol: WITH_BAD_ROW, timeframe: '1d', first: 100 });
    expect(bad.candles.edges).toHaveLength(CANDLES_PER_SYMBOL);
  });

  it('candles pages through a symbol oldest first within rangeFrom..rangeTo', async () => {
    const page = await service.client.request(Candles, {
      symbol: 'S20', timeframe: '1d', rangeFrom: '2025-01-05T00:00:00Z', rangeTo: '2025-01-14T00:00:00Z', first: 4,
    });
    expect(page.candles.edges.map((e) => e.node.ts)).toEqual([
      '2025-01-05T00:00:00.000Z', '2025-01-06T00:00:00.000Z', '2025-01-07T00:00:00.000Z', '2025-01-08T00:00:00.000Z',
    ]);
    expect(page.candles.edges[0]!.node).toMatchObject({ open: 10, high: 12, low: 9, close: 11, volume: 1004 });
    const next = await service.client.request(Candles, {
      symbol: 'S20', timeframe: '1d', rangeFrom: '2025-01-05T00:00:00Z', rangeTo: '2025-01-14T00:00:00Z', first: 100, after: page.candles.pageInfo.endCursor,
    });
    expect(next.candles.edges).toHaveLength(6);
  });

  it('candles still takes from and to (deprecated names of rangeFrom and rangeTo), and refuses an old name beside its new one', async () => {
    const range = { symbol: 'S20', timeframe: '1d' };
    const byNew = await service.client.request(CandlesByOldArgumentNames, { ...range, rangeFrom: '2025-01-05T00:00:00Z', rangeTo: '2025-01-14T00:00:00Z' });
    const byOld = await service.client.request(CandlesByOldArgumentNames, { ...range, from: '2025-01-05T00:00:00Z', to: '2025-01-14T00:00:00Z' });
    expect(byNew.candles.edges).toHaveLength(10);
    expect(byOld).toEqual(byNew);

    for (const [args, field] of [
      [{ from: '2025-01-05T00:00:00Z', rangeFrom: '2025-01-05T00:00:00Z' }, 'from'],
      [{ to: '2025-01-14T00:00:00Z', rangeTo: '2025-01-14T00:00:00Z' }, 'to'],
    ] as const) {
      const answer = await service.client.send(CandlesByOldArgumentNames, { ...range, ...args });
      expect(answer.body.data).toBeNull();
      expect(answer.body.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(new RegExp(`^${field}: is the old name of range`)), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field }) }),
      ]);
    }
  });

  it('a job whose every symbol fails ends FAILED with the reasons', async () => {
    const created = await create({ ...request2025, symbols: ['NOPE', 'S01'] });
    if (created.__typename !== 'MutationCreateCollectionJobSuccess') throw new Error(JSON.stringify(created));
    const updates = service.client.subscribe(CollectionJobUpdated, { id: created.data.id });
    await updates.waitFor('FAILED', (r) => r.some((u) => u.jobUpdated.status === 'FAILED'));
    updates.close();
    const job = (await service.client.request(GetCollectionJob, { id: created.data.id })).collectionJob!;
    expect(job.errorMessage).toMatch(/no symbol was collected \(2 failed/);
    expect(job.failedSymbols.map((f) => f.symbol).sort()).toEqual(['NOPE', 'S01']);
    expect(job.failedSymbols.find((f) => f.symbol === 'NOPE')!.error).toMatch(/HTTP 404/);
    expect(job.stats).toEqual({ symbolCount: 2, completedSymbolCount: 0, failedSymbolCount: 2, candleCount: 0, newCandleCount: 0 });
  });

  it("CollectionStats' deprecated names (seed 002's total, completed, failed, totalCandles) answer what their new names do", async () => {
    const done = await service.client.request(ListCollectionJobs, { status: 'COMPLETED', first: 1 });
    const id = done.collectionJobs.edges[0]!.node.id;
    const { stats } = (await service.client.request(CollectionStatsByOldNames, { id })).collectionJob!;
    expect(stats.candleCount).toBeGreaterThan(0);
    expect(stats.failedSymbolCount).toBeGreaterThan(0);
    expect({ total: stats.total, completed: stats.completed, failed: stats.failed, totalCandles: stats.totalCandles }).toEqual({
      total: stats.symbolCount,
      completed: stats.completedSymbolCount,
      failed: stats.failedSymbolCount,
      totalCandles: stats.candleCount,
    });
  });

  it('lists collection jobs by status and deletes finished ones only', async () => {
    const list = await service.client.request(ListCollectionJobs, { status: 'FAILED', first: 10 });
    expect(list.collectionJobs.edges).toHaveLength(1);
    expect(list.runningCollectionJobs).toEqual([]);
    const id = list.collectionJobs.edges[0]!.node.id;
    const deleted = await service.client.request(DeleteCollectionJob, { id });
    expect(deleted.deleteCollectionJob.__typename).toBe('MutationDeleteCollectionJobSuccess');
    expect((await service.client.request(GetCollectionJob, { id })).collectionJob).toBeNull();
    const again = await service.client.request(DeleteCollectionJob, { id });
    expect(again.deleteCollectionJob.__typename).toBe('JobNotFoundError');
  });
});

describe('bad requests get a ValidationError naming the field and store nothing', () => {
  const cases: Array<[string, Partial<CreateCollectionJobInput>, string, RegExp]> = [
    ['an empty symbol list', { symbols: [] }, 'symbols', /at least one symbol/],
    ['a malformed symbol', { symbols: ['AAPL', '../etc/passwd'] }, 'symbols.1', /not a symbol/],
    ['a repeated symbol', { symbols: ['AAPL', 'AAPL'] }, 'symbols.1', /appears twice/],
    ['an unknown provider', { provider: 'ftp' }, 'provider', /unknown provider "ftp"; known: csv-dir, http-csv/],
    ['an unknown timeframe', { timeframe: '2d' }, 'timeframe', /unknown timeframe "2d"/],
    ['rangeFrom after rangeTo', { rangeFrom: '2025-02-01T00:00:00Z', rangeTo: '2025-01-01T00:00:00Z' }, 'rangeFrom', /must not be after rangeTo/],
    ['a range beyond the maximum', { rangeFrom: '2020-01-01T00:00:00Z' }, 'rangeTo', /at most 400 days/],
  ];
  it.each(cases)('%s', async (_name, change, field, message) => {
    const before = await db.pool.query('select count(*)::int as n from job');
    const result = await create({ ...request2025, symbols: ['AAPL'], ...change });
    expect(result).toMatchObject({ __typename: 'ValidationError', field, message: expect.stringMatching(message) });
    const after = await db.pool.query('select count(*)::int as n from job');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });
});

describe('cancel and retry', () => {
  it('cancel stops between symbols and keeps what was stored; retry collects only the unfinished symbols', async () => {
    const symbols = ['C0', 'C1', 'H2', 'H3', 'H4', 'H5', 'H6', 'H7'];
    const created = await create({ ...request2025, symbols });
    if (created.__typename !== 'MutationCreateCollectionJobSuccess') throw new Error(JSON.stringify(created));
    const id = created.data.id;
    const updates = service.client.subscribe(CollectionJobUpdated, { id });
    const stats = (u: (typeof updates.received)[number]) => (u.jobUpdated.__typename === 'CollectionJob' ? u.jobUpdated.stats : null);
    await updates.waitFor('C0 and C1 stored', (r) => r.some((u) => stats(u)?.completedSymbolCount === 2));

    const cancelled = await service.client.request(CancelJob, { id });
    expect(cancelled.cancelJob.__typename).toBe('MutationCancelJobSuccess');
    await updates.waitFor('CANCELLED', (r) => r.some((u) => u.jobUpdated.status === 'CANCELLED'));
    const stored = await db.pool.query(`select symbol, count(*)::int as n from candle where symbol = any($1) group by symbol order by symbol`, [symbols]);
    expect(stored.rows).toEqual([{ symbol: 'C0', n: CANDLES_PER_SYMBOL }, { symbol: 'C1', n: CANDLES_PER_SYMBOL }]);
    // Lanes stop after their current symbol: H6 and H7 were never asked for.
    expect(requests.get('H6')).toBeUndefined();
    expect(requests.get('H7')).toBeUndefined();

    letHSymbolsThrough();
    const retried = await service.client.request(RetryJob, { id });
    expect(retried.retryJob.__typename).toBe('MutationRetryJobSuccess');
    await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));
    updates.close();
    const job = (await service.client.request(GetCollectionJob, { id })).collectionJob!;
    expect(job.stats).toEqual({ symbolCount: 8, completedSymbolCount: 8, failedSymbolCount: 0, candleCount: 8 * CANDLES_PER_SYMBOL, newCandleCount: 8 * CANDLES_PER_SYMBOL });
    expect(requests.get('C0')).toBe(1);
    expect(requests.get('C1')).toBe(1);
    expect(requests.get('H6')).toBe(1);
    expect(requests.get('H7')).toBe(1);
  });
});

describe('csv-dir with the sample data', () => {
  it('collects the shipped files; collecting the same range again changes nothing', async () => {
    const input = { symbols: ['AAPL', 'MSFT', 'SPY', 'MISSING'], timeframe: '1d', rangeFrom: '2024-01-01T00:00:00Z', rangeTo: '2024-02-29T00:00:00Z', provider: 'csv-dir' };
    const runOnce = async () => {
      const created = await create(input);
      if (created.__typename !== 'MutationCreateCollectionJobSuccess') throw new Error(JSON.stringify(created));
      const updates = service.client.subscribe(CollectionJobUpdated, { id: created.data.id });
      await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'));
      updates.close();
      return (await service.client.request(GetCollectionJob, { id: created.data.id })).collectionJob!;
    };
    const count = async () =>
      (await db.pool.query(`select count(*)::int as n, sum(close)::float8 as closes from candle where symbol in ('AAPL', 'MSFT', 'SPY')`)).rows[0];
    const first = await runOnce();
    expect(first.stats).toMatchObject({ symbolCount: 4, completedSymbolCount: 3, failedSymbolCount: 1 });
    expect(first.failedSymbols).toEqual([{ symbol: 'MISSING', error: expect.stringMatching(/no file MISSING\.csv/), failedAt: expect.any(String) }]);
    const afterFirst = await count();
    expect(afterFirst.n).toBe(first.stats.candleCount);
    expect(first.stats.newCandleCount).toBe(afterFirst.n);
    expect(afterFirst.n).toBeGreaterThan(100);

    // Fetched again, all of it; new, none of it.
    const second = await runOnce();
    expect(second.stats).toEqual({ ...first.stats, newCandleCount: 0 });
    expect(await count()).toEqual(afterFirst);
  });
});
