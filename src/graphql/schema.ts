// Assembles the schema: importing a capability's schema module registers its types.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './errors.ts';
import '../jobs/schema.ts';
import '../flow/schema.ts';
import '../flow/schedule-schema.ts';
import '../portfolios/schema.ts';
import '../collections/schema.ts';
import '../imports/schema.ts';
import '../budgets/schema.ts';
import '../connections/schema.ts';

export const schema: GraphQLSchema = builder.toSchema();

/** The SDL committed as schema.graphql. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
