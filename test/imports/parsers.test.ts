// The import parsers on their own: each record's row and line, what a bad
// record reports, and that none of it depends on where the stored file's text
// was cut into chunks (the worker reads it in 1 MiB parts).
import { describe, expect, it } from 'vitest';
import { newlineNormaliser } from '../../src/imports/file-store.ts';
import { detectSourceType, PARSERS, UnreadableFileError, type SourceRecord, type SourceType } from '../../src/imports/parsers/index.ts';

/** The text as the worker hands it to a parser: line ends normalised, cut into chunks of `size` characters. */
async function* chunks(text: string, size: number): AsyncGenerator<string> {
  const newlines = newlineNormaliser();
  for (let i = 0; i < text.length; i += size) {
    const piece = newlines.push(text.slice(i, i + size));
    if (piece) yield piece;
  }
  const rest = newlines.end();
  if (rest) yield rest;
}

async function parse(type: SourceType, text: string, size = text.length || 1): Promise<SourceRecord[]> {
  const records: SourceRecord[] = [];
  for await (const record of PARSERS[type](chunks(text, size))) records.push(record);
  return records;
}

/** A compact view: pairs as [row, line, question, answer, tags], errors as [row, line, message]. */
function summary(records: SourceRecord[]) {
  return records.map((r) => (r.error ? { row: r.row, line: r.line, error: r.error.message } : { row: r.row, line: r.line, ...r.pair }));
}

/** Parses whole and in chunks of 1, 2, 3, 5 and 7 characters: every way gives the same records. */
async function parseEveryWay(type: SourceType, text: string) {
  const whole = summary(await parse(type, text));
  for (const size of [1, 2, 3, 5, 7]) expect(summary(await parse(type, text, size)), `chunks of ${size}`).toEqual(whole);
  return whole;
}

describe('CSV', () => {
  it('reads RFC 4180: quoted fields with commas, doubled quotes and line breaks, CRLF, a BOM, any header case and order', async () => {
    const csv =
      '\uFEFFTags,ANSWER,Question,notes\r\n' +
      'a;b,"Yes, it is.",Is it?,ignored\r\n' +
      ',"She said ""hi""\r\nthen left",What happened?,\r\n' +
      '\r\n' +
      'x,  plain  ,Ünïcödé — ok?,\r\n';
    expect(await parseEveryWay('csv', csv)).toEqual([
      { row: 1, line: 2, question: 'Is it?', answer: 'Yes, it is.', tags: ['a', 'b'] },
      { row: 2, line: 3, question: 'What happened?', answer: 'She said "hi"\nthen left', tags: [] },
      { row: 3, line: 6, question: 'Ünïcödé — ok?', answer: '  plain  ', tags: ['x'] },
    ]);
  });

  it('reports a row with the wrong number of fields, with its line and text, and reads on', async () => {
    const csv = 'question,answer\nq1,a1\nq2,a2,extra\n"q3\nstill q3",a3\nq4\nq5,a5\n';
    const records = await parseEveryWay('csv', csv);
    expect(records).toEqual([
      { row: 1, line: 2, question: 'q1', answer: 'a1', tags: [] },
      { row: 2, line: 3, error: 'expected 2 fields as in the header, got 3' },
      { row: 3, line: 4, question: 'q3\nstill q3', answer: 'a3', tags: [] },
      { row: 4, line: 6, error: 'expected 2 fields as in the header, got 1' },
      { row: 5, line: 7, question: 'q5', answer: 'a5', tags: [] },
    ]);
    const [, bad] = await parse('csv', csv);
    expect(bad!.error!.rawData).toBe('q2,a2,extra');
  });

  it('reports a quote inside an unquoted field as a bad row and reads on', async () => {
    const records = await parseEveryWay('csv', 'question,answer\nq1,a1\nq"2,a2\nq3,a3\n');
    expect(records.map((r) => [r.row, r.line, 'error' in r])).toEqual([
      [1, 2, false],
      [2, 3, true],
      [3, 4, false],
    ]);
  });

  it('reports every kind of quote error once, on the line its record starts on', async () => {
    // An unclosed quote runs to the end of the file: the parser notices it at
    // the last line, but the record starts at line 5 (after a blank line).
    const unclosed = await parseEveryWay('csv', 'question,answer\nq1,a1\nq2,a2\n\n"q3 never closed,a3\nq4,a4\nq5,a5\n');
    expect(unclosed).toEqual([
      { row: 1, line: 2, question: 'q1', answer: 'a1', tags: [] },
      { row: 2, line: 3, question: 'q2', answer: 'a2', tags: [] },
      { row: 3, line: 5, error: expect.stringMatching(/Quote Not Closed/) },
    ]);
    // A quote opening inside a field, and text after a closing quote (csv-parse
    // then keeps the quote open: the rest of the file is that one bad record), each reported once.
    const quotes = await parseEveryWay('csv', 'question,answer\nq "bad" quote,a1\n"ok\nmulti",a2\nq3,a3\nq4,"a4"x\nq5,a5\n');
    expect(quotes.map((r) => [r.row, r.line, 'error' in r ? (r.error as string).split(':')[0] : r.question])).toEqual([
      [1, 2, 'Invalid Opening Quote'],
      [2, 3, 'ok\nmulti'],
      [3, 5, 'q3'],
      [4, 6, 'Invalid Closing Quote'],
    ]);
  });

  it('refuses a header without the required columns, naming what is missing', async () => {
    await expect(parse('csv', 'Question,Reply\nq,a\n')).rejects.toThrow(UnreadableFileError);
    await expect(parse('csv', 'Question,Reply\nq,a\n')).rejects.toThrow(/missing answer; found: "Question", "Reply"/);
    await expect(parse('csv', 'question,answer,question\n')).rejects.toThrow(/names the column "question" twice/);
    await expect(parse('csv', '')).rejects.toThrow(/no header row/);
  });
});

