// Zod → JSON Schema for the registry: what a worker publishes of a job type's
// payload (and result) so that a process without its code can check payloads.
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema (draft 2020-12) of what callers send: zod's input side, so a
 * default or a transform describes the value before it applies. Parts zod
 * cannot print (a date, a custom check, a transform's own output) accept any
 * value and are listed in the schema's `$comment`; they are checked by the
 * handler's zod schema when the job runs. A schema zod cannot print at all
 * falls back to "any JSON object", with the reason in `$comment`.
 */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  const unprintable: string[] = [];
  try {
    const json = z.toJSONSchema(schema, {
      io: 'input',
      unrepresentable: (site) => {
        unprintable.push(`${site.path.length ? site.path.join('.') : '(root)'}: ${site.message}`);
        return 'any';
      },
    }) as JsonSchema;
    if (unprintable.length > 0) {
      json.$comment = `not checked by this schema (checked when the job runs): ${unprintable.join('; ')}`;
    }
    return json;
  } catch (error) {
    return {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $comment: `the zod schema could not be printed as JSON Schema (${error instanceof Error ? error.message : String(error)}); only that the payload is a JSON object is checked here, the rest when the job runs`,
    };
  }
}
