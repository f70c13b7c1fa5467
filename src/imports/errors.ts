// Seed 001's import exceptions. Row-level ones (ParseError,
// ImportValidationError, DuplicateDetectedError) never stop an import: the
// handler counts them and records them as ImportErrorRecords (import_job.errors,
// import_error). They extend JobwireError so that one reaching GraphQL keeps its message.
import { JobwireError } from '../core/errors.ts';

/** One bad row as stored (import_error columns, import_job.errors items). */
export interface ImportErrorRecord {
  type: 'ParseError' | 'ImportValidationError' | 'DuplicateDetectedError';
  /** The record's position among the file's records (1-based, header excluded). */
  row: number;
  /** Where the record starts in the file (1-based). */
  line: number;
  field: string | null;
  message: string;
  raw_data: string | null;
  existing_id: string | null;
  similarity: number | null;
}

/** Raw text kept with a parse error: enough to find the row, never a whole file. */
export const RAW_DATA_MAX_CHARS = 500;

/** Base of the import system's exceptions. */
export class ImportError extends JobwireError {
  override name = 'ImportError';
}

/** A record that could not be read (malformed CSV row, invalid JSON, a text block without Q:/A:). */
export class ParseError extends ImportError {
  override name = 'ParseError';
  readonly rawData: string | null;
  constructor(
    readonly lineNumber: number,
    message: string,
    rawData: string | null = null,
  ) {
    super(message);
    this.rawData = rawData === null ? null : rawData.slice(0, RAW_DATA_MAX_CHARS);
  }
}

/** A record that was read but breaks a rule (required field, length, tags shape). */
export class ImportValidationError extends ImportError {
  override name = 'ImportValidationError';
  constructor(
    readonly row: number,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The question is already stored, exactly (similarity 1) or nearly (pg_trgm similarity). */
export class DuplicateDetectedError extends ImportError {
  override name = 'DuplicateDetectedError';
  constructor(
    readonly row: number,
    readonly existingId: string,
    readonly similarity: number,
  ) {
    super(
      similarity >= 1
        ? `duplicate of question ${existingId}`
        : `near duplicate (similarity ${similarity.toFixed(2)}) of question ${existingId}`,
    );
  }
}

export class ImportJobNotFoundError extends ImportError {
  override name = 'ImportJobNotFoundError';
  constructor(readonly jobId: string) {
    super(`no import job with id ${jobId}`);
  }
}

/** The record of a row-level error; `row` and `line` locate it in the file. */
export function toErrorRecord(error: ParseError | ImportValidationError | DuplicateDetectedError, row: number, line: number): ImportErrorRecord {
  const base = { row, line, message: error.message, field: null, raw_data: null, existing_id: null, similarity: null };
  if (error instanceof ParseError) return { ...base, type: 'ParseError', raw_data: error.rawData };
  if (error instanceof ImportValidationError) return { ...base, type: 'ImportValidationError', field: error.field };
  return { ...base, type: 'DuplicateDetectedError', field: 'question', existing_id: error.existingId, similarity: error.similarity };
}
