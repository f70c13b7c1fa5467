// Generated question/answer pairs for the import tests and benchmark: the same
// on every run, unlike each other except where a near duplicate is made on purpose.

/** A small deterministic random source, so generated files are the same on every run. */
export function seededRandom(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

/**
 * Questions of seven made-up words of random letters: two of them share few
 * trigrams, so only the near duplicates a test writes on purpose are similar.
 */
export function randomQuestion(random: () => number): string {
  const word = () => Array.from({ length: 4 + Math.floor(random() * 4) }, () => LETTERS[Math.floor(random() * LETTERS.length)]).join('');
  return `${Array.from({ length: 7 }, word).join(' ')}?`;
}

/** A question that pg_trgm finds similar (about 0.85) but not equal after normalising. */
export function nearDuplicateOf(question: string): string {
  return question.replace(/\?$/, ' zo?');
}
