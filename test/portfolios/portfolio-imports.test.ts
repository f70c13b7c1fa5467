// Portfolio imports: one active import per portfolio and interval (also across
// API processes), only the interval's activity, nothing twice, and bad
// statements fail clearly with nothing half-imported.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/pool.ts';
import { createOutboundFetch } from '../../src/net/outbound.ts';
import { createPortfolioImportHandler } from '../../src/portfolios/handler.ts';
import { parseFlexStatement } from '../../src/portfolios/ibkr/flex-statement.ts';
import { fetchFlexStatement } from '../../src/portfolios/ibkr/flex-web-service.ts';
import { PortfolioImportRepository } from '../../src/portfolios/repository.ts';
import { noopHandler } from '../../src/system/handlers.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { startHttpServer } from '../support/http-server.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { PortfolioActivity, PortfolioImportEvents, PortfolioImportExists, PortfolioImportJob, PortfolioImportJobs } from '../support/operations-portfolios.ts';
import { ACCOUNT, createImport, created, flexStatement } from '../support/portfolios.ts';
import { eventually } from '../support/wait.ts';
import { RetryJob } from '../support/operations.ts';

let db: TestDatabase;
let service: TestApp;
let flexServer: { url: string };
let secondApi: TestApp;
const flexCalls: string[] = [];

const INTERVAL = { start: '2026-01-10', end: '2026-01-20' };

