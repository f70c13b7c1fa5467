// JSON: an array of objects, or JSON Lines (one object per line); the first
// character that is not white space tells which. Streamed: the array is split
// into its elements by a small scanner (strings, escapes and nesting), and
// each element is parsed on its own, so one malformed element is a ParseError
// for that row and the elements after it are read on; the scanner also gives
// each element's line. (A JSON streaming library would parse the whole file
// but not say where an element starts, nor recover after a broken one.)
import { ParseError } from '../errors.ts';
import { readLines } from './lines.ts';
import { UnreadableFileError, type RawPair, type SourceRecord } from './types.ts';

/** An element parsed on its own: a pair, or why it is not one. */
function pairFrom(text: string, line: number): { pair: RawPair } | { error: ParseError } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: new ParseError(line, `invalid JSON: ${(error as Error).message}`, text) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: new ParseError(line, `expected an object with question and answer, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`, text) };
  }
  const object = value as Record<string, unknown>;
  return { pair: { question: object.question, answer: object.answer, tags: object.tags } };
}

export async function* parseJson(text: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  const iterator = text[Symbol.asyncIterator]();
  // Find the first significant character, keeping what was read.
  const head: string[] = [];
  let first: string | undefined;
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    head.push(next.value);
    first = /\S/.exec(next.value)?.[0];
    if (first) break;
  }
  async function* replay() {
    yield* head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  if (first === '[') yield* parseArray(replay());
  else if (first === '{') yield* parseJsonLines(replay());
  else throw new UnreadableFileError(`a JSON import must be an array of objects or JSON Lines (one object per line); it starts with ${first ? JSON.stringify(first) : 'nothing'}`);
}

async function* parseJsonLines(text: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  let row = 0;
  for await (const line of readLines(text)) {
    if (line.text.trim() === '') continue;
    yield { row: ++row, line: line.number, ...pairFrom(line.text, line.number) };
  }
}

async function* parseArray(text: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  let line = 1;
  let row = 0;
  /** 0: before the array; 1: inside it, between elements; 2: after it. */
  let stage = 0;
  let depth = 0; // nesting within the current element
  let inString = false;
  let escaped = false;
  let element: string[] | null = null; // pieces of the current element
  let elementStart = 0; // its index in the current chunk
  let elementLine = 0;
  const records: SourceRecord[] = [];
  const finish = (chunk: string, end: number) => {
    element!.push(chunk.slice(elementStart, end));
    const source = element!.join('').trim();
    records.push({ row: ++row, line: elementLine, ...pairFrom(source, elementLine) });
    element = null;
  };

  for await (const chunk of text) {
    elementStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === '\n') line++;
      if (element) {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') {
          if (depth > 0) {
            depth--;
            if (depth === 0) finish(chunk, i + 1);
          } else {
            // The array's own ] after a bare value (number, true, ...).
            finish(chunk, i);
            stage = 2;
          }
        } else if (c === ',' && depth === 0) finish(chunk, i);
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
      if (stage === 0) {
        stage = 1; // the '[' (parseJson checked it)
      } else if (stage === 1) {
        if (c === ',') continue;
        if (c === ']') {
          stage = 2;
          continue;
        }
        element = [];
        elementStart = i;
        elementLine = line;
        inString = c === '"';
        depth = c === '{' || c === '[' ? 1 : 0;
      } else {
        records.push({ row: ++row, line, error: new ParseError(line, 'unexpected text after the end of the JSON array', chunk.slice(i, i + 100)) });
        stage = 3;
      }
      if (stage === 3) break;
    }
    if (element) {
      (element as string[]).push(chunk.slice(elementStart));
    }
    yield* records.splice(0);
    if (stage === 3) return;
  }
  if (element) {
    const source = (element as string[]).join('').trim();
    const unclosed = depth > 0 || inString;
    const error = new ParseError(elementLine, 'the file ends inside this element (it is not closed)', source);
    yield unclosed ? { row: ++row, line: elementLine, error } : { row: ++row, line: elementLine, ...pairFrom(source, elementLine) };
  }
  if (stage === 1 && !element) {
    yield { row: ++row, line, error: new ParseError(line, 'the JSON array is not closed (no ])', null) };
  }
}
