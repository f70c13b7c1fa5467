// Live jobs for end users (issue 28): the createViewerToken mutation and the
// jobStream subscription. Importing this file registers them.
import { createViewerToken, VIEWER_TOKEN_JOBS_MAX, VIEWER_TOKEN_TTL_DEFAULT_SECONDS, VIEWER_TOKEN_TTL_MAX_SECONDS, type ViewerToken } from '../../auth/viewer-tokens.ts';
import { visibleTenant } from '../../auth/principal.ts';
import { JobNotFoundError, ValidationError } from '../../core/errors.ts';
import { builder } from '../builder.ts';
import { parseJobId } from '../jobs/types.ts';
import { readStreamChunks, STREAM_NAME, streamWatchers, type JobStreamChunk } from '../../jobs/job-streams.ts';
import { viewerReadable } from '../viewer.ts';
import { tailBySequence } from './tail.ts';
import './logs.ts';

const CreateViewerTokenInput = builder.inputType('CreateViewerTokenInput', {
  fields: (t) => ({
    jobIds: t.idList({ required: false, description: `The jobs it may read (global IDs or UUIDs), 1 to ${VIEWER_TOKEN_JOBS_MAX}, of the caller's tenant. Give this or \`tag\`.` }),
    tag: t.string({
      required: false,
      description: "Or: it reads the caller's tenant's jobs that have this tag when they are read (a job tagged later included), and may list them with `jobs`.",
    }),
    expiresInSeconds: t.int({
      required: false,
      description: `Its life, 1 to ${VIEWER_TOKEN_TTL_MAX_SECONDS} seconds. Default ${VIEWER_TOKEN_TTL_DEFAULT_SECONDS}.`,
    }),
  }),
});

export const ViewerTokenRef = builder.objectRef<ViewerToken>('ViewerToken').implement({
  description:
    'A token for an end user\'s browser: with it, `job(id)` and the subscriptions jobUpdated, jobEvents, jobStream and jobLogs answer for its jobs only (a tag token: also `jobs`, listing its tag\'s jobs); everything else answers as without a token. It cannot be revoked: keep it short-lived.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Send as `Authorization: Bearer <token>`, or in graphql-ws connection_init as { authorization: "Bearer <token>" }.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'When it stops working; its open websockets close then (4401 "token expired").' }),
    jobIds: t.stringList({ description: 'UUIDs of the jobs it reads; [] for a tag token.', resolve: (token) => token.jobIds }),
    tag: t.string({ nullable: true, description: "A tag token's tag: it reads the jobs that have it when they are read. Null for a token of given jobs.", resolve: (token) => token.tag }),
  }),
});

builder.mutationField('createViewerToken', (t) =>
  t.field({
    type: ViewerTokenRef,
    description: "Mints a short-lived token that reads the given jobs of the caller's tenant (or its jobs with a tag) and nothing else, to hand to an end user's browser.",
    errors: { types: [ValidationError, JobNotFoundError], directResult: false },
    args: { input: t.arg({ type: CreateViewerTokenInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      createViewerToken(
        ctx.pool,
        visibleTenant(ctx.caller),
        ctx.caller.principalId,
        {
          jobIds: input.jobIds?.map((id, index) => parseJobId(String(id), `jobIds.${index}`)),
          tag: input.tag,
          expiresInSeconds: input.expiresInSeconds,
        },
        // An admin's tag token reads its own tenant's jobs.
        ctx.caller.tenantId,
      ),
  }),
);

const JobStreamChunkRef = builder.objectRef<JobStreamChunk>('JobStreamChunk').implement({
  description: "One chunk a job's handler wrote to an output stream (ctx.stream(name).write(chunk)).",
  fields: (t) => ({
    streamName: t.exposeString('streamName'),
    sequence: t.exposeInt('sequence', { description: 'From 1, per job and stream, without gaps: pass the last one you have as `after` to resume.' }),
    chunk: t.field({ type: 'JSON', description: 'What the handler wrote: a string or any JSON value.', resolve: (chunk) => chunk.chunk }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.subscriptionField('jobStream', (t) =>
  t.field({
    ...viewerReadable((args) => [args.jobId]),
    type: JobStreamChunkRef,
    description:
      "The chunks of one output stream of a job, in order: those stored after `after` (a sequence; default 0, from the start), then live ones as they are written. None missed, none twice, across reconnects when `after` is the last sequence received.",
    args: {
      jobId: t.arg.id({ required: true }),
      name: t.arg.string({ required: true, description: 'The stream\'s name, as the handler wrote it.' }),
      after: t.arg.int({ required: false }),
    },
    subscribe: (_root, args, ctx) => {
      const jobId = parseJobId(String(args.jobId), 'jobId');
      if (!STREAM_NAME.test(args.name)) throw new ValidationError('name', `must be 1-64 of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(args.name)}`);
      const after = args.after ?? 0;
      if (after < 0) throw new ValidationError('after', `must be 0 or a sequence received, got ${after}`);
      return tailBySequence<JobStreamChunk>({
        after,
        // Another tenant's job, or (for a viewer) one outside its token, is a missing one.
        check: async () => {
          if ((await ctx.prisma.job.count({ where: { id: jobId } })) === 0) throw new JobNotFoundError(jobId);
        },
        watch: (notify) => streamWatchers(ctx.listener).watch(jobId, args.name, notify),
        read: (last, limit) => readStreamChunks(ctx.pool, jobId, args.name, last, limit),
      });
    },
    resolve: (chunk: JobStreamChunk) => chunk,
  }),
);
