// Input validation shared by every way of creating a job. Errors name the
// field as a dotted path into the input (e.g. `jobs.3.payload.url`).
import { z } from 'zod';
import { ValidationError } from './errors.ts';

/** Whether a string is a UUID (any case): the ids of jobs, schedules, suggestions, snapshots, ... */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

export const QUEUE_NAME_FORMAT = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** A JSON object (not an array, not null) of at most maxBytes of JSON. */
export function jsonObject(maxBytes: number) {
  return z
    .unknown()
    .refine((value) => typeof value === 'object' && value !== null && !Array.isArray(value), {
      message: 'must be a JSON object',
    })
    .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= maxBytes, {
      message: `must be at most ${maxBytes} bytes of JSON`,
    })
    .transform((value) => value as Record<string, unknown>);
}

/** Parses with a zod schema; the first problem becomes a ValidationError. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, pathPrefix: (string | number)[] = []): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = [...pathPrefix, ...issue.path].map(String).join('.') || 'input';
  throw new ValidationError(field, issue.message);
}