describe('JSON', () => {
  it('reads an array whose elements span lines, nest, and hold brackets and escaped quotes in strings', async () => {
    const json = [
      '[',
      '  {"question": "One?", "answer": "1"},',
      '  {',
      '    "question": "Two [or } more]?",',
      '    "answer": "say \\"two\\", {not} [three]",',
      '    "tags": ["a", "b"],',
      '    "meta": {"nested": [1, {"deep": true}]}',
      '  }, {"question": "Three?", "answer": "3"}',
      ']',
    ].join('\n');
    expect(await parseEveryWay('json', json)).toEqual([
      { row: 1, line: 2, question: 'One?', answer: '1', tags: undefined },
      { row: 2, line: 3, question: 'Two [or } more]?', answer: 'say "two", {not} [three]', tags: ['a', 'b'] },
      { row: 3, line: 8, question: 'Three?', answer: '3', tags: undefined },
    ]);
  });

  it('reports a malformed element and an element that is not an object with their lines, and reads on', async () => {
    const json = '[\n{"question": "a?", "answer": "a"},\n{"question": "b?" "answer": "b"},\n42,\n["c"],\n{"question": "d?", "answer": "d"}\n]\n';
    const records = await parseEveryWay('json', json);
    expect(records.map((r) => ('error' in r ? [r.row, r.line, r.error] : [r.row, r.line, r.question]))).toEqual([
      [1, 2, 'a?'],
      [2, 3, expect.stringMatching(/^invalid JSON/)],
      [3, 4, 'expected an object with question and answer, got number'],
      [4, 5, 'expected an object with question and answer, got an array'],
      [5, 6, 'd?'],
    ]);
  });

  it('reports an element broken on its third line at the line the element starts on', async () => {
    const json = '[\n{"question": "a?", "answer": "a"},\n{\n  "question": "b?",\n  "answer": "b" oops\n},\n{"question": "c?", "answer": "c"}\n]\n';
    expect((await parseEveryWay('json', json)).map((r) => [r.row, r.line, 'error' in r])).toEqual([
      [1, 2, false],
      [2, 3, true],
      [3, 7, false],
    ]);
  });

  it('reports an array that is not closed, and text after the array', async () => {
    expect(summary(await parse('json', '[\n{"question": "a?", "answer": "a"}\n'))).toEqual([
      { row: 1, line: 2, question: 'a?', answer: 'a', tags: undefined },
      { row: 2, line: 3, error: 'the JSON array is not closed (no ])' },
    ]);
    expect(summary(await parse('json', '[\n{"question": "a?", "answer": "a"}\n] trailing'))).toEqual([
      { row: 1, line: 2, question: 'a?', answer: 'a', tags: undefined },
      { row: 2, line: 3, error: 'unexpected text after the end of the JSON array' },
    ]);
    expect(summary(await parse('json', '[\n{"question": "a?", "answer": "unterminated\n'))).toEqual([
      { row: 1, line: 2, error: 'the file ends inside this element (it is not closed)' },
    ]);
  });

  it('reads JSON Lines, skipping blank lines, each record on its own line', async () => {
    const lines = '{"question": "a?", "answer": "a"}\n\n{"question": "b?", "answer": "b", "tags": ["t"]}\n{broken\n{"question": "c?", "answer": "c"}';
    expect(await parseEveryWay('json', lines)).toEqual([
      { row: 1, line: 1, question: 'a?', answer: 'a', tags: undefined },
      { row: 2, line: 3, question: 'b?', answer: 'b', tags: ['t'] },
      { row: 3, line: 4, error: expect.stringMatching(/^invalid JSON/) },
      { row: 4, line: 5, question: 'c?', answer: 'c', tags: undefined },
    ]);
  });

  it('reports a JSON Lines line that is not an object on its own line', async () => {
    const lines = '{"question": "a?", "answer": "a"}\n\n\n[1, 2]\n"text"\n{"question": "b?", "answer": "b"}\n';
    expect(await parseEveryWay('json', lines)).toEqual([
      { row: 1, line: 1, question: 'a?', answer: 'a', tags: undefined },
      { row: 2, line: 4, error: 'expected an object with question and answer, got an array' },
      { row: 3, line: 5, error: 'expected an object with question and answer, got string' },
      { row: 4, line: 6, question: 'b?', answer: 'b', tags: undefined },
    ]);
  });

  it('refuses JSON that is neither an array nor JSON Lines', async () => {
    await expect(parse('json', '  "just a string"')).rejects.toThrow(/array of objects or JSON Lines.*starts with "\\""/);
    await expect(parse('json', '')).rejects.toThrow(/starts with nothing/);
  });
});

describe('text', () => {
  it('reads Q:/A:/Tags: blocks separated by blank lines, with multi-line questions and answers, markers in any case', async () => {
    const text = 'Q: What is it?\nA: A job system,\non Postgres.\nTags: jobs, postgres\n\n\nq: Two\nlines?\na:Yes\r\n\r\nQ: Last?\nA: Last.';
    expect(await parseEveryWay('text', text)).toEqual([
      { row: 1, line: 1, question: 'What is it?', answer: 'A job system,\non Postgres.', tags: ['jobs', 'postgres'] },
      { row: 2, line: 7, question: 'Two\nlines?', answer: 'Yes', tags: [] },
      { row: 3, line: 11, question: 'Last?', answer: 'Last.', tags: [] },
    ]);
  });

  it('reports a block without A:, with text before Q:, or with a second Q:, at the block’s first line', async () => {
    const text = 'Q: fine?\nA: yes\n\nQ: no answer?\n\nnotes first\nQ: x?\nA: y\n\nQ: one?\nQ: two?\nA: z\n\nQ: after?\nA: ok\n';
    expect(await parseEveryWay('text', text)).toEqual([
      { row: 1, line: 1, question: 'fine?', answer: 'yes', tags: [] },
      { row: 2, line: 4, error: 'the block has no "A:" line' },
      { row: 3, line: 6, error: 'a block must start with "Q:"' },
      { row: 4, line: 10, error: 'line 11 starts a second Q: in this block' },
      { row: 5, line: 14, question: 'after?', answer: 'ok', tags: [] },
    ]);
  });
});

describe('detectSourceType', () => {
  it('goes by the extension first, then by the content', () => {
    expect(detectSourceType('pairs.CSV', '[')).toBe('csv');
    expect(detectSourceType('pairs.jsonl', '')).toBe('json');
    expect(detectSourceType('pairs.ndjson', '')).toBe('json');
    expect(detectSourceType('notes.txt', '')).toBe('text');
    expect(detectSourceType('upload', '\uFEFF  [{"question": 1}]')).toBe('json');
    expect(detectSourceType('upload', '{"question": "a"}\n')).toBe('json');
    expect(detectSourceType('upload', 'q: what?\na: that')).toBe('text');
    expect(detectSourceType('upload', 'Question,Answer\nq,a')).toBe('csv');
    expect(detectSourceType('upload', 'hello there')).toBeNull();
    expect(detectSourceType('picture.png', 'hello there')).toBeNull();
  });
});
