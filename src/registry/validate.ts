// Payload checks against a registered JSON Schema (ajv), for job types whose
// handler this process does not host. Errors name the payload path the way
// zod's do for hosted types (`payload.items.2.amount: must be number`).
import { Ajv2020, type ValidateFunction, type ErrorObject } from 'ajv/dist/2020.js';
import type { JsonSchema } from './json-schema.ts';

// strict off: schemas come from other processes (and other zod versions); an
// unknown keyword or format is ignored rather than refusing every payload.
// Formats (uri, email, ...) are not checked here: the handler's zod does it when the job runs.
const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: false });

/** Compiled validators by schema text: a registered type's schema changes only when a worker registers a new one. */
const compiled = new Map<string, ValidateFunction>();
const COMPILED_MAX = 500;

export interface PayloadProblem {
  /** Dotted path from the payload, e.g. `payload.items.2.amount`. */
  field: string;
  message: string;
}

/** The first problem of `payload` against `schema`, or null when it conforms. */
export function checkPayload(schema: JsonSchema, payload: unknown, root = 'payload'): PayloadProblem | null {
  const validate = compile(schema);
  if (validate(payload)) return null;
  return describe(validate.errors?.[0], root);
}

/**
 * Why ajv cannot compile this schema (then it would check nothing), or null:
 * what a worker registers is checked with this before it is stored.
 */
export function schemaProblem(schema: JsonSchema): string | null {
  return (compile(schema) as ValidateFunction & { reason?: string }).reason ?? null;
}

function compile(schema: JsonSchema): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      // A schema ajv cannot compile (registered by some other tool) checks nothing rather than blocking its type.
      const reason = error instanceof Error ? error.message : String(error);
      validate = Object.assign(() => true, { errors: null, schema, reason }) as unknown as ValidateFunction;
    }
    compiled.set(key, validate);
  }
  return validate;
}

function describe(error: ErrorObject | undefined, root: string): PayloadProblem {
  if (!error) return { field: root, message: 'does not match the registered payload schema' };
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  // A missing or extra property is named at its own path, as zod does.
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    return { field: [root, ...segments, params.missingProperty].join('.'), message: 'is required' };
  }
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return { field: [root, ...segments, params.additionalProperty].join('.'), message: 'is not allowed (unknown field)' };
  }
  return { field: [root, ...segments].join('.'), message: error.message ?? 'is invalid' };
}
