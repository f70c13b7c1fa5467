// One name per concept (docs/naming.md): a count is <thing>Count in GraphQL
// and <thing>_count in SQL, and a renamed field or argument keeps its old name
// only as a deprecated alias that names its replacement.
import { readFileSync } from 'node:fs';
import { getNamedType, isObjectType, type GraphQLArgument, type GraphQLField } from 'graphql';
import { expect, it } from 'vitest';
import { schema } from '../../src/service-schema.ts';

/** Counts named by the conventions the rename retired: total_*, *_synced, *_made, *_applied, *_rows, a bare candles. */
const RETIRED_SQL = /^total_|_synced$|_made$|_applied$|_rows$|_batches$|^candles$/;
const RETIRED_GRAPHQL = /^total(?!Count$)|Synced$|Made$|Applied$|Rows$|Batches$|^candles$/;

it('no integer column of db/schema.sql counts by a retired convention', () => {
  const columns = [...readFileSync('db/schema.sql', 'utf8').matchAll(/^create table (\w+) \(([\s\S]*?)^\);/gm)].flatMap(([, table, body]) =>
    [...body!.matchAll(/^\s+"?(\w+)"? (?:integer|bigint|smallint)\b/gm)].map(([, column]) => `${table}.${column}`),
  );
  expect(columns.length).toBeGreaterThan(20);
  expect(columns.filter((column) => RETIRED_SQL.test(column.split('.')[1]!))).toEqual([]);
});

it('no live GraphQL Int field counts by a retired convention (the old names stay only as deprecated aliases)', () => {
  const offenders: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (getNamedType(field.type).name === 'Int' && !field.deprecationReason && RETIRED_GRAPHQL.test(field.name)) offenders.push(`${type.name}.${field.name}`);
    }
  }
  expect(offenders).toEqual([]);
});

it('every deprecated field and argument names a live replacement of the same type beside it', () => {
  const checked: string[] = [];
  const replacementOf = (reason: string) => /^Use (\w+) /.exec(reason)?.[1];
  const check = (where: string, old: GraphQLField<unknown, unknown> | GraphQLArgument, siblings: ReadonlyArray<GraphQLField<unknown, unknown> | GraphQLArgument>) => {
    if (!old.deprecationReason) return;
    const name = replacementOf(old.deprecationReason);
    const replacement = siblings.find((sibling) => sibling.name === name);
    // Deprecations that are not renames (e.g. PortfolioImportJobFailed.error) name no replacement.
    if (name === undefined) return;
    expect(replacement, `${where}.${old.name}: ${old.deprecationReason}`).toBeDefined();
    expect(replacement!.deprecationReason, `${where}.${name} is itself deprecated`).toBeFalsy();
    expect(String(replacement!.type), `${where}.${old.name} and ${name} differ in type`).toBe(String(old.type));
    checked.push(`${where}.${old.name}`);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const fields = Object.values(type.getFields());
    for (const field of fields) {
      check(type.name, field, fields);
      for (const arg of field.args) check(`${type.name}.${field.name}`, arg, field.args);
    }
  }
  expect(checked).toEqual(
    expect.arrayContaining(['CollectionStats.total', 'CollectionStats.totalCandles', 'ImportJob.totalRows', 'BudgetJob.transactionsSynced', 'Query.candles.from', 'Query.candles.to']),
  );
});
