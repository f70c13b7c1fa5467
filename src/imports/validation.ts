// Rules for one pair, whatever the file's format: question and answer are
// required text within length limits; tags are a list of short strings.
// Values are stored trimmed.
import { ImportValidationError } from './errors.ts';
import type { RawPair } from './parsers/index.ts';

export const QUESTION_MAX_LENGTH = 1000;
export const ANSWER_MAX_LENGTH = 10_000;
export const TAGS_MAX = 20;
export const TAG_MAX_LENGTH = 50;

export interface QaPairInput {
  question: string;
  answer: string;
  tags: string[];
}

function requiredText(row: number, field: string, value: unknown, max: number): string {
  if (value === undefined || value === null) throw new ImportValidationError(row, field, `${field} is required`);
  if (typeof value !== 'string') throw new ImportValidationError(row, field, `${field} must be a string, got ${typeof value}`);
  const text = value.trim();
  if (text === '') throw new ImportValidationError(row, field, `${field} is required (it is empty)`);
  if (text.length > max) throw new ImportValidationError(row, field, `${field} must be at most ${max} characters (got ${text.length})`);
  return text;
}

function tagList(row: number, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ImportValidationError(row, 'tags', `tags must be a list of strings, got ${typeof value}`);
  if (value.length > TAGS_MAX) throw new ImportValidationError(row, 'tags', `at most ${TAGS_MAX} tags (got ${value.length})`);
  const tags = value.map((tag, index) => {
    if (typeof tag !== 'string') throw new ImportValidationError(row, 'tags', `tag ${index + 1} must be a string, got ${tag === null ? 'null' : typeof tag}`);
    const text = tag.trim();
    if (text === '') throw new ImportValidationError(row, 'tags', `tag ${index + 1} is empty`);
    if (text.length > TAG_MAX_LENGTH) throw new ImportValidationError(row, 'tags', `tag ${index + 1} must be at most ${TAG_MAX_LENGTH} characters (got ${text.length})`);
    if (/[,;]/.test(text)) throw new ImportValidationError(row, 'tags', `tag ${index + 1} must not contain a comma or semicolon`);
    return text;
  });
  return [...new Set(tags)];
}

/** The pair to store, or the first rule it breaks. */
export function validatePair(row: number, raw: RawPair): QaPairInput | ImportValidationError {
  try {
    return {
      question: requiredText(row, 'question', raw.question, QUESTION_MAX_LENGTH),
      answer: requiredText(row, 'answer', raw.answer, ANSWER_MAX_LENGTH),
      tags: tagList(row, raw.tags),
    };
  } catch (error) {
    if (error instanceof ImportValidationError) return error;
    throw error;
  }
}
