// Assembles the schema: importing a module registers its types; each kind's
// types come with its descriptor (src/kinds.ts).
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import type { KindDescriptor } from '../kind-descriptor.ts';
import { defaultKinds } from '../kinds.ts';
import { builder } from './builder.ts';
import './errors.ts';
import '../jobs/schema.ts';
import '../registry/schema.ts';
import '../flow/schema.ts';
import '../flow/schedule-schema.ts';
import '../connections/schema.ts';
import './kind-detail.ts';

const registered = new WeakSet<KindDescriptor<any>>();
const schemas = new WeakMap<readonly KindDescriptor<any>[], GraphQLSchema>();

/** The schema with the given kinds' types (the builder is shared: a kind's types, once registered, stay). */
export function buildSchema(kinds: readonly KindDescriptor<any>[]): GraphQLSchema {
  let built = schemas.get(kinds);
  if (!built) {
    for (const kind of kinds) {
      if (registered.has(kind)) continue;
      registered.add(kind);
      kind.registerSchema?.();
    }
    schemas.set(kinds, (built = builder.toSchema()));
  }
  return built;
}

export const schema: GraphQLSchema = buildSchema(defaultKinds);

/** The SDL committed as schema.graphql. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
