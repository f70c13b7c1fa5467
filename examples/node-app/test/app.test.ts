// The example app against a running jobwire service (`jobwire start`: its API and
// its own worker) and this app's worker process (src/worker.ts): JOBWIRE_API_URL
// (its /graphql), DATABASE_URL (its database) and APP_WORKER_ID (the worker's id)
// are given by whoever started them (scripts/example-node-app.sh), which also
// wrote src/generated with `jobwire codegen` once the worker had registered.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient, type Client } from 'graphql-ws';
import { runWorker, SchemaNotReadyError } from 'jobwire';
import WebSocket from 'ws';
import { ApiError, JobwireClient } from '../src/client.js';
import { createJob, type TypedCreateJobInput } from '../src/generated/index.js';
import { jobTypes, resizeImage } from '../src/job-types.js';

const apiUrl = required('JOBWIRE_API_URL');
const databaseUrl = required('DATABASE_URL');
const appWorkerId = required('APP_WORKER_ID');
const api = new JobwireClient(apiUrl);
let ws: Client;

before(() => {
  ws = createClient({ url: apiUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket });
});

after(async () => {
  await ws?.dispose();
});

/** createJob through the generated client (src/generated, typed by the registered schemas); a typed error fails the test. */
async function create(input: TypedCreateJobInput): Promise<{ id: string; jobType: string; status: string }> {
  const answer = await createJob({ url: apiUrl }, input);
  if (answer.__typename !== 'MutationCreateJobSuccess') throw new ApiError(answer.__typename, answer.message, 'field' in answer ? (answer.field ?? undefined) : undefined);
  return answer.data;
}

/** The workers serving a job type (the registry, through the jobTypes query). */
async function workersOf(jobType: string): Promise<{ workerId: string; live: boolean; queueNames: string[] | null }[]> {
  const { jobTypes } = await api.request<{ jobTypes: { jobType: string; workers: { workerId: string; live: boolean; queueNames: string[] | null }[] }[] }>(
    `{ jobTypes { jobType workers { workerId live queueNames } } }`,
    {},
  );
  const found = jobTypes.find((type) => type.jobType === jobType);
  assert.ok(found, `jobTypes lists ${jobType}`);
  return found.workers;
}

interface EventNode {
  status: string;
  previousStatus: string | null;
  message: string | null;
  step: { name: string } | null;
}

/** The job's events over graphql-ws, replayed from its first (creation) event, until it ends. */
async function eventsUntilEnd(jobId: string): Promise<EventNode[]> {
  const { job } = await api.request<{ job: { events: { edges: { node: EventNode & { cursor: string } }[] } } }>(
    `query Events($id: ID!) { job(id: $id) { events(first: 100) { edges { node { cursor status previousStatus message step { name } } } } } }`,
    { id: jobId },
  );
  const created = job.events.edges.find((edge) => edge.node.previousStatus === null && edge.node.step === null);
  assert.ok(created, 'the job has its creation event');
  const { cursor, ...first } = created.node;
  const events: EventNode[] = [first];
  const subscription = ws.iterate<{ jobEvents: EventNode }>({
    query: `subscription Events($filter: JobEventFilter, $after: String) {
      jobEvents(filter: $filter, after: $after) { status previousStatus message step { name } }
    }`,
    variables: { filter: { jobIds: [jobId] }, after: cursor },
  });
  for await (const result of subscription) {
    assert.equal(result.errors, undefined);
    const event = result.data!.jobEvents;
    events.push(event);
    if (!event.step && ['COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED'].includes(event.status)) break;
  }
  return events;
}

async function jobState(id: string) {
  const { job } = await api.request<{
    job: { status: string; queueName: string; progress: number; result: unknown; errorMessage: string | null; error: unknown; steps: { edges: { node: { name: string; status: string; position: number } }[] } };
  }>(`query Job($id: ID!) { job(id: $id) { status queueName progress result errorMessage error steps(first: 10) { edges { node { name status position } } } } }`, { id });
  return { ...job, steps: job.steps.edges.map((edge) => edge.node).sort((a, b) => a.position - b.position) };
}

test('jobs created through the API run on this app\'s worker, and their events arrive over graphql-ws', async () => {
  // Only this app's worker serves its types: the service's own worker is not among them.
  for (const jobType of ['example.resize_image', 'example.send_greeting']) {
    assert.deepEqual(await workersOf(jobType), [{ workerId: appWorkerId, live: true, queueNames: null }]);
  }
  const resize = await create({ jobType: 'example.resize_image', payload: { url: 'https://example.com/cat.jpg', width: 64, height: 48 } });
  const greet = await create({ jobType: 'example.send_greeting', payload: { name: 'Ada', language: 'fr' } });
  // The registration's defaults apply at create (the API does not host these types).
  assert.equal((await jobState(resize.id)).queueName, 'images');
  const [resizeEvents, greetEvents] = await Promise.all([eventsUntilEnd(resize.id), eventsUntilEnd(greet.id)]);

  const statuses = (events: EventNode[]) => events.filter((event) => !event.step).map((event) => event.status);
  assert.deepEqual(statuses(greetEvents), ['PENDING', 'RUNNING', 'COMPLETED']);
  assert.deepEqual(statuses(resizeEvents), ['PENDING', 'RUNNING', 'COMPLETED']);
  const stepsDone = resizeEvents.filter((event) => event.step && event.status === 'COMPLETED').map((event) => event.step!.name);
  assert.deepEqual(stepsDone, ['fetch', 'resize', 'store']);

  const resized = await jobState(resize.id);
  assert.equal(resized.status, 'COMPLETED');
  assert.equal(resized.progress, 100);
  // The handler sees the job's UUID; the API answers its Relay id.
  assert.match((resized.result as { key: string }).key, /^thumbnails\/[0-9a-f-]{36}-64x48\.jpg$/);
  assert.equal((resized.result as { bytes: number }).bytes, 9216);
  assert.deepEqual(resized.steps.map((step) => [step.name, step.status]), [['fetch', 'COMPLETED'], ['resize', 'COMPLETED'], ['store', 'COMPLETED']]);
  assert.deepEqual((await jobState(greet.id)).result, { greeting: 'Bonjour Ada' });
});

