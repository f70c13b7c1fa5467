// Real question/answer files in three languages (MGSM, test/fixtures/README.md)
// imported end to end: every pair stored byte for byte, with the counts the
// files hold.
import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { uuidOf } from '../../src/testing/global-id.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createdImport, uploadImport } from '../support/imports.ts';
import { ImportJobUpdated } from '../support/operations-imports.ts';

let db: TestDatabase;
let service: TestApp;
beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url);
});

/** The questions as the file holds them, read without the import parsers. */
const QUESTIONS: Record<string, (text: string) => string[]> = {
  'mgsm_de.csv': (text) => text.split('\r\n').slice(1, -1).map((line) => /^"?(.*?)"?,\d+,mgsm;de$/.exec(line)![1]!.replaceAll('""', '"')),
  'mgsm_fr.jsonl': (text) => text.trim().split('\n').map((line) => JSON.parse(line).question as string),
  'mgsm_zh.txt': (text) => [...text.matchAll(/^Q: (.*)$/gm)].map((m) => m[1]!),
};

it.each(Object.keys(QUESTIONS))('%s: every pair of the file stored, byte for byte', async (name) => {
  const content = readFileSync(`test/fixtures/qa/${name}`, 'utf8');
  const questions = QUESTIONS[name]!(content);
  expect(questions).toHaveLength(50);
  const job = createdImport(await uploadImport(service.client, { name, content }));
  const updates = service.client.subscribe(ImportJobUpdated, { id: job.id });
  const seen = await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'), 60_000);
  expect(seen.at(-1)!.jobUpdated).toMatchObject({ rowCount: 50, processedRowCount: 50, successCount: 50, errorCount: 0 });
  const jobId = uuidOf(job.id);
  const { rows } = await db.pool.query<{ question: string }>('select question from qa_pair where import_job_id = $1 order by import_row', [jobId]);
  expect(rows.map((r) => r.question)).toEqual(questions);
});
