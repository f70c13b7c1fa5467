// Text: blocks separated by blank lines, each a question and its answer:
//
//   Q: What is jobwire?
//   A: Background jobs on Postgres,
//   with a live GraphQL API.
//   Tags: jobs, postgres
//
// `Q:` starts the question and `A:` the answer (either may run over several
// lines: a line without a marker continues the one before); `Tags:` is
// optional (commas or semicolons). Markers are case-insensitive. A block
// without both Q: and A:, or with text before its Q:, is a ParseError.
import { ParseError } from '../errors.ts';
import { readLines, type Line } from './lines.ts';
import { splitTags, type SourceRecord } from './types.ts';

const MARKER = /^(q|a|tags):[ \t]?(.*)$/i;
type Field = 'q' | 'a' | 'tags';

function recordOf(block: Line[], row: number): SourceRecord {
  const line = block[0]!.number;
  const raw = block.map((l) => l.text).join('\n');
  const fail = (message: string) => ({ row, line, error: new ParseError(line, message, raw) });
  const fields = new Map<Field, string[]>();
  let current: Field | null = null;
  for (const { number, text } of block) {
    const marker = MARKER.exec(text);
    if (marker) {
      current = marker[1]!.toLowerCase() as Field;
      if (fields.has(current)) return fail(`line ${number} starts a second ${marker[1]}: in this block`);
      fields.set(current, [marker[2]!]);
    } else if (current) fields.get(current)!.push(text);
    else return fail('a block must start with "Q:"');
  }
  if (!fields.has('q')) return fail('the block has no "Q:" line');
  if (!fields.has('a')) return fail('the block has no "A:" line');
  const joined = (field: Field) => fields.get(field)?.join('\n');
  return { row, line, pair: { question: joined('q'), answer: joined('a'), tags: splitTags(joined('tags')) } };
}

export async function* parseText(text: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  let block: Line[] = [];
  let row = 0;
  for await (const line of readLines(text)) {
    if (line.text.trim() !== '') {
      block.push(line);
      continue;
    }
    if (block.length > 0) yield recordOf(block, ++row);
    block = [];
  }
  if (block.length > 0) yield recordOf(block, ++row);
}
