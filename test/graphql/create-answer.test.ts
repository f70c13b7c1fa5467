// createJob answers the row its insert returned, without reading it back
// (src/graphql/jobs/inserted-row.ts): the answer must be the job as any later
// read shows it, for every field that is a column.
import { getNamedType, isLeafType, isObjectType } from 'graphql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { schema } from '../../src/service-schema.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

let db: TestDatabase;
let service: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { MUTATION_RATE_LIMIT_PER_MINUTE: '0' } });
});
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

/** Every field of PlainJob without arguments whose value is a scalar or an enum (a new column's field is in). */
function leafFields(): string {
  const type = schema.getType('PlainJob');
  if (!isObjectType(type)) throw new Error('PlainJob is not an object type');
  const names = Object.values(type.getFields())
    // dependsOn is read from the job's dependency rows (a relation): asked for, the answer is read back.
    .filter((field) => field.args.length === 0 && isLeafType(getNamedType(field.type)) && field.name !== 'dependsOn')
    .map((field) => field.name);
  expect(names).toEqual(expect.arrayContaining(['id', 'status', 'createdAt', 'payload', 'metadata', 'scheduledAt', 'progress']));
  return names.join(' ');
}

it.each([
  ['due now', '{ jobType: "system.noop", payload: {}, priority: 7, maxRetries: 2, metadata: { team: "a" } }'],
  ['scheduled later, in a queue', '{ jobType: "system.noop", queueName: "later", scheduledAt: "2999-01-01T00:00:00Z" }'],
  ['of a type no worker serves', '{ jobType: "system.sleep", payload: { ms: 1 } }'],
])('a created job (%s) answers exactly what a read of it answers', async (_name, input) => {
  const fields = leafFields();
  // The first job of a type and queue announces its task (a transaction of its own); the next ones are one statement.
  await service.client.send(`mutation { createJob(input: ${input}) { __typename } }`);
  const created = await service.client.send(`mutation { createJob(input: ${input}) { ... on MutationCreateJobSuccess { data { ${fields} } } } }`);
  const answered = (created.body.data as { createJob: { data: Record<string, unknown> } }).createJob.data;
  expect(answered.id).toEqual(expect.any(String));
  const read = await service.client.send(`query ($id: ID!) { job(id: $id) { ${fields} } }`, { id: answered.id });
  expect(read.body.errors).toBeUndefined();
  expect(answered).toEqual((read.body.data as { job: Record<string, unknown> }).job);
});

it('a created job with its steps and events asked for answers them (read with the row)', async () => {
  const created = await service.client.send(
    'mutation { createJob(input: { jobType: "system.noop" }) { ... on MutationCreateJobSuccess { data { id status events(first: 5) { edges { node { status } } } } } } }',
  );
  const answered = (created.body.data as { createJob: { data: { status: string; events: { edges: Array<{ node: { status: string } }> } } } }).createJob.data;
  expect(answered.events.edges.map((edge) => edge.node.status)).toEqual([answered.status]);
});
