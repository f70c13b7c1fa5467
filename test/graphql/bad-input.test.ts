// Every client mistake, across every mutation (and the list queries), is a
// clear answer: a typed error, or a GraphQL error whose code says what kind of
// mistake and whose message names the place. Nothing is stored, nothing is
// logged at error level, and each GraphQL error is logged once below it. A real
// fault is "Unexpected error." with a correlation id, logged once at error level.
import { Writable } from 'node:stream';
import { createClient } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type App } from '../../src/app.ts';
import { loadConfig } from '../../src/service-config.ts';
import { createRegistry } from '../../src/handlers.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { TEST_ENV } from '../support/app.ts';

let db: TestDatabase;
let app: App;
let url: string;
let pendingJobId: string;
/** Every log line of the API process, parsed. */
const logs: Array<Record<string, unknown> & { level: number; msg: string }> = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: db.url });
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
        done();
      },
    }),
  );
  // A job type whose payload check throws: a fault of ours, not the client's.
  const registry = createRegistry({ pool: db.pool, config }).register({
    jobType: 'test.broken',
    description: 'its payload check crashes',
    payload: z.object({}).superRefine(() => {
      throw new Error('payload check crashed');
    }),
    handle: async () => ({ success: true }),
  });
  // No worker: nothing moves while we compare before and after.
  app = await startApp(config, logger, { api: true, worker: false }, { registry });
  url = app.api!.url;
  // A job that stays PENDING (no worker), for the retry of a job that has not ended.
  const created = await post(graphql(`mutation { createJob(input: { jobType: "system.noop" }) { ... on MutationCreateJobSuccess { data { id } } } }`));
  pendingJobId = created.body.data!.createJob.data.id;
});
afterAll(async () => {
  await app?.stop();
  await db?.drop();
});

