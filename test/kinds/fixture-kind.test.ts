// A kind added from outside src/ (test/kinds/notes: its handler, GraphQL type,
// settings and table) runs through its descriptor alone: the service is
// started with the built-in kinds plus it, and nothing else is changed.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/service-config.ts';
import { printSortedSchema } from '../../src/service-schema.ts';
import { defaultKinds } from '../../src/kinds.ts';
import { startTestApp, TEST_ENV, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { JobUpdated } from '../support/operations.ts';
import { notesKind } from './notes/index.ts';

const kinds = [...defaultKinds, notesKind];
let db: TestDatabase;
let service: TestApp;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(await readFile(new URL('./notes/migration.sql', import.meta.url), 'utf8'));
  service = await startTestApp(db.url, { kinds, env: { NOTE_SUFFIX: '!!' } });
});
afterAll(() => service.stop());

it('creates a job of the fixture kind, runs its handler, and reads its type through GraphQL', async () => {
  const created = await service.client.send<{ createNote: { jobId: string; text: string; shouted: string | null } }, undefined>(
    'mutation { createNote(text: "hello") { jobId text shouted } }',
  );
  expect(created.body.errors).toBeUndefined();
  const { jobId, text, shouted } = created.body.data!.createNote;
  expect({ text, shouted }).toEqual({ text: 'hello', shouted: null });

  const updates = service.client.subscribe(JobUpdated, { id: jobId });
  await updates.waitFor('the note job completes', (received) => received.some((update) => update.jobUpdated.status === 'COMPLETED'));

  const read = await service.client.send<{ note: { text: string; shouted: string }; job: { jobType: string; status: string; result: unknown } }, { id: string }>(
    'query ($id: ID!) { note(jobId: $id) { text shouted } job(id: $id) { jobType status result } }',
    { id: jobId },
  );
  expect(read.body.errors).toBeUndefined();
  expect(read.body.data).toEqual({
    note: { text: 'hello', shouted: 'HELLO!!' },
    job: { jobType: 'notes.shout', status: 'COMPLETED', result: { shouted: 'HELLO!!' } },
  });
  const { rows } = await db.pool.query('select tenant_id, shouted from note where job_id = $1', [jobId]);
  expect(rows).toEqual([{ tenant_id: 'default', shouted: 'HELLO!!' }]);
});

it('refuses bad input with an error naming the field, and creates nothing', async () => {
  const answer = await service.client.send('mutation { createNote(text: "  ") { jobId } }');
  expect(answer.body.errors?.map((error) => error.message)).toEqual([expect.stringContaining('text: must not be empty')]);
  const { rows } = await db.pool.query(`select count(*)::int as count from job where job_type = 'notes.shout'`);
  expect(rows[0].count).toBe(1);
});

it("validates the kind's settings with the rest of the configuration, naming the variable", () => {
  expect(() => loadConfig({ ...TEST_ENV, NOTE_SUFFIX: '!!!!' }, kinds)).toThrow(ConfigError);
  expect(() => loadConfig({ ...TEST_ENV, NOTE_SUFFIX: '!!!!' }, kinds)).toThrow(/NOTE_SUFFIX: must be at most 3 characters/);
  expect(loadConfig({ ...TEST_ENV }, kinds)).toMatchObject({ NOTE_SUFFIX: '!' });
});

it('leaves the built-in schema (schema.graphql) without it', () => {
  expect(printSortedSchema()).not.toMatch(/\bcreateNote\b|\btype Note\b/);
});
