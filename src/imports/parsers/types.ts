// What every parser yields: one SourceRecord per record of the file, in file
// order, numbered by row (1-based, a CSV header is not a row) and located by
// the line it starts on. A record that cannot be read carries a ParseError;
// the import goes on. A file that cannot be read at all (a CSV header without
// the required columns, JSON that is neither an array nor JSON Lines) throws
// UnreadableFileError.
import { ImportError, type ParseError } from '../errors.ts';

/** The fields of one record as read, not yet validated (JSON values can be of any type). */
export interface RawPair {
  question: unknown;
  answer: unknown;
  /** CSV and text tags are split into a list here; JSON gives what the file has. */
  tags: unknown;
}

export type SourceRecord = { row: number; line: number } & ({ pair: RawPair; error?: undefined } | { error: ParseError; pair?: undefined });

export type Parser = (text: AsyncIterable<string>) => AsyncGenerator<SourceRecord>;

export class UnreadableFileError extends ImportError {
  override name = 'UnreadableFileError';
}

/** Tags written as one string in CSV and text files: separated by commas or semicolons. */
export function splitTags(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(/[,;]/)
    .map((tag) => tag.trim())
    .filter((tag) => tag !== '');
}
