// The notes fixture kind's GraphQL: a Note type, note(jobId) and createNote(text).
import { builder } from '../../../src/graphql/builder.ts';
import { JobKind } from '../../../src/generated/prisma/enums.ts';
import { ValidationError } from '../../../src/core/errors.ts';
import { createKindJob } from '../../../src/jobs/create.ts';
import { parseJobId } from '../../../src/graphql/jobs/schema.ts';
import { SHOUT_JOB_TYPE } from './handler.ts';
import { NoteRepository, type Note } from './repository.ts';

export function registerNoteSchema(): void {
  const NoteRef = builder.objectRef<Note>('Note').implement({
    description: 'A note whose job shouts it (the notes fixture kind).',
    fields: (t) => ({
      jobId: t.exposeID('jobId'),
      text: t.exposeString('text'),
      shouted: t.exposeString('shouted', { nullable: true }),
    }),
  });

  builder.queryField('note', (t) =>
    t.field({
      type: NoteRef,
      nullable: true,
      args: { jobId: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => new NoteRepository(ctx.pool).findVisible(ctx.caller, parseJobId(String(args.jobId), 'jobId')),
    }),
  );

  builder.mutationField('createNote', (t) =>
    t.field({
      type: NoteRef,
      args: { text: t.arg.string({ required: true }) },
      resolve: async (_root, args, ctx) => {
        const text = args.text.trim();
        if (!text) throw new ValidationError('text', 'must not be empty');
        const { id } = await createKindJob(ctx, ctx.caller, { kind: JobKind.PLAIN, jobType: SHOUT_JOB_TYPE }, (client, job) =>
          new NoteRepository(client).insert(job.id, job.tenantId, text),
        );
        return (await new NoteRepository(ctx.pool).findVisible(ctx.caller, id))!;
      },
    }),
  );
}
