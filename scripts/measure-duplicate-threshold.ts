// The measurement behind IMPORT_SIMILARITY_THRESHOLD's default: on the 1,319
// GSM8K test questions (test/fixtures/qa/gsm8k_test.jsonl: distinct math word
// problems, many sharing most of their words), how many distinct questions
// each threshold would reject (a question at least that similar to an earlier
// one of the file), and how many true duplicates it catches: each question
// retyped three ways that keep it the same question (one typo; commas and the
// question mark left out; one short word left out), compared with its
// original. pg_trgm similarity() in a real Postgres (embedded).
//   npx tsx scripts/measure-duplicate-threshold.ts
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { startBenchServer } from '../bench/support.ts';
import { seededRandom } from '../src/testing/qa-pairs.ts';

const THRESHOLDS = [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];
const questions = readFileSync('test/fixtures/qa/gsm8k_test.jsonl', 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line).question as string);

const random = seededRandom(7);
const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
/** Two adjacent letters of one word of four or more letters swapped. */
function typo(question: string): string {
  const words = question.split(' ');
  const candidates = words.map((w, i) => [w, i] as const).filter(([w]) => /^[a-z]{4,}$/i.test(w));
  if (candidates.length === 0) return question;
  const [word, index] = pick(candidates);
  const at = 1 + Math.floor(random() * (word.length - 2));
  words[index] = word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2);
  return words.join(' ');
}
const withoutPunctuation = (question: string) => question.replace(/[,?]/g, '');
function wordDropped(question: string): string {
  const words = question.split(' ');
  const small = words.map((w, i) => [w, i] as const).filter(([w]) => /^(the|a|an|of|to|and|in|for|on|at)$/i.test(w));
  if (small.length === 0) return question;
  const [, index] = pick(small);
  return [...words.slice(0, index), ...words.slice(index + 1)].join(' ');
}
const EDITS = { 'one typo': typo, 'no commas or ?': withoutPunctuation, 'a short word left out': wordDropped };

const server = await startBenchServer();
const db = new pg.Client({ connectionString: await server.database('measure_duplicates') });
await db.connect();
try {
  await db.query('create temporary table q (n int primary key, question text)');
  await db.query('insert into q select n, qa_normalise_question(question) from unnest($1::text[]) with ordinality as x(question, n)', [questions]);
  // Per question, its greatest similarity to an earlier question of the file.
  const { rows: nearest } = await db.query<{ n: number; best: number; earlier: number | null }>(
    `select a.n, coalesce(m.best, 0) as best, m.earlier
       from q a left join lateral (
         select similarity(a.question, b.question) as best, b.n as earlier from q b where b.n < a.n
          order by 1 desc limit 1) m on true`,
  );
  const pairs = Object.entries(EDITS).flatMap(([edit, change]) => questions.map((question) => ({ edit, question, duplicate: change(question) })));
  const { rows: duplicates } = await db.query<{ edit: string; similarity: number }>(
    `select x.edit, similarity(qa_normalise_question(x.question), qa_normalise_question(x.duplicate)) as similarity
       from jsonb_to_recordset($1::jsonb) as x(edit text, question text, duplicate text)`,
    [JSON.stringify(pairs)],
  );
  console.log(`${questions.length} distinct GSM8K test questions; ${duplicates.length} true duplicates (${Object.keys(EDITS).join(', ')})\n`);
  console.log('distinct questions at least 0.8 similar to an earlier one:');
  for (const r of nearest.filter((r) => r.best >= 0.8)) {
    console.log(`  ${r.best.toFixed(3)}  #${r.n} ${JSON.stringify(questions[r.n - 1])}\n         #${r.earlier} ${JSON.stringify(questions[r.earlier! - 1])}`);
  }
  console.table(
    THRESHOLDS.map((t) => {
      const row: Record<string, string | number> = {
        threshold: t,
        'distinct questions rejected': nearest.filter((r) => r.best >= t).length,
        'true duplicates caught': `${duplicates.filter((d) => d.similarity >= t).length} of ${duplicates.length}`,
      };
      for (const edit of Object.keys(EDITS)) {
        const ofEdit = duplicates.filter((d) => d.edit === edit);
        row[edit] = `${ofEdit.filter((d) => d.similarity >= t).length}`;
      }
      return row;
    }),
  );
} finally {
  await db.end();
  await server.stop();
}
