// Source types, their parsers, and telling them apart from the file's name and first bytes.
import { parseCsv } from './csv.ts';
import { parseJson } from './json.ts';
import { parseText } from './text.ts';
import type { Parser } from './types.ts';

export const SOURCE_TYPES = ['csv', 'json', 'text'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export const PARSERS: Readonly<Record<SourceType, Parser>> = { csv: parseCsv, json: parseJson, text: parseText };

const BY_EXTENSION: Record<string, SourceType> = {
  csv: 'csv',
  json: 'json',
  jsonl: 'json',
  ndjson: 'json',
  txt: 'text',
  text: 'text',
};

/** From the extension, else from the content's start; null when neither tells. */
export function detectSourceType(filename: string, head: string): SourceType | null {
  const extension = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase();
  if (extension && BY_EXTENSION[extension]) return BY_EXTENSION[extension];
  const start = head.replace(/^\uFEFF/, '').trimStart();
  if (start.startsWith('[') || start.startsWith('{')) return 'json';
  if (/^q:/i.test(start)) return 'text';
  const firstLine = start.split(/\r?\n|\r/, 1)[0]!.toLowerCase();
  if (firstLine.includes(',') && firstLine.includes('question')) return 'csv';
  return null;
}

export type { Parser, RawPair, SourceRecord } from './types.ts';
export { UnreadableFileError } from './types.ts';
