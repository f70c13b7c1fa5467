// A tiny fourth-party kind, used by test/kinds/fixture-kind.test.ts to show that
// a descriptor is all the service needs: nothing outside this folder (and its
// table, migration.sql) names it.
import { z } from 'zod';
import type { KindDescriptor } from '../../../src/kind-descriptor.ts';
import { createShoutHandler } from './handler.ts';
import { registerNoteSchema } from './schema.ts';

export const noteConfig = {
  /** What a shouted note ends with. */
  NOTE_SUFFIX: z.string().min(1).max(3, 'must be at most 3 characters').default('!'),
};

export const notesKind: KindDescriptor<typeof noteConfig> = {
  name: 'notes',
  // Its jobs are PLAIN ones: a JobKind value of its own would be a line in prisma/schema.prisma.
  jobKind: null,
  config: noteConfig,
  handlers: ({ config }) => [createShoutHandler(config.NOTE_SUFFIX)],
  registerSchema: registerNoteSchema,
  tenantModels: [],
};
