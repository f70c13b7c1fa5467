// Records the queries a Prisma client makes, through a `$extends` query hook
// (as Pothos' plugin-prisma tests do), so a test can pin what a request costs
// and catch an N+1: one more query per row shows as one more recorded query.
import type { PrismaClient } from '../db/prisma.ts';

export interface RecordedQuery {
  /** The model (e.g. `Job`), absent for raw queries. */
  model?: string;
  /** The operation, e.g. `findMany`, `count`, `$queryRaw`. */
  operation: string;
}

/** `prisma`, extended to push each query it makes to `queries`. */
export function recordingQueries(prisma: PrismaClient, queries: RecordedQuery[]): PrismaClient {
  const extended = prisma.$extends({
    query: {
      async $allOperations({ model, operation, args, query }) {
        queries.push(model ? { model, operation } : { operation });
        return query(args);
      },
    },
  });
  // The extended client answers every query the plain one does.
  return extended as unknown as PrismaClient;
}