/** Rows of every table, ours and graphile-worker's. */
async function rowCounts(): Promise<Record<string, number>> {
  const { rows: tables } = await db.pool.query<{ name: string }>(
    `select format('%I.%I', table_schema, table_name) as name from information_schema.tables
      where table_type = 'BASE TABLE' and table_schema in ('public', 'graphile_worker') order by 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    counts[name] = Number((await db.pool.query(`select count(*) as n from ${name}`)).rows[0].n);
  }
  return counts;
}

type Answer = { status: number; body: { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, any> }> } };

async function post(body: string | FormData): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    // A multipart post is a "simple" request: CSRF prevention wants its header.
    headers: typeof body === 'string' ? { 'content-type': 'application/json' } : { 'x-graphql-yoga-csrf': '1' },
    body,
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const graphql = (query: string, variables?: Record<string, unknown>) => JSON.stringify({ query, variables });

/** A multipart request with one file mapped to `variablePath`. */
function upload(query: string, variables: Record<string, unknown>, variablePath: string, file: { name: string; content: string }) {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query, variables }));
  form.set('map', JSON.stringify({ 0: [`variables.${variablePath}`] }));
  form.set('0', new Blob([file.content]), file.name);
  return form;
}

const nested = (levels: number, leaf = '1') => `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`;
const nestedLiteral = (levels: number) => `${'{a:'.repeat(levels)}1${'}'.repeat(levels)}`;
const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000';

const RESULT = `__typename ... on Error { message } ... on ValidationError { field }`;
const BY_ID_RESULT = `${RESULT} ... on JobNotFoundError { jobId }`;
const CREATE_JOB = `mutation ($input: CreateJobInput!) { createJob(input: $input) { ${RESULT} } }`;
const CREATE_JOBS = `mutation ($jobs: [CreateJobInput!]!) { createJobs(jobs: $jobs) { ${RESULT} } }`;
const CANCEL_JOB = `mutation ($id: ID!) { cancelJob(id: $id) { ${BY_ID_RESULT} } }`;
const RETRY_JOB = `mutation ($id: ID!) { retryJob(id: $id) { ${BY_ID_RESULT} } }`;
const CREATE_COLLECTION = `mutation ($input: CreateCollectionJobInput!) { createCollectionJob(input: $input) { ${RESULT} } }`;
const DELETE_COLLECTION = `mutation ($id: ID!) { deleteCollectionJob(id: $id) { ${BY_ID_RESULT} } }`;
const CREATE_IMPORT = `mutation ($input: CreateImportJobInput!) { createImportJob(input: $input) { ${RESULT} } }`;
const CREATE_PORTFOLIO_IMPORT = `mutation ($input: CreatePortfolioImportJobInput!) { createPortfolioImportJob(input: $input) { ${RESULT} } }`;

const job = { jobType: 'system.noop' };
const collection = { symbols: ['AAPL'], timeframe: '1d', rangeFrom: '2024-01-01T00:00:00Z', rangeTo: '2024-01-31T00:00:00Z', provider: 'csv-dir' };
const portfolioImport = { portfolioId: '5a0c6f5e-2f4b-4c1e-9a57-3f1d2c0b8e11', accountId: 'U1234567', interval: { start: '2024-01-01', end: '2024-01-31' }, source: 'IBKR' };
const csv = { name: 'pairs.csv', content: 'question,answer\nWhat is 2+2?,4\n' };

/** A GraphQL error: its code, and what its message must say. */
type ErrorExpectation = { code: string; message: RegExp };
/** A typed result: its __typename, and the field it names (ValidationError). */
type TypedExpectation = { typename: string; field?: string; message: RegExp };

const cases: Array<[name: string, request: () => string | FormData, expected: ErrorExpectation | TypedExpectation, mutation?: string]> = [
  // createJob: variables graphql-js cannot coerce
  ['createJob: an Int of 1e12', () => graphql(CREATE_JOB, { input: { ...job, priority: 1e12 } }), { code: 'BAD_USER_INPUT', message: /input\.priority.*32-bit/ }],
  ['createJob: an unknown input field', () => graphql(CREATE_JOB, { input: { ...job, colour: 'red' } }), { code: 'BAD_USER_INPUT', message: /Field "colour" is not defined by type "CreateJobInput"/ }],
  ['createJob: a required field missing', () => graphql(CREATE_JOB, { input: { payload: {} } }), { code: 'BAD_USER_INPUT', message: /Field "jobType" of required type "String!" was not provided/ }],
  ['createJob: a string for an Int', () => graphql(CREATE_JOB, { input: { ...job, maxRetries: 'three' } }), { code: 'BAD_USER_INPUT', message: /input\.maxRetries.*Int cannot represent/ }],
  ['createJob: the variable not given', () => graphql(CREATE_JOB, {}), { code: 'BAD_USER_INPUT', message: /Variable "\$input" of required type "CreateJobInput!" was not provided/ }],
  // createJob: text Postgres cannot store, and nesting past the bound
  ['createJob: a NUL in a payload string', () => graphql(CREATE_JOB, { input: { ...job, payload: { note: 'a\u0000b' } } }), { code: 'BAD_USER_INPUT', message: /^\$input\.payload\.note: contains a NUL character/ }],
  ['createJob: a lone surrogate in a payload string', () => graphql(CREATE_JOB, { input: { ...job, payload: { note: 'a\ud800b' } } }), { code: 'BAD_USER_INPUT', message: /^\$input\.payload\.note: contains a lone UTF-16 surrogate/ }],
  ['createJob: a NUL in a payload key', () => graphql(CREATE_JOB, { input: { ...job, payload: { 'a\u0000': 1 } } }), { code: 'BAD_USER_INPUT', message: /^\$input\.payload \(a key\): contains a NUL character/ }],
  ['createJob: a lone surrogate in metadata in a list', () => graphql(CREATE_JOB, { input: { ...job, metadata: { tags: ['ok', '\udc00'] } } }), { code: 'BAD_USER_INPUT', message: /^\$input\.metadata\.tags\.1: contains a lone UTF-16 surrogate/ }],
  ['createJob: a NUL in jobType', () => graphql(CREATE_JOB, { input: { jobType: 'system.noop\u0000' } }), { code: 'BAD_USER_INPUT', message: /^\$input\.jobType: contains a NUL character/ }],
  [
    'createJob: a payload nested 10,000 levels (variable)',
    () => `{"query":${JSON.stringify(CREATE_JOB)},"variables":{"input":{"jobType":"system.noop","payload":${nested(10_000)}}}}`,
    { code: 'BAD_USER_INPUT', message: /^\$input\.payload\.a\.a.*: is nested more than 100 levels deep \(INPUT_MAX_DEPTH\)/ },
  ],
  [
    'createJob: a payload nested 10,000 levels (literal)',
    () => graphql(`mutation { createJob(input: { jobType: "system.noop", payload: ${nestedLiteral(10_000)} }) { __typename } }`),
    { code: 'GRAPHQL_PARSE_FAILED', message: /createJob\.input\.payload\.a.* nests more than 200 levels/ },
  ],
  [
    'createJob: a payload literal nested past INPUT_MAX_DEPTH',
    () => graphql(`mutation { createJob(input: { jobType: "system.noop", payload: ${nestedLiteral(150)} }) { __typename } }`),
    { code: 'BAD_USER_INPUT', message: /^createJob\.input\.payload\.a.*: is nested more than 100 levels deep/ },
  ],
  ['createJob: a NUL in a literal', () => graphql('mutation { createJob(input: { jobType: "system.noop", payload: { note: "\\u0000" } }) { __typename } }'), { code: 'BAD_USER_INPUT', message: /^createJob\.input\.payload\.note: contains a NUL/ }],
  ['createJob: a lone surrogate escape in a literal', () => graphql('mutation { createJob(input: { jobType: "system.noop", payload: { note: "\\ud800" } }) { __typename } }'), { code: 'GRAPHQL_PARSE_FAILED', message: /Invalid Unicode escape sequence/ }],
  // createJob: what the schema accepts but the job model does not (typed answers)
  ['createJob: an unknown job type', () => graphql(CREATE_JOB, { input: { jobType: 'email.send' } }), { typename: 'UnknownJobTypeError', message: /^jobType: unknown job type "email.send"/ }],
  ['createJob: a payload that is a list', () => graphql(CREATE_JOB, { input: { ...job, payload: [1] } }), { typename: 'ValidationError', field: 'payload', message: /must be a JSON object/ }],
  ['createJob: a payload over JOB_PAYLOAD_MAX_BYTES', () => graphql(CREATE_JOB, { input: { ...job, payload: { blob: 'x'.repeat(300_000) } } }), { typename: 'ValidationError', field: 'payload', message: /at most 262144 bytes/ }],
  ['createJob: scheduledAt not a date', () => graphql(CREATE_JOB, { input: { ...job, scheduledAt: 'next tuesday' } }), { code: 'BAD_USER_INPUT', message: /input\.scheduledAt.*DateTime cannot represent/ }],
  ['createJob: a parent that is not a job id', () => graphql(CREATE_JOB, { input: { ...job, parentJobId: 'zzz' } }), { typename: 'ValidationError', field: 'parentJobId', message: /not a job id/ }],
  ['createJob: a priority out of range', () => graphql(CREATE_JOB, { input: { ...job, priority: 5000 } }), { typename: 'ValidationError', field: 'priority', message: /at most 1000/ }],
  // documents clients get wrong
  ['a syntax error', () => graphql('mutation { createJob(input: { jobType: "system.noop" }) { __typename }'), { code: 'GRAPHQL_PARSE_FAILED', message: /Syntax Error/ }],
  ['an unknown field', () => graphql('mutation { createJob(input: { jobType: "system.noop" }) { nope } }'), { code: 'GRAPHQL_VALIDATION_FAILED', message: /Cannot query field "nope"/ }],
  ['an unknown argument', () => graphql('mutation { cancelJob(id: "x", force: true) { __typename } }'), { code: 'GRAPHQL_VALIDATION_FAILED', message: /Unknown argument "force" on field "Mutation.cancelJob"/ }],
  ['an enum literal that does not exist', () => graphql('{ jobs(filter: { statuses: [DONE] }) { edges { cursor } } }'), { code: 'GRAPHQL_VALIDATION_FAILED', message: /Value "DONE" does not exist in "JobStatus" enum/ }],
  // createJobs
  ['createJobs: a null element in the list', () => graphql(CREATE_JOBS, { jobs: [job, null] }), { code: 'BAD_USER_INPUT', message: /got invalid value null at "jobs\[1\]"/ }],
  ['createJobs: a NUL in the second queueName', () => graphql(CREATE_JOBS, { jobs: [job, { ...job, queueName: 'q\u0000' }] }), { code: 'BAD_USER_INPUT', message: /^\$jobs\.1\.queueName: contains a NUL/ }],
  ['createJobs: a bad third entry (all-or-nothing)', () => graphql(CREATE_JOBS, { jobs: [job, job, { jobType: 'webhook.send', payload: { url: 42 } }] }), { typename: 'ValidationError', field: 'jobs.2.payload.url', message: /jobs\.2\.payload\.url/ }],
  ['createJobs: more than CREATE_JOBS_MAX', () => graphql(CREATE_JOBS, { jobs: Array.from({ length: 1001 }, () => job) }), { typename: 'ValidationError', field: 'jobs', message: /1000/ }],
  // cancelJob / retryJob
  ['cancelJob: not a job id', () => graphql(CANCEL_JOB, { id: 'zzz' }), { typename: 'ValidationError', field: 'id', message: /"zzz" is not a job id/ }],
  ['cancelJob: an unknown job', () => graphql(CANCEL_JOB, { id: UNKNOWN_UUID }), { typename: 'JobNotFoundError', message: /no job with id/ }],
  ['cancelJob: an id that is an object', () => graphql(CANCEL_JOB, { id: { uuid: UNKNOWN_UUID } }), { code: 'BAD_USER_INPUT', message: /\$id.*ID cannot represent/ }],
  ['cancelJob: a NUL in the id', () => graphql(CANCEL_JOB, { id: `${UNKNOWN_UUID}\u0000` }), { code: 'BAD_USER_INPUT', message: /^\$id: contains a NUL/ }],
  ['retryJob: the global id of another type', () => graphql(RETRY_JOB, { id: Buffer.from(`Candle:${UNKNOWN_UUID}`).toString('base64') }), { typename: 'ValidationError', field: 'id', message: /not a job id/ }],
  ['retryJob: an unknown job', () => graphql(RETRY_JOB, { id: UNKNOWN_UUID }), { typename: 'JobNotFoundError', message: /no job with id/ }],
  ['retryJob: a null id', () => graphql(RETRY_JOB, { id: null }), { code: 'BAD_USER_INPUT', message: /Variable "\$id" of non-null type "ID!" must not be null/ }],
  ['retryJob: a job still PENDING', () => graphql(RETRY_JOB, { id: pendingJobId }), { typename: 'JobStillActiveError', message: /cannot retry job .*: it is still PENDING \(not ended yet\); only FAILED, DEAD_LETTER, CANCELLED jobs can be retried/ }],
  // createCollectionJob / deleteCollectionJob
  ['createCollectionJob: no symbols', () => graphql(CREATE_COLLECTION, { input: { ...collection, symbols: [] } }), { typename: 'ValidationError', field: 'symbols', message: /symbols/ }],
  ['createCollectionJob: a null symbol', () => graphql(CREATE_COLLECTION, { input: { ...collection, symbols: ['AAPL', null] } }), { code: 'BAD_USER_INPUT', message: /input\.symbols\[1\]/ }],
  ['createCollectionJob: an unparseable DateTime', () => graphql(CREATE_COLLECTION, { input: { ...collection, rangeFrom: 'yesterday' } }), { code: 'BAD_USER_INPUT', message: /input\.rangeFrom.*DateTime cannot represent/ }],
  ['createCollectionJob: an unknown timeframe', () => graphql(CREATE_COLLECTION, { input: { ...collection, timeframe: '2d' } }), { typename: 'ValidationError', field: 'timeframe', message: /timeframe/ }],
  ['createCollectionJob: an unknown provider', () => graphql(CREATE_COLLECTION, { input: { ...collection, provider: 'ftp' } }), { typename: 'ValidationError', field: 'provider', message: /provider/ }],
  ['createCollectionJob: rangeFrom after rangeTo', () => graphql(CREATE_COLLECTION, { input: { ...collection, rangeFrom: '2024-02-01T00:00:00Z' } }), { typename: 'ValidationError', field: 'rangeFrom', message: /must not be after rangeTo/ }],
  ['createCollectionJob: a lone surrogate in a symbol', () => graphql(CREATE_COLLECTION, { input: { ...collection, symbols: ['\ud83d'] } }), { code: 'BAD_USER_INPUT', message: /^\$input\.symbols\.0: contains a lone UTF-16 surrogate/ }],
  ['deleteCollectionJob: not a job id', () => graphql(DELETE_COLLECTION, { id: 'zzz' }), { typename: 'ValidationError', field: 'id', message: /not a job id/ }],
  ['deleteCollectionJob: an unknown job', () => graphql(DELETE_COLLECTION, { id: UNKNOWN_UUID }), { typename: 'JobNotFoundError', message: /no job with id/ }],
  // createImportJob
  ['createImportJob: an empty file', () => upload(CREATE_IMPORT, { input: { file: null } }, 'input.file', { name: 'empty.csv', content: '' }), { typename: 'ValidationError', field: 'file', message: /empty/ }],
  ['createImportJob: an unknown sourceType', () => upload(CREATE_IMPORT, { input: { file: null, sourceType: 'XML' } }, 'input.file', csv), { code: 'BAD_USER_INPUT', message: /Value "XML" does not exist in "ImportSourceType" enum/ }],
  ['createImportJob: no file sent', () => graphql(CREATE_IMPORT, { input: { file: null } }), { code: 'BAD_USER_INPUT', message: /input\.file/ }],
  ['createImportJob: a file as a string', () => graphql(CREATE_IMPORT, { input: { file: 'pairs.csv' } }), { code: 'BAD_USER_INPUT', message: /input\.file.*File must be a multipart upload/ }],
  ['createImportJob: a negative maxRetries', () => upload(CREATE_IMPORT, { input: { file: null, maxRetries: -1 } }, 'input.file', csv), { typename: 'ValidationError', field: 'maxRetries', message: /./ }],
  // createPortfolioImportJob
  ['createPortfolioImportJob: a date that does not exist', () => graphql(CREATE_PORTFOLIO_IMPORT, { input: { ...portfolioImport, interval: { start: '2024-02-30', end: '2024-03-31' } } }), { typename: 'ValidationError', field: 'interval.start', message: /./ }],
  ['createPortfolioImportJob: end before start', () => graphql(CREATE_PORTFOLIO_IMPORT, { input: { ...portfolioImport, interval: { start: '2024-03-01', end: '2024-02-01' } } }), { typename: 'ValidationError', field: 'interval.start', message: /./ }],
  ['createPortfolioImportJob: not a portfolio id', () => graphql(CREATE_PORTFOLIO_IMPORT, { input: { ...portfolioImport, portfolioId: 'main' } }), { typename: 'ValidationError', field: 'portfolioId', message: /portfolio id/ }],
  ['createPortfolioImportJob: an unknown source', () => graphql(CREATE_PORTFOLIO_IMPORT, { input: { ...portfolioImport, source: 'SCHWAB' } }), { code: 'BAD_USER_INPUT', message: /Value "SCHWAB" does not exist in "PortfolioImportSource" enum/ }],
  ['createPortfolioImportJob: a NUL in accountId', () => graphql(CREATE_PORTFOLIO_IMPORT, { input: { ...portfolioImport, accountId: 'U1\u0000' } }), { code: 'BAD_USER_INPUT', message: /^\$input\.accountId: contains a NUL/ }],
  ['createPortfolioImportJob: the interval missing', () => graphql(CREATE_PORTFOLIO_IMPORT, { input: { ...portfolioImport, interval: undefined } }), { code: 'BAD_USER_INPUT', message: /Field "interval" of required type "DateIntervalInput!" was not provided/ }],
  // lists: page sizes, cursors, ids
  ['jobs: first -5', () => graphql('{ jobs(first: -5) { edges { cursor } } }'), { code: 'BAD_USER_INPUT', message: /Argument "first" must be a non-negative integer/ }],
  ['jobs: first over PAGE_SIZE_MAX', () => graphql('query ($n: Int) { jobs(first: $n) { edges { cursor } } }', { n: 101 }), { code: 'BAD_USER_INPUT', message: /^first: 101 is more than the largest page, 100 \(PAGE_SIZE_MAX\)/ }],
  ['job.events: last over PAGE_SIZE_MAX', () => graphql('{ jobs(first: 1) { edges { node { events(last: 1000, before: null) { totalCount } } } } }'), { code: 'BAD_USER_INPUT', message: /^last: 1000 is more than the largest page, 100/ }],
  ['jobs: a cursor that is not one', () => graphql('{ jobs(after: "zzz") { edges { cursor } } }'), { code: 'BAD_USER_INPUT', message: /^after: "zzz" is not a cursor of this list/ }],
  ['jobs: a cursor of another kind of key', () => graphql('{ jobs(before: "R1BDOlM6YWJj") { edges { cursor } } }'), { code: 'BAD_USER_INPUT', message: /^before: not a cursor of this list/ }],
  ['job: not a job id', () => graphql('{ job(id: "zzz") { id } }'), { code: 'BAD_USER_INPUT', message: /^id: "zzz" is not a job id/ }],
  ['collectionJobs: an unparseable DateTime variable', () => graphql('query ($since: DateTime) { collectionJobs(since: $since) { edges { cursor } } }', { since: '31/12/2024' }), { code: 'BAD_USER_INPUT', message: /\$since.*DateTime cannot represent/ }],
  ['importJobs: a bad enum value', () => graphql('query ($status: JobStatus) { importJobs(status: $status) { edges { cursor } } }', { status: 'DONE' }), { code: 'BAD_USER_INPUT', message: /Value "DONE" does not exist in "JobStatus" enum/ }],
  ['qaPairs: a NUL in the search', () => graphql('query ($q: String) { qaPairs(search: $q) { edges { cursor } } }', { q: 'a\u0000' }), { code: 'BAD_USER_INPUT', message: /^\$q: contains a NUL/ }],
];

describe('bad input', () => {
  it.each(cases)('%s', async (_name, request, expected) => {
    const before = await rowCounts();
    const firstLog = logs.length;
    const { body } = await post(request());
    if ('code' in expected) {
      expect(body.errors, JSON.stringify(body)).toHaveLength(1);
      const [error] = body.errors!;
      expect(error).toMatchObject({ extensions: { code: expected.code } });
      expect(error!.message).toMatch(expected.message);
      expect(error!.message).not.toMatch(/Unexpected error/);
      // Logged once, below error level.
      const logged = logs.slice(firstLog).filter((entry) => entry.msg === 'client error in a GraphQL request');
      expect(logged).toHaveLength(1);
      expect(logged[0]!.level).toBeLessThan(50);
    } else {
      expect(body.errors, JSON.stringify(body)).toBeUndefined();
      const answer = Object.values(body.data!)[0];
      expect(answer).toMatchObject({ __typename: expected.typename, ...(expected.field ? { field: expected.field } : {}) });
      expect(answer.message).toMatch(expected.message);
    }
    expect(await rowCounts()).toEqual(before);
    expect(logs.filter((entry) => entry.level >= 50)).toEqual([]);
  });

  it('covers every mutation', () => {
    const mutations = ['createJob', 'createJobs', 'cancelJob', 'retryJob', 'createCollectionJob', 'deleteCollectionJob', 'createImportJob', 'createPortfolioImportJob'];
    const named = new Set(cases.map(([name]) => name.split(':')[0]!));
    expect(mutations.filter((mutation) => !named.has(mutation))).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });
});

describe('over websockets', () => {
  /** The first thing a subscription answers: a result, or the error it fails with. */
  async function firstAnswer(query: string, variables: Record<string, unknown>) {
    const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
    try {
      return await new Promise<{ errors?: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }> }>((resolve, reject) => {
        client.subscribe({ query, variables }, { next: resolve, error: (error) => resolve({ errors: error as never }), complete: () => reject(new Error('completed with nothing')) });
      });
    } finally {
      await client.dispose();
    }
  }

  const cases: Array<[string, string, Record<string, unknown>, ErrorExpectation]> = [
    [
      'a NUL in a subscription variable',
      'subscription ($filter: JobEventFilter) { jobEvents(filter: $filter) { cursor } }',
      { filter: { queueNames: ['q\u0000'] } },
      { code: 'BAD_USER_INPUT', message: /^\$filter\.queueNames\.0: contains a NUL/ },
    ],
    ['a resume cursor that is not one', 'subscription ($after: String) { jobEvents(after: $after) { cursor } }', { after: 'zzz' }, { code: 'BAD_USER_INPUT', message: /^after: / }],
    ['not a job id', 'subscription ($id: ID!) { jobUpdated(id: $id) { id } }', { id: 'zzz' }, { code: 'BAD_USER_INPUT', message: /^id: "zzz" is not a job id/ }],
    ['a syntax error', 'subscription { jobEvents { cursor }', {}, { code: 'GRAPHQL_PARSE_FAILED', message: /Syntax Error/ }],
    ['a document nested 10,000 levels', `subscription { jobEvents(filter: ${nestedLiteral(10_000)}) { cursor } }`, {}, { code: 'GRAPHQL_PARSE_FAILED', message: /jobEvents\.filter\.a.* nests more than 200 levels/ }],
    ['an unknown field', 'subscription { jobEvents { nope } }', {}, { code: 'GRAPHQL_VALIDATION_FAILED', message: /Cannot query field "nope"/ }],
  ];
  it.each(cases)('%s', async (_name, query, variables, expected) => {
    const firstLog = logs.length;
    const answer = await firstAnswer(query, variables);
    expect(answer.errors, JSON.stringify(answer)).toHaveLength(1);
    expect(answer.errors![0]).toMatchObject({ extensions: { code: expected.code } });
    expect(answer.errors![0]!.message).toMatch(expected.message);
    expect(logs.slice(firstLog).filter((entry) => entry.msg === 'client error in a GraphQL request')).toHaveLength(1);
    expect(logs.filter((entry) => entry.level >= 50)).toEqual([]);
  });
});

describe('a real fault', () => {
  it('answers "Unexpected error." with a correlation id, logged once at error level with the same id', async () => {
    const firstLog = logs.length;
    const { body } = await post(graphql(CREATE_JOB, { input: { jobType: 'test.broken' } }));
    expect(body.errors).toHaveLength(1);
    const [error] = body.errors!;
    expect(error).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId: expect.any(String) } });
    const errorLogs = logs.slice(firstLog).filter((entry) => entry.level >= 50);
    expect(errorLogs).toHaveLength(1);
    expect(errorLogs[0]).toMatchObject({ correlationId: error!.extensions!.correlationId, err: { message: 'payload check crashed' } });
    // The answer tells nothing of the fault itself.
    expect(JSON.stringify(body)).not.toMatch(/payload check crashed/);
  });
});
