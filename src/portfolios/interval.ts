// The import interval: {start, end}, both inclusive calendar dates (YYYY-MM-DD).
// Stored as the daterange '[start,end]', which Postgres normalises to [start, end + 1).
import { z } from 'zod';
import { ValidationError } from '../core/errors.ts';
import { parseInput } from '../core/validation.ts';

export interface DateInterval {
  /** First day, inclusive. */
  start: string;
  /** Last day, inclusive. */
  end: string;
}

const isoDate = z.iso.date('must be a date as YYYY-MM-DD');
const intervalSchema = z.object({ start: isoDate, end: isoDate });

/** Validates an interval; `field` names it in errors (e.g. "interval"). */
export function parseInterval(input: unknown, field = 'interval'): DateInterval {
  const interval = parseInput(intervalSchema, input, [field]) as DateInterval;
  if (interval.start > interval.end) {
    throw new ValidationError(`${field}.start`, `must not be after ${field}.end (${interval.start} > ${interval.end})`);
  }
  return interval;
}

/** The daterange literal of an inclusive interval. */
export function toDateRange(interval: DateInterval): string {
  return `[${interval.start},${interval.end}]`;
}

/** SQL that turns a normalised daterange column into {start, end} (both inclusive). */
export const INTERVAL_COLUMNS = (column: string) =>
  `to_char(lower(${column}), 'YYYY-MM-DD') as "start", to_char(upper(${column}) - 1, 'YYYY-MM-DD') as "end"`;

export function contains(interval: DateInterval, day: string): boolean {
  return interval.start <= day && day <= interval.end;
}
