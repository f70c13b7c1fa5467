// createJob's optional viewer token (issue 28): `createJob(input, viewerToken:
// { expiresInSeconds })` answers, with the job, a viewer token that reads it
// (auth/viewer-tokens.ts), so an app hands its end user's page the job and its
// token in one round trip. Not asked, it costs createJob nothing: no look-up
// and no signature. Asked, one HMAC: the job is the caller's tenant's (it was
// just created, or found by the tenant's idempotency key), so nothing is read.
import type { FieldRef } from '@pothos/core';
import { signViewerToken, VIEWER_TOKEN_TTL_DEFAULT_SECONDS, VIEWER_TOKEN_TTL_MAX_SECONDS, viewerTokenTtl, type ViewerToken } from '../../auth/viewer-tokens.ts';
import { builder } from '../builder.ts';
import type { GraphQLContext } from '../context.ts';
import { createdResultOptions } from '../flow/schema-inputs.ts';
import { ViewerTokenRef } from '../live/schema.ts';

export const CreateJobViewerTokenInput = builder.inputType('CreateJobViewerTokenInput', {
  description: 'Asks createJob for a viewer token of the job it answers (the same token createViewerToken mints for it).',
  fields: (t) => ({
    expiresInSeconds: t.int({
      required: false,
      description: `Its life, 1 to ${VIEWER_TOKEN_TTL_MAX_SECONDS} seconds. Default ${VIEWER_TOKEN_TTL_DEFAULT_SECONDS}.`,
    }),
  }),
});

/** The token minted for each answered job row (read by the payload's `viewerToken`). */
const tokens = new WeakMap<object, ViewerToken>();

/** The token's life, checked before anything is created (a bad one changes nothing); null when none was asked for. */
export function askedViewerTokenTtl(asked: { expiresInSeconds?: number | null } | null | undefined): number | null {
  return asked ? viewerTokenTtl(asked.expiresInSeconds, 'viewerToken.expiresInSeconds') : null;
}

/** Mints the token of the answered job (called only when one was asked for). */
export async function withViewerToken<T extends object>(ctx: GraphQLContext, row: T, jobId: string, ttlSeconds: number): Promise<T> {
  // createJob writes the job in the caller's tenant (jobs/create.ts), an idempotent answer's job too.
  tokens.set(row, await signViewerToken(ctx.pool, { tenantId: ctx.caller.tenantId, jobIds: [jobId], tag: null, ttlSeconds, issuedBy: ctx.caller.principalId }));
  return row;
}

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
// Annotated: the package's declarations (tsconfig.build.json) must name these types.
type ResultFields = {
  fields: (t: PothosSchemaTypes.ObjectFieldBuilder<Types, any>) => { created: FieldRef<Types, boolean, 'Object'>; viewerToken: FieldRef<Types, ViewerToken | null | undefined, 'Object'> };
};

/** createJob's success type: `created`, and `viewerToken` when asked for. */
export const createJobResultOptions: ResultFields = {
  fields: (t) => ({
    ...createdResultOptions.fields(t),
    viewerToken: t.field({
      type: ViewerTokenRef,
      nullable: true,
      description: 'A viewer token that reads this job, when createJob was given `viewerToken`; null otherwise.',
      resolve: (row: object) => tokens.get(row) ?? null,
    }),
  }),
};
