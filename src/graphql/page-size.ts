// Page sizes and cursors of every connection, checked before any query runs:
// a page over the bound is refused naming the bound, never silently cut.
import { parsePrismaCursor } from '@pothos/plugin-prisma';
import { GraphQLError } from 'graphql';
import { BAD_USER_INPUT } from './error-masking.ts';
import type { GraphQLContext } from './context.ts';

interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

function badArgument(argumentName: string, message: string, extensions: Record<string, unknown> = {}) {
  return new GraphQLError(`${argumentName}: ${message}`, { extensions: { code: BAD_USER_INPUT, argumentName, ...extensions } });
}

/**
 * plugin-prisma's maxSize of every connection: checks the arguments and
 * answers PAGE_SIZE_MAX. (Pothos checks negative sizes itself, first.)
 */
export function connectionMaxSize(args: ConnectionArgs, ctx: GraphQLContext): number {
  const bound = ctx.config.PAGE_SIZE_MAX;
  for (const argumentName of ['first', 'last'] as const) {
    const size = args[argumentName];
    if (size != null && size > bound) {
      throw badArgument(argumentName, `${size} is more than the largest page, ${bound} (PAGE_SIZE_MAX); ask for at most ${bound} and page on with after/before`, {
        bound,
      });
    }
  }
  for (const argumentName of ['after', 'before'] as const) {
    const cursor = args[argumentName];
    if (cursor == null) continue;
    try {
      parsePrismaCursor(cursor);
    } catch {
      throw badArgument(argumentName, `"${cursor.slice(0, 100)}" is not a cursor of this list; pass a cursor from its edges or pageInfo`);
    }
  }
  return bound;
}
