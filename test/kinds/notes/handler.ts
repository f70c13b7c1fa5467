// notes.shout: writes the note's text in capitals, with the configured suffix.
import { EMPTY_PAYLOAD, NonRetriableError, type JobHandler } from '../../../src/core/handler.ts';
import { NoteRepository } from './repository.ts';

export const SHOUT_JOB_TYPE = 'notes.shout';

export function createShoutHandler(suffix: string): JobHandler<Record<string, never>> {
  return {
    jobType: SHOUT_JOB_TYPE,
    description: 'Shouts a note (the notes fixture kind).',
    payload: EMPTY_PAYLOAD,
    async handle(job, ctx) {
      const notes = new NoteRepository(ctx.db);
      const note = await notes.findById(job.id);
      if (!note) throw new NonRetriableError(`job ${job.id} has no note row`);
      const shouted = `${note.text.toUpperCase()}${suffix}`;
      await notes.saveShouted(job.id, shouted);
      return { success: true, resultData: { shouted } };
    },
  };
}
