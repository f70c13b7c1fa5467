// Assembles the schema: importing a module registers its types; each kind's
// types come with its descriptor (the built-in kinds': src/service-schema.ts).
import type { GraphQLSchema } from 'graphql';
import type { KindDescriptor } from '../kind-descriptor.ts';
import { builder } from '../graphql/builder.ts';
import '../graphql/errors.ts';
import '../graphql/jobs/schema.ts';
import '../graphql/registry/schema.ts';
import '../graphql/flow/schema.ts';
import '../graphql/flow/schedule-schema.ts';
import '../graphql/waits/schema.ts';
import '../graphql/jobs/rerun.ts';
import '../graphql/connections/schema.ts';
import '../graphql/kind-detail.ts';
import '../graphql/live/schema.ts';
import '../graphql/quotas/schema.ts';
import '../webhooks/schema.ts';
import { answerListedPages } from '../graphql/jobs/sql-listing.ts';

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
    built = builder.toSchema();
    // The listing's steps and events pages, answered from the rows its statement read.
    answerListedPages(built);
    schemas.set(kinds, built);
  }
  return built;
}