/** Plays IBKR's Flex Web Service: a reference code, one "in progress" answer, then the statement. */
function startFlexServer() {
  let polls = 0;
  return startHttpServer((request, response) => {
    const url = new URL(request.url!, 'http://localhost');
    flexCalls.push(`${url.pathname}?${url.searchParams.toString()}`);
    response.setHeader('content-type', 'text/xml');
    if (url.pathname.endsWith('/SendRequest')) {
      if (url.searchParams.get('t') !== 'secret-token' || url.searchParams.get('q') !== '4242') {
        response.end('<FlexStatementResponse><Status>Fail</Status><ErrorCode>1012</ErrorCode><ErrorMessage>Token has expired.</ErrorMessage></FlexStatementResponse>');
        return;
      }
      response.end('<FlexStatementResponse timestamp="x"><Status>Success</Status><ReferenceCode>777</ReferenceCode><Url>ignored</Url></FlexStatementResponse>');
    } else if (url.pathname.endsWith('/GetStatement') && url.searchParams.get('q') === '777') {
      if (polls++ === 0) {
        response.end('<FlexStatementResponse><Status>Warn</Status><ErrorCode>1019</ErrorCode><ErrorMessage>Statement generation in progress. Please try again shortly.</ErrorMessage></FlexStatementResponse>');
      } else {
        response.end(flexStatement());
      }
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
}

beforeAll(async () => {
  db = await createTestDatabase();
  flexServer = await startFlexServer();
  const registry = new HandlerRegistry().register(noopHandler).register(
    createPortfolioImportHandler({
      flex: {
        baseUrl: `${flexServer.url}/AccountManagement/FlexWebService`,
        pollIntervalMs: 20,
        maxPolls: 10,
        // The fake Flex Web Service listens on loopback, which outbound HTTP refuses unless allow-listed.
        fetch: createOutboundFetch({ allowList: ['127.0.0.1'], maxRedirects: 0 }),
      },
      // The one (local) tenant's credentials; test/connections/ has each tenant its own.
      flexCredentials: async () => ({ token: 'secret-token', queryId: '4242' }),
    }),
  );
  // Creates without a statement need the tenant's Flex credentials: here the server's, for the local tenant.
  const env = { PROVIDER_CREDENTIALS: 'server', IBKR_FLEX_TOKEN: 'secret-token', IBKR_FLEX_QUERY_ID: '4242' };
  service = await startTestApp(db.url, { registry, env });
  // A second API process on the same database, without a worker.
  secondApi = await startTestApp(db.url, { registry, env, roles: { api: true, worker: false } });
});

async function finished(globalId: string) {
  return eventually(`import ${globalId} to finish`, async () => {
    const { portfolioImportJob } = await service.client.request(PortfolioImportJob, { id: globalId });
    return portfolioImportJob && ['COMPLETED', 'FAILED', 'DEAD_LETTER'].includes(portfolioImportJob.status) ? portfolioImportJob : undefined;
  });
}

async function activity(portfolioId: string) {
  return service.client.request(PortfolioActivity, { portfolioId, first: 100 });
}

async function rowCounts(portfolioId: string) {
  const { rows } = await db.pool.query(
    `select (select count(*)::int from portfolio_trade where portfolio_id = $1) as trades,
            (select count(*)::int from portfolio_cash_transaction where portfolio_id = $1) as cash,
            (select count(*)::int from portfolio_position where portfolio_id = $1) as positions`,
    [portfolioId],
  );
  return rows[0] as { trades: number; cash: number; positions: number };
}

describe('one active import per portfolio and interval', () => {
  it('two concurrent creates for overlapping intervals on two API processes: exactly one succeeds', async () => {
    for (let round = 0; round < 5; round++) {
      const portfolioId = randomUUID();
      const results = await Promise.all([
        createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: INTERVAL }, flexStatement()),
        createImport(secondApi.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: { start: '2026-01-20', end: '2026-02-05' } }, flexStatement()),
      ]);
      const winners = results.filter((result) => result.__typename === 'MutationCreatePortfolioImportJobSuccess');
      const losers = results.filter((result) => result.__typename === 'PortfolioImportOverlapError');
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(1);
      const winner = created(winners[0]!);
      expect(losers[0]).toMatchObject({ portfolioId, existingJobId: uuidOf(winner.id), existingInterval: winner.interval });
      expect((losers[0] as { message: string }).message).toMatch(/already has an active import \(job [0-9a-f-]{36}\)/);
      const { rows } = await db.pool.query('select count(*)::int as n from portfolio_import_job where portfolio_id = $1', [portfolioId]);
      expect(rows[0].n).toBe(1);
    }
  });

  it('stores the interval with an inclusive end, and answers portfolioImportExists by overlap', async () => {
    const portfolioId = randomUUID();
    const job = created(await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: INTERVAL }, flexStatement()));
    expect(job.interval).toEqual(INTERVAL);
    const { rows } = await db.pool.query('select interval::text from portfolio_import_job where job_id = $1', [uuidOf(job.id)]);
    expect(rows[0].interval).toBe('[2026-01-10,2026-01-21)');
    const exists = async (start: string, end: string) =>
      (await service.client.request(PortfolioImportExists, { portfolioId, interval: { start, end } })).portfolioImportExists;
    expect(await exists('2026-01-20', '2026-01-31')).toBe(true); // shares the last day
    expect(await exists('2026-01-21', '2026-01-31')).toBe(false);
    expect(await exists('2026-01-01', '2026-01-09')).toBe(false);
    // Adjacent intervals do not overlap.
    created(await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: { start: '2026-01-21', end: '2026-01-31' } }, flexStatement()));
  });

  it('after a FAILED import the same interval can be imported again; both outcomes reach portfolioImportEvents', async () => {
    const portfolioId = randomUUID();
    const events = service.client.subscribe(PortfolioImportEvents, { portfolioId });
    // The subscription is live once a failing probe import of this portfolio shows up (graphql-ws does not acknowledge).
    let failed: Awaited<ReturnType<typeof finished>> | undefined;
    for (let attempt = 0; attempt < 5 && !failed; attempt++) {
      const probe = created(await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: INTERVAL }, '<FlexQueryResponse>'));
      const job = await finished(probe.id);
      expect(job.status).toBe('FAILED');
      const seen = await events
        .waitFor('the failed import', (received) => received.some((e) => e.portfolioImportEvents.jobId === uuidOf(probe.id)), 3000)
        .catch(() => null);
      if (seen) failed = job;
    }
    expect(failed).toBeDefined();
    expect(failed!.errorMessage).toMatch(/not well-formed XML/);
    expect(failed!.events.edges.map((e) => e.node.status)).toEqual(['PENDING', 'RUNNING', 'FAILED']);
    const failedEvent = events.received.at(-1)!.portfolioImportEvents;
    expect(failedEvent).toMatchObject({ __typename: 'PortfolioImportJobFailed', portfolioId, error: expect.stringMatching(/not well-formed XML/) });
    // Seed 000's `error: dict`: the structured error beside the message.
    if (failedEvent.__typename !== 'PortfolioImportJobFailed') throw new Error('not a failure');
    expect(failedEvent.errorMessage).toBe(failedEvent.error);
    expect(failedEvent.jobError).toEqual({ name: 'FlexStatementError', message: expect.stringMatching(/not well-formed XML/) });

    const again = created(await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: INTERVAL }, flexStatement()));
    expect((await finished(again.id)).status).toBe('COMPLETED');
    const received = await events.waitFor('the succeeded import', (r) => r.some((e) => e.portfolioImportEvents.__typename === 'PortfolioImportJobSucceeded'));
    expect(received.at(-1)!.portfolioImportEvents).toMatchObject({ jobId: uuidOf(again.id), portfolioId });
    events.close();
  });

  it('retryJob answers JobConflictError for a FAILED import once another import holds its interval', async () => {
    const portfolioId = randomUUID();
    const failed = created(await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: INTERVAL }, 'not xml'));
    expect((await finished(failed.id)).status).toBe('FAILED');
    created(await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: INTERVAL }, flexStatement()));
    const eventsOf = (id: string) => db.pool.query('select count(*)::int as n from job_event where job_id = $1', [uuidOf(id)]);
    const before = await eventsOf(failed.id);
    const retried = await service.client.request(RetryJob, { id: failed.id });
    expect(retried.retryJob).toMatchObject({ __typename: 'JobConflictError', action: 'retry', constraint: 'portfolio_import_job_no_overlap' });
    expect((await finished(failed.id)).status).toBe('FAILED');
    expect((await eventsOf(failed.id)).rows).toEqual(before.rows);
  });

  it('rejects start after end and a malformed date with a ValidationError, creating nothing', async () => {
    const portfolioId = randomUUID();
    const before = await db.pool.query('select count(*)::int as n from job');
    const reversed = await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: { start: '2026-02-01', end: '2026-01-01' } });
    expect(reversed).toMatchObject({ __typename: 'ValidationError', field: 'interval.start', message: expect.stringMatching(/must not be after interval.end/) });
    const badDate = await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: { start: '2026-13-01', end: '2026-12-31' } });
    expect(badDate).toMatchObject({ __typename: 'ValidationError', field: 'interval.start' });
    const badPortfolio = await createImport(service.client, { portfolioId: 'nope', accountId: ACCOUNT, source: 'IBKR', interval: INTERVAL });
    expect(badPortfolio).toMatchObject({ __typename: 'ValidationError', field: 'portfolioId' });
    const after = await db.pool.query('select count(*)::int as n from job');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });
});

