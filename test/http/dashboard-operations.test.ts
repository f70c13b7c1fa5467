// The dashboard writes its GraphQL operations as plain strings (no codegen in
// the browser bundle): each must stay valid against the schema the service
// serves, so a renamed field fails here rather than as an empty page.
import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { expect, it } from 'vitest';
import * as operations from '../../dashboard/src/operations.ts';

const schema = buildSchema(readFileSync('schema.graphql', 'utf8'));
const documents = Object.entries(operations as Record<string, unknown>).filter(
  (entry): entry is [string, string] => typeof entry[1] === 'string' && /^(query|mutation|subscription)\b/.test(entry[1]),
);

it('finds the operations', () => {
  expect(documents.map(([name]) => name)).toEqual(expect.arrayContaining(['JobsList', 'JobPageQuery', 'CancelJobs', 'RetryJobs', 'QueuesUpdated']));
});

it.each(documents)('%s is valid against schema.graphql', (_name, source) => {
  expect(validate(schema, parse(source)).map((error) => error.message)).toEqual([]);
});
