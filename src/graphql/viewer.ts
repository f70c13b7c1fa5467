// The few root fields a viewer token (auth/viewer-tokens.ts) may use: `job`,
// and the subscriptions `jobUpdated`, `jobEvents`, `jobStream` and `jobLogs`,
// for the token's own jobs; a tag token also `jobs` (its tag's jobs only).
// Each takes viewerReadable(...): asked for any other job (or a job id that is
// no job), and at every other field, a viewer is refused exactly as a request
// without a token (its principal has no scope: graphql/builder.ts), so it
// learns nothing of what else exists. A tag token's jobs are those that have
// its tag when asked (one read per field), and each event of a subscription is
// matched against the job's tags when it is read from the log.
import type { Principal } from '../auth/principal.ts';
import type { JobSearch } from '../jobs/search.ts';
import type { GraphQLContext } from './context.ts';
import { parseJobId } from './jobs/types.ts';

/** A job id no job has: a filter of it matches nothing. */
const NO_JOB = '00000000-0000-0000-0000-000000000000';

const READABLE = { 'jobs:read': true, viewer: true } as const;
const NOT_READABLE = { 'jobs:read': true } as const;

/** The asked ids as UUIDs; null when one is no job id (never covered). */
function parsed(asked: readonly unknown[]): string[] | null {
  try {
    return asked.map((id) => parseJobId(String(id)));
  } catch {
    return null;
  }
}

/** Whether a viewer's token covers every job asked for (none asked: its own jobs, see viewerEventFilter). */
function covers(ctx: GraphQLContext, asked: readonly unknown[] | null | undefined): boolean | Promise<boolean> {
  const grant = ctx.caller.viewer;
  if (!grant) return false;
  const ids = parsed(asked ?? []);
  if (!ids) return false;
  if (grant.jobIds) return ids.every((id) => grant.jobIds.has(id));
  if (ids.length === 0) return true;
  // A tag token: each job must have the tag now (ctx.prisma is narrowed to the tenant's jobs with it).
  const unique = [...new Set(ids)];
  return ctx.prisma.job.count({ where: { id: { in: unique } } }).then((count) => count === unique.length);
}

/**
 * Field options: jobs:read, or a viewer token that covers the jobs the field's
 * arguments name (`jobIdsOf`). Whatever a viewer then reads through ctx.prisma
 * is narrowed to its jobs too (auth/viewer-scope.ts).
 */
export function viewerReadable(jobIdsOf: (args: any) => readonly unknown[] | null | undefined) {
  return {
    skipTypeScopes: true,
    // A scope listed counts whatever its value: `viewer` is listed only when the token covers the jobs.
    authScopes: (_parent: unknown, args: unknown, ctx: GraphQLContext) => {
      const covered = covers(ctx, jobIdsOf(args));
      return typeof covered === 'boolean' ? (covered ? READABLE : NOT_READABLE) : covered.then((yes) => (yes ? READABLE : NOT_READABLE));
    },
  } as const;
}

/** Field options of `jobs`: jobs:read, or a tag token (which lists its tag's jobs only: viewerSearch). */
export const viewerListable = {
  skipTypeScopes: true,
  authScopes: (_parent: unknown, _args: unknown, ctx: GraphQLContext) => (ctx.caller.viewer?.tag !== undefined ? READABLE : NOT_READABLE),
} as const;

/** A search narrowed to a tag token's tag (the SQL path of `jobs`; the Prisma path is narrowed by viewer-scope.ts as well). */
export function viewerSearch<T extends JobSearch | null | undefined>(caller: Principal, search: T): T | JobSearch {
  const tag = caller.viewer?.tag;
  if (tag === undefined) return search;
  return { ...search, tags: [...new Set([...(search?.tags ?? []), tag])] };
}

/**
 * The job ids and tags of a viewer's event subscription: without job ids, it
 * follows all of its token's jobs (and never another); a tag token's events
 * are those of jobs with its tag when the event is read.
 */
export function viewerEventFilter(caller: Principal, asked: readonly string[] | null | undefined): { jobIds: readonly string[] | null | undefined; tags?: readonly string[] } {
  const grant = caller.viewer;
  if (!grant) return { jobIds: asked };
  if (grant.tag !== undefined) return { jobIds: asked, tags: [grant.tag] };
  const ids = asked?.length ? asked.filter((id) => grant.jobIds.has(id)) : [...grant.jobIds];
  return { jobIds: ids.length ? ids : [NO_JOB] };
}
