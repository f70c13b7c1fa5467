// Live jobs for end users (issue 28): the createViewerToken mutation.
// Importing this file registers it.
import { createViewerToken, VIEWER_TOKEN_JOBS_MAX, VIEWER_TOKEN_TTL_DEFAULT_SECONDS, VIEWER_TOKEN_TTL_MAX_SECONDS, type ViewerToken } from '../../auth/viewer-tokens.ts';
import { visibleTenant } from '../../auth/principal.ts';
import { JobNotFoundError, ValidationError } from '../../core/errors.ts';
import { builder } from '../builder.ts';
import { parseJobId } from '../jobs/types.ts';

const CreateViewerTokenInput = builder.inputType('CreateViewerTokenInput', {
  fields: (t) => ({
    jobIds: t.idList({ required: true, description: `The jobs it may read (global IDs or UUIDs), 1 to ${VIEWER_TOKEN_JOBS_MAX}, of the caller's tenant.` }),
    expiresInSeconds: t.int({
      required: false,
      description: `Its life, 1 to ${VIEWER_TOKEN_TTL_MAX_SECONDS} seconds. Default ${VIEWER_TOKEN_TTL_DEFAULT_SECONDS}.`,
    }),
  }),
});

const ViewerTokenRef = builder.objectRef<ViewerToken>('ViewerToken').implement({
  description:
    'A token for an end user\'s browser: with it, `job(id)` and the subscriptions jobUpdated, jobEvents and jobStream answer for its jobs only; everything else answers as without a token. It cannot be revoked: keep it short-lived.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Send as `Authorization: Bearer <token>`, or in graphql-ws connection_init as { authorization: "Bearer <token>" }.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it stops working; its open websockets close then (4401 "token expired").' }),
    jobIds: t.stringList({ description: 'UUIDs of the jobs it reads.', resolve: (token) => token.jobIds }),
  }),
});

builder.mutationField('createViewerToken', (t) =>
  t.field({
    type: ViewerTokenRef,
    description: "Mints a short-lived token that reads the given jobs of the caller's tenant and nothing else, to hand to an end user's browser.",
    errors: { types: [ValidationError, JobNotFoundError], directResult: false },
    args: { input: t.arg({ type: CreateViewerTokenInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      createViewerToken(ctx.pool, visibleTenant(ctx.caller), ctx.caller.principalId, {
        jobIds: input.jobIds.map((id, index) => parseJobId(String(id), `jobIds.${index}`)),
        expiresInSeconds: input.expiresInSeconds,
      }),
  }),
);