test('a NonRetriableError fails the job at once, with its data', async () => {
  const job = await create({ jobType: 'example.send_greeting', payload: { name: 'nobody' } });
  const events = await eventsUntilEnd(job.id);
  assert.equal(events.at(-1)!.status, 'FAILED');
  const state = await jobState(job.id);
  assert.deepEqual(state.error, { name: 'NonRetriableError', message: 'nobody cannot be greeted', data: { name: 'nobody' } });
});

test('a bad payload is refused by the API, naming its path, and nothing is created', async () => {
  const count = async () =>
    (await api.request<{ jobs: { totalCount: number } }>(`{ jobs(filter: { jobTypes: ["example.resize_image"] }) { totalCount } }`, {})).jobs.totalCount;
  const before = await count();
  // As a client in another language would send it: the API checks it against the JSON Schema this app's worker registered.
  await assert.rejects(api.createUntypedJob(resizeImage.jobType, { url: 'https://example.com/cat.jpg', width: 'wide', height: 48 }), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.typename, 'ValidationError');
    assert.equal(error.field, 'payload.width');
    assert.match(error.message, /^payload\.width: must be integer/);
    return true;
  });
  await assert.rejects(api.createUntypedJob(resizeImage.jobType, { url: 'https://example.com/cat.jpg', width: 64 }), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.field, 'payload.height');
    return true;
  });
  assert.equal(await count(), before);
  // A type nobody registered is refused too (the service does not allow unknown types).
  await assert.rejects(api.createUntypedJob('example.nobody_serves_this', {}), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.typename, 'UnknownJobTypeError');
    return true;
  });
});

test("the service's own job types run on the service's worker, not this app's", async () => {
  const serviceWorkers = await workersOf('system.sleep');
  assert.ok(serviceWorkers.some((worker) => worker.live), 'the service runs a worker of its own');
  assert.ok(!serviceWorkers.some((worker) => worker.workerId === appWorkerId), "this app's worker does not serve system.sleep");
  const job = await create({ jobType: 'system.sleep', payload: { ms: 10, ticks: 1 } });
  const events = await eventsUntilEnd(job.id);
  assert.equal(events.at(-1)!.status, 'COMPLETED');
  assert.deepEqual((await jobState(job.id)).result, { sleptMs: 10 });
});

test('a payload of the wrong type fails tsc', async () => {
  const project = fileURLToPath(new URL('../../typecheck/tsconfig.json', import.meta.url));
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  const failed = await promisify(execFile)(process.execPath, [tsc, '-p', project]).then(
    () => null,
    (error: { code: number; stdout: string }) => error,
  );
  assert.ok(failed, 'tsc accepted typecheck/wrong-payload.ts');
  assert.equal(failed.code, 2);
  // One error per client, at its wrong payload (the lines with width: 'wide'), nowhere else: the generated
  // client (src/generated, from the registered JSON Schemas) and the zod-typed one (src/client.ts).
  const source = (await readFile(fileURLToPath(new URL('../../typecheck/wrong-payload.ts', import.meta.url)), 'utf8')).split('\n');
  const [generatedLine, zodLine] = source.flatMap((line, index) => (line.includes("width: 'wide'") ? [index + 1] : []));
  assert.ok(generatedLine && zodLine && source[generatedLine - 1]!.includes('jobType:'), 'wrong-payload.ts has its two wrong calls');
  const errors = failed.stdout.trim().split('\n').filter((line) => /error TS/.test(line));
  assert.deepEqual(errors.map((line) => Number(/\((\d+),/.exec(line)![1])), [generatedLine, zodLine], failed.stdout);
  // At the property (TS2322), or at the argument (TS2345) naming the property when the union of job
  // types has a member tsc cannot rule out by jobType alone (system.noop's payload is any object).
  assert.match(
    failed.stdout,
    new RegExp(`wrong-payload\\.ts\\(${generatedLine},\\d+\\): error (TS2322: Type 'string' is not assignable to type 'number'|TS2345: [^\\n]*\\n\\s+The types of 'payload\\.width' are incompatible)`),
  );
  assert.match(failed.stdout, new RegExp(`wrong-payload\\.ts\\(${zodLine},\\d+\\): error TS2322: Type 'string' is not assignable to type 'number'`));
});

test('a worker refuses a database without the jobwire schema, saying so', async () => {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  await assert.rejects(runWorker({ databaseUrl: url.href, jobTypes, concurrency: 1, settings: { LOG_LEVEL: 'silent' } }), (error: unknown) => {
    assert.ok(error instanceof SchemaNotReadyError);
    assert.match(error.message, /has no jobwire schema: start the jobwire service on it first/);
    return true;
  });
});

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (scripts/example-node-app.sh sets it)`);
  return value;
}
