// CSV (RFC 4180) with csv-parse: quoted fields, embedded newlines and quotes,
// BOM, CRLF. The header names `question`, `answer` and optionally `tags`, in
// any case and order; other columns are ignored. A row with the wrong number
// of fields, or a quote where none may be, is a ParseError and the rows after
// it are read on. (An unterminated quoted field runs on, as RFC 4180 says,
// until the next quote: the rows it swallows are reported as one bad row, on
// the line where that record starts.)
import { Readable, pipeline } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import { ParseError } from '../errors.ts';
import { splitTags, UnreadableFileError, type SourceRecord } from './types.ts';

const REQUIRED = ['question', 'answer'] as const;

interface Skipped {
  line: number;
  error: ParseError;
}

const newlinesIn = (text: string) => {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
};

export async function* parseCsv(text: AsyncIterable<string>): AsyncGenerator<SourceRecord> {
  const parser = parse({
    bom: true,
    info: true,
    raw: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
  });
  // Skipped records arrive as events, possibly ahead of records still
  // buffered: each waits for the first record that starts after it.
  const skipped: Skipped[] = [];
  parser.on('skip', (error: CsvError & { lines?: number; raw?: string }) => {
    // error.lines is where the parser noticed the problem (for an unclosed
    // quote, the end of the file); the record starts as many lines before as
    // its raw text has line breaks. One broken record can raise several
    // errors (e.g. a bad closing quote, then the quote left open): report it once.
    const body = (error.raw ?? '').replace(/^\n+/, '').replace(/\n$/, '');
    const line = Math.max(1, (error.lines ?? 1) - newlinesIn(body));
    if (skipped.at(-1)?.line === line) return;
    skipped.push({ line, error: new ParseError(line, error.message, body || null) });
  });
  pipeline(Readable.from(text), parser, () => undefined);

  let columns: Map<string, number> | null = null;
  let width = 0;
  let row = 0;
  function* skippedBefore(line: number): Generator<SourceRecord> {
    while (skipped.length > 0 && skipped[0]!.line < line) {
      const { line: at, error } = skipped.shift()!;
      if (!columns) throw new UnreadableFileError(`the CSV header (line ${at}) cannot be read: ${error.message}`);
      yield { row: ++row, line: at, error };
    }
  }

  for await (const { record, info, raw } of parser as AsyncIterable<{ record: string[]; info: { lines: number }; raw: string }>) {
    // raw also holds the empty lines skipped before the record, and its line end.
    const body = raw.replace(/^\n+/, '').replace(/\n$/, '');
    const line = info.lines - newlinesIn(body);
    yield* skippedBefore(line);
    if (!columns) {
      columns = headerColumns(record, line);
      width = record.length;
      continue;
    }
    if (record.length !== width) {
      yield { row: ++row, line, error: new ParseError(line, `expected ${width} fields as in the header, got ${record.length}`, body) };
      continue;
    }
    const field = (name: string) => (columns!.has(name) ? record[columns!.get(name)!] : undefined);
    yield { row: ++row, line, pair: { question: field('question'), answer: field('answer'), tags: splitTags(field('tags')) } };
  }
  yield* skippedBefore(Number.POSITIVE_INFINITY);
  if (!columns) throw new UnreadableFileError('the CSV file has no header row (question, answer and optionally tags)');
}

function headerColumns(record: string[], line: number): Map<string, number> {
  const columns = new Map<string, number>();
  record.forEach((name, index) => {
    const key = name.trim().toLowerCase();
    if (columns.has(key) && key !== '') throw new UnreadableFileError(`the CSV header (line ${line}) names the column "${key}" twice`);
    columns.set(key, index);
  });
  const missing = REQUIRED.filter((name) => !columns.has(name));
  if (missing.length > 0) {
    throw new UnreadableFileError(
      `the CSV header (line ${line}) must name the columns question and answer (optionally tags), in any order; ` +
        `missing ${missing.join(' and ')}; found: ${record.map((name) => JSON.stringify(name)).join(', ').slice(0, 200)}`,
    );
  }
  return columns;
}