describe('importing an IBKR Flex statement', () => {
  it('imports only the activity inside the interval, and nothing twice', async () => {
    const portfolioId = randomUUID();
    const job = created(await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: INTERVAL }, flexStatement()));
    const done = await finished(job.id);
    expect(done).toMatchObject({ status: 'COMPLETED', tradeCount: 1, cashTransactionCount: 1, positionCount: 1 });
    const rows = await activity(portfolioId);
    expect(rows.portfolioTrades.edges.map((e) => e.node)).toEqual([
      { tradeId: 'T-inside', tradeDate: '2026-01-15', symbol: 'MSFT', quantity: '-5', tradePrice: '410.25', currency: 'USD' },
    ]);
    expect(rows.portfolioCashTransactions.edges.map((e) => e.node)).toEqual([
      { transactionId: 'C-inside', date: '2026-01-15', type: 'Dividends', amount: '7.5', currency: 'USD' },
    ]);
    expect(rows.portfolioPositions.edges.map((e) => e.node)).toEqual([{ conid: '265598', reportDate: '2026-01-20', symbol: 'AAPL', quantity: '10' }]);

    // The rest of the month in two more imports of the same statement: each row once.
    for (const interval of [{ start: '2026-01-01', end: '2026-01-09' }, { start: '2026-01-21', end: '2026-01-31' }]) {
      const more = created(await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval }, flexStatement()));
      expect((await finished(more.id)).status).toBe('COMPLETED');
    }
    expect(await rowCounts(portfolioId)).toEqual({ trades: 3, cash: 3, positions: 2 });

    // Storing the same statement's activity again (as a retried job would) adds nothing.
    const everything = parseFlexStatement(flexStatement(), ACCOUNT, { start: '2026-01-01', end: '2026-01-31' });
    const stored = await withTransaction(db.pool, (client) => new PortfolioImportRepository(client).saveActivity(uuidOf(job.id), portfolioId, everything));
    expect(stored).toEqual({ trades: 0, cashTransactions: 0, positions: 0 });
    expect(await rowCounts(portfolioId)).toEqual({ trades: 3, cash: 3, positions: 2 });

    // Pagination over the imported trades.
    const first = await service.client.request(PortfolioActivity, { portfolioId, first: 2 });
    expect(first.portfolioTrades).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    const second = await service.client.request(PortfolioActivity, { portfolioId, first: 2, after: first.portfolioTrades.pageInfo.endCursor });
    expect([...first.portfolioTrades.edges, ...second.portfolioTrades.edges].map((e) => e.node.tradeId)).toEqual(['T-after', 'T-inside', 'T-before']);

    const jobs = await service.client.request(PortfolioImportJobs, { portfolioId, first: 2 });
    expect(jobs.portfolioImportJobs).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    const rest = await service.client.request(PortfolioImportJobs, { portfolioId, first: 2, after: jobs.portfolioImportJobs.pageInfo.endCursor });
    expect(rest.portfolioImportJobs.edges.map((e) => e.node.interval)).toEqual([INTERVAL]);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['malformed XML', '<FlexQueryResponse><FlexStatements><FlexStatement accountId="U1234567"><Trades><Trade tradeID=></Trades>', /not well-formed XML/],
    ['a truncated statement', flexStatement().slice(0, flexStatement().indexOf('<CashTransactions>') + 40), /not well-formed XML/],
    ['a statement for another account', flexStatement('U7654321'), /is for account U7654321, not for account U1234567/],
    ['a row with a bad number', flexStatement().replace('quantity="-5"', 'quantity="five"'), /Trade 2: quantity "five" is not a number/],
    ['XML that is not a Flex statement', '<html><body>hello</body></html>', /not a Flex Query statement/],
  ];
  it.each(bad)('%s fails the job with a clear error and imports nothing', async (_name, statement, error) => {
    const portfolioId = randomUUID();
    const job = created(await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: INTERVAL }, statement));
    const done = await finished(job.id);
    expect(done.status).toBe('FAILED');
    expect(done.errorMessage).toMatch(error);
    expect(await rowCounts(portfolioId)).toEqual({ trades: 0, cash: 0, positions: 0 });
  });

  it("fetches the statement from IBKR's Flex Web Service when none is uploaded, polling until it is ready", async () => {
    const portfolioId = randomUUID();
    flexCalls.length = 0;
    const job = created(await createImport(service.client, { portfolioId, accountId: ACCOUNT, source: 'IBKR', interval: INTERVAL }));
    expect((await finished(job.id)).status).toBe('COMPLETED');
    expect(flexCalls).toEqual([
      '/AccountManagement/FlexWebService/SendRequest?t=secret-token&q=4242&v=3',
      '/AccountManagement/FlexWebService/GetStatement?t=secret-token&q=777&v=3',
      '/AccountManagement/FlexWebService/GetStatement?t=secret-token&q=777&v=3',
    ]);
    expect(await rowCounts(portfolioId)).toEqual({ trades: 1, cash: 1, positions: 1 });
  });

  it('reports a refused Flex request with IBKR\'s code and message (a retriable failure of the attempt)', async () => {
    const baseUrl = `${flexServer.url}/AccountManagement/FlexWebService`;
    const options = { baseUrl, token: 'an-old-token', queryId: '4242', pollIntervalMs: 10, maxPolls: 3, fetch: createOutboundFetch({ allowList: ['127.0.0.1'], maxRedirects: 0 }) };
    await expect(fetchFlexStatement(options, new AbortController().signal)).rejects.toThrow(/refused the request: 1012 Token has expired/);
  });
});
