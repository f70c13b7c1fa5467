// The duplicate policy chosen per import: the similarity threshold and what a
// near duplicate does (REJECT: an error naming the pair and the similarity;
// FLAG: stored, marked with both). Exact duplicates are never stored twice.
import { beforeAll, expect, it } from 'vitest';
import { randomQuestion, seededRandom } from '../../src/testing/qa-pairs.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createdImport, postImport, toCsv, uploadImport, type Pair } from '../support/imports.ts';
import { GetImportJob, ImportJobUpdated, QaPairs } from '../support/operations-imports.ts';

let db: TestDatabase;
let service: TestApp;
beforeAll(async () => {
  db = await createTestDatabase();
  service = await startTestApp(db.url);
});

const pair = (question: string): Pair => ({ question, answer: 'an answer', tags: [] });
// Two distinct GSM8K test problems (#489 and #762) that share most of their words: similarity 0.837.
const A = "Jana has 27 puppies. Two thirds of Jana's puppies are Pomeranians. One third of the Pomeranians are girls. How many girl Pomeranians does Jana have?";
const B = "Two thirds of Jana's puppies are Pomeranians. One third of the Pomeranians are girls. If there are 6 Pomeranian girls, how many puppies does Jana have?";

async function importCsv(name: string, pairs: Pair[], duplicatePolicy?: { similarityThreshold?: number; action?: 'REJECT' | 'FLAG' }) {
  const job = createdImport(await uploadImport(service.client, { name, content: toCsv(pairs) }, duplicatePolicy ? { duplicatePolicy } : {}));
  const updates = service.client.subscribe(ImportJobUpdated, { id: job.id });
  await updates.waitFor('COMPLETED', (r) => r.some((u) => u.jobUpdated.status === 'COMPLETED'), 60_000);
  return (await service.client.request(GetImportJob, { id: job.id, errorsFirst: 100 })).importJob!;
}

it('the default (0.9) stores two distinct problems that share most words; 0.8 with REJECT rejects the second, naming the first', async () => {
  await db.pool.query('delete from qa_pair');
  const similarity = Number((await db.pool.query('select similarity(qa_normalise_question($1), qa_normalise_question($2)) as s', [A, B])).rows[0].s);
  expect(similarity).toBeGreaterThan(0.8);
  expect(similarity).toBeLessThan(0.9);

  const byDefault = await importCsv('default.csv', [pair(A), pair(B), pair(A.toUpperCase())]);
  expect(byDefault.duplicatePolicy).toEqual({ similarityThreshold: 0.9, action: 'REJECT' });
  expect(byDefault).toMatchObject({ successCount: 2, errorCount: 1 });
  expect(byDefault.errors.edges.map((e) => [e.node.row, e.node.similarity])).toEqual([[3, 1]]);

  await db.pool.query('delete from qa_pair');
  const strict = await importCsv('strict.csv', [pair(A), pair(B)], { similarityThreshold: 0.8 });
  expect(strict).toMatchObject({ successCount: 1, errorCount: 1 });
  const [error] = strict.errors.edges.map((e) => e.node);
  const stored = (await db.pool.query<{ id: string }>('select id from qa_pair where question = $1', [A])).rows[0]!;
  expect(error).toMatchObject({ type: 'DuplicateDetectedError', row: 2, line: 3, existingId: stored.id });
  expect(error!.similarity).toBeCloseTo(similarity, 5);
});

it('FLAG stores a near duplicate with the pair it resembles and the similarity, and still refuses an exact repeat', async () => {
  await db.pool.query('delete from qa_pair');
  const job = await importCsv('flag.csv', [pair(A), pair(B), pair(`  ${A}  `)], { similarityThreshold: 0.8, action: 'FLAG' });
  expect(job.duplicatePolicy).toEqual({ similarityThreshold: 0.8, action: 'FLAG' });
  expect(job).toMatchObject({ successCount: 2, errorCount: 1 });
  expect(job.errors.edges.map((e) => [e.node.row, e.node.type, e.node.similarity])).toEqual([[3, 'DuplicateDetectedError', 1]]);
  const pairs = (await service.client.request(QaPairs, { first: 10 })).qaPairs.edges.map((e) => e.node);
  const first = pairs.find((p) => p.question === A)!;
  const second = pairs.find((p) => p.question === B)!;
  expect(first).toMatchObject({ duplicateOfId: null, duplicateSimilarity: null });
  expect(second.duplicateOfId).toBe(first.id);
  expect(second.duplicateSimilarity).toBeGreaterThan(0.8);
});

it('refuses a threshold outside 0.5..1 with a ValidationError, storing nothing', async () => {
  const before = (await db.pool.query('select count(*)::int as n from import_job')).rows[0].n;
  for (const similarityThreshold of [0.4, 1.5]) {
    const { body } = await postImport(service.client, { name: 'x.csv', content: toCsv([pair(A)]) }, { duplicatePolicy: { similarityThreshold } });
    expect(body.data!.createImportJob).toEqual({
      __typename: 'ValidationError',
      field: 'duplicatePolicy.similarityThreshold',
      message: `duplicatePolicy.similarityThreshold: must be between 0.5 and 1 (got ${similarityThreshold})`,
    });
  }
  expect((await db.pool.query('select count(*)::int as n from import_job')).rows[0].n).toBe(before);
});

// Below 0.8, MinHash bands would miss some near duplicates (a pair at 0.6 shares
// a band with probability ~80%), so such imports look them up exactly: every
// row at or above the threshold is caught, against stored pairs and earlier rows.
it('a threshold below 0.8 catches every near duplicate at or above it, stored or earlier in the file', async () => {
  const random = seededRandom(7);
  const originals = Array.from({ length: 80 }, () => randomQuestion(random));
  // Two of seven words changed: similarity about 0.5-0.75.
  const variants = originals.map((q) => `${q.split(' ').slice(0, 5).join(' ')} ${randomQuestion(random).split(' ').slice(0, 2).join(' ')}`);
  const threshold = 0.55;
  const { rows } = await db.pool.query<{ s: number }>(
    'select similarity(qa_normalise_question(a), qa_normalise_question(b)) as s from unnest($1::text[], $2::text[]) as x(a, b)',
    [originals, variants],
  );
  const similar = rows.map((r, i) => ({ original: originals[i]!, variant: variants[i]!, similarity: r.s })).filter((p) => p.similarity >= threshold && p.similarity < 0.8);
  expect(similar.length).toBeGreaterThanOrEqual(30);

  await db.pool.query('delete from qa_pair');
  await importCsv('originals.csv', similar.map((p) => pair(p.original)));
  const againstStored = await importCsv('variants.csv', similar.map((p) => pair(p.variant)), { similarityThreshold: threshold });
  expect(againstStored).toMatchObject({ successCount: 0, errorCount: similar.length });
  const storedIds = new Map((await db.pool.query<{ id: string; question: string }>('select id, question from qa_pair')).rows.map((r) => [r.question, r.id]));
  expect(againstStored.errors.edges.map((e) => e.node.existingId)).toEqual(similar.map((p) => storedIds.get(p.original)));

  await db.pool.query('delete from qa_pair');
  const inFile = await importCsv('interleaved.csv', similar.flatMap((p) => [pair(p.original), pair(p.variant)]), { similarityThreshold: threshold });
  expect(inFile).toMatchObject({ successCount: similar.length, errorCount: similar.length });
  expect(inFile.errors.edges.map((e) => e.node.row)).toEqual(similar.map((_, i) => 2 * i + 2));
  inFile.errors.edges.forEach((e, i) => expect(e.node.similarity).toBeCloseTo(similar[i]!.similarity, 5));
});
