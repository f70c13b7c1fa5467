// The service's GraphQL schema: the core's types and every built-in kind's
// (src/kinds.ts). Above the kinds, as http/ assembles whatever kinds it is given.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from './http/schema.ts';
import { defaultKinds } from './kinds.ts';

export const schema: GraphQLSchema = buildSchema(defaultKinds);

/** The SDL committed as schema.graphql. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
