// Queries run compiled (graphql-jit), and what a client sees is what yoga's own
// executor gives: the same data, the same errors (a resolver's, a variable's),
// since an answer with errors is run again on yoga's executor. Mutations are not compiled.
import { createYoga, createSchema } from 'graphql-yoga';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { compiledQueries } from '../../src/graphql/compiled-queries.ts';
import { createMaskError } from '../../src/graphql/error-masking.ts';
import { createLogger } from '../../src/logger.ts';

function app(compiled: boolean) {
  const calls = { item: 0, fail: 0, mutate: 0, slow: 0 };
  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      scalar Day
      interface Node { id: ID! }
      type Item implements Node { id: ID! name: String! tags: [String!]! }
      type Query { item(id: ID!): Node items(since: Day): [Item!]! fail: String! slow: String! }
      type Mutation { mutate: String! }
    `,
    resolvers: {
      Day: {
        __serialize: (value: unknown) => value,
        __parseValue: (value: unknown) => {
          if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\d$/.test(value)) throw new GraphQLError(`Day cannot represent "${String(value)}": not YYYY-MM-DD`);
          return value;
        },
      },
      Node: { __resolveType: () => 'Item' },
      Query: {
        item: (_root: unknown, args: { id: string }) => {
          calls.item += 1;
          return { id: args.id, name: `item ${args.id}`, tags: ['a', 'b'] };
        },
        items: () => [1, 2].map((id) => ({ id: String(id), name: `item ${id}`, tags: [] })),
        // What pg throws when Postgres cancels a statement at statement_timeout.
        slow: () => {
          calls.slow += 1;
          throw Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' });
        },
        fail: () => {
          calls.fail += 1;
          throw new GraphQLError('no such thing', { extensions: { code: 'NOT_FOUND' } });
        },
      },
      Mutation: {
        mutate: () => {
          calls.mutate += 1;
          throw new GraphQLError('refused', { extensions: { code: 'REFUSED' } });
        },
      },
    },
  });
    // The API's masking (http/yoga.ts): database failures are answered by code and path.
  const maskError = createMaskError(createLogger('silent'), { statementTimeoutMs: 1000, acquireTimeoutMs: 500 });
  const yoga = createYoga({ schema, maskedErrors: { maskError }, logging: false, plugins: compiled ? [compiledQueries()] : [] });
  const ask = async (query: string, variables?: Record<string, unknown>) => {
    const response = await yoga.fetch('http://localhost/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: response.status, body: await response.json() };
  };
  return { ask, calls };
}

const QUERIES: Array<[string, string, Record<string, unknown>?]> = [
  ['an interface, lists, arguments', '{ item(id: "7") { __typename id ... on Item { name tags } } items { id name } }'],
  ['a resolver error beside data', '{ items { id } fail }'],
  ['a variable a scalar refuses', 'query ($since: Day) { items(since: $since) { id } }', { since: '31/12/2024' }],
  ['a variable of the wrong type', 'query ($id: ID!) { item(id: $id) { id } }', { id: { no: 1 } }],
];

describe('compiled queries', () => {
  for (const [name, query, variables] of QUERIES) {
    it(`answers as yoga's executor does: ${name}`, async () => {
      const compiled = await app(true).ask(query, variables);
      expect(compiled).toEqual(await app(false).ask(query, variables));
    });
  }

  it('runs a query once when it succeeds, and again on the executor when it has an error', async () => {
    const { ask, calls } = app(true);
    await ask('{ item(id: "1") { id } }');
    expect(calls.item).toBe(1);
    await ask('{ item(id: "1") { id } fail }');
    // Once compiled, once more on yoga's executor, whose answer is sent.
    expect(calls).toMatchObject({ item: 3, fail: 2 });
  });

  it('does not run a query again when the database failed it (a second run would wait as long again), and answers the same', async () => {
    const { ask, calls } = app(true);
    const answer = await ask('{ items { id } slow }');
    expect(calls.slow).toBe(1);
    expect(answer.body.errors[0].extensions.code).toBe('DATABASE_TIMEOUT');
    expect(answer).toEqual(await app(false).ask('{ items { id } slow }'));
  });

  it('leaves mutations to yoga: one run, its own error', async () => {
    const { ask, calls } = app(true);
    const answer = await ask('mutation { mutate }');
    expect(calls.mutate).toBe(1);
    expect(answer).toEqual(await app(false).ask('mutation { mutate }'));
  });
});
