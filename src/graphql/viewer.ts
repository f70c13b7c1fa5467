// The few root fields a viewer token (auth/viewer-tokens.ts) may use: `job`,
// and the subscriptions `jobUpdated`, `jobEvents` and `jobStream`, for the
// token's own jobs. Each takes viewerReadable(...): asked for any other job
// (or a job id that is no job), and at every other field, a viewer is refused
// exactly as a request without a token (its principal has no scope:
// graphql/builder.ts), so it learns nothing of what else exists.
import type { Principal } from '../auth/principal.ts';
import type { GraphQLContext } from './context.ts';
import { parseJobId } from './jobs/types.ts';

/** A job id no job has: a filter of it matches nothing. */
const NO_JOB = '00000000-0000-0000-0000-000000000000';

/** Whether a viewer's token covers every job asked for (none asked: its own jobs, see viewerJobIds). */
function coversAll(caller: Principal, asked: readonly unknown[] | null | undefined): boolean {
  const allowed = caller.viewer?.jobIds;
  if (!allowed) return false;
  return (asked ?? []).every((id) => {
    try {
      return allowed.has(parseJobId(String(id)));
    } catch {
      return false;
    }
  });
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
    authScopes: (_parent: unknown, args: unknown, ctx: GraphQLContext) =>
      coversAll(ctx.caller, jobIdsOf(args)) ? { 'jobs:read': true, viewer: true } : { 'jobs:read': true },
  } as const;
}

/** A viewer's subscription without job ids follows all of its token's jobs (and never another). */
export function viewerJobIds(caller: Principal, asked: readonly string[] | null | undefined): readonly string[] | null | undefined {
  if (!caller.viewer) return asked;
  const allowed = caller.viewer.jobIds;
  const ids = asked?.length ? asked.filter((id) => allowed.has(id)) : [...allowed];
  return ids.length ? ids : [NO_JOB];
}
