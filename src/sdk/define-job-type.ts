// defineJobType: an app's job type, as the JobHandler port (src/core/handler.ts)
// that jobwire's own job types implement, so it runs with the same context.
import type { z } from 'zod';
import { NonRetriableError, type JobContext, type JobHandler, type JobResult, type RunningJob } from '../core/handler.ts';

/** What a handler returns when its job type declares a result schema: resultData is typed by it. */
export interface TypedJobResult<Result> extends Omit<JobResult, 'resultData'> {
  readonly resultData?: Result;
}

// Only the methods jobwire calls, so that a schema made by the app's own copy of
// zod 4 (another instance, another patch version) is accepted as it is.
type Schema = z.ZodType<any, any>;
type ObjectOutput<S extends Schema> = z.output<S> extends Record<string, unknown> ? z.output<S> : never;

export interface JobTypeDefinition<PayloadSchema extends Schema, ResultSchema extends Schema | undefined = undefined> {
  /** Dotted lower-case name, e.g. `images.resize`; the job's jobType. */
  jobType: string;
  description?: string;
  /** A zod 4 object schema: checked when the job is created and again before it runs. */
  payload: PayloadSchema;
  /** A zod 4 object schema of resultData on success: a result that does not match fails the job (not retried). */
  result?: ResultSchema;
  /** Steps created with every job of this type, so clients see the plan before it runs. */
  steps?: readonly string[];
  /** Queue, retries, priority, timeout and concurrency limit of jobs that name none. */
  defaults?: JobHandler['defaults'];
  handle(
    job: RunningJob<z.output<PayloadSchema>>,
    ctx: JobContext,
  ): Promise<ResultSchema extends Schema ? TypedJobResult<z.input<ResultSchema>> : JobResult>;
}

/** A defined job type: a JobHandler that keeps its schemas' types (for typed job inputs and results). */
export type JobType<PayloadSchema extends Schema = Schema, ResultSchema extends Schema | undefined = Schema | undefined> = JobHandler<
  ObjectOutput<PayloadSchema>
> & {
  readonly payload: PayloadSchema;
  readonly result?: ResultSchema;
};

/** The payload a client sends for a job type (before defaults and transforms). */
export type PayloadOf<T extends JobType<any, any>> = z.input<T['payload']>;
/** resultData of a completed job of a job type with a result schema. */
export type ResultOf<T extends JobType<any, any>> = T['result'] extends Schema ? z.output<T['result']> : Record<string, unknown>;

export function defineJobType<PayloadSchema extends Schema, ResultSchema extends Schema | undefined = undefined>(
  definition: JobTypeDefinition<PayloadSchema, ResultSchema>,
): JobType<PayloadSchema, ResultSchema> {
  const { result, handle } = definition;
  if (!isZodSchema(definition.payload)) {
    throw new TypeError(`job type "${definition.jobType}": payload must be a zod 4 schema (z.object({...}))`);
  }
  if (result !== undefined && !isZodSchema(result)) {
    throw new TypeError(`job type "${definition.jobType}": result must be a zod 4 schema (z.object({...}))`);
  }
  return {
    jobType: definition.jobType,
    description: definition.description ?? '',
    payload: definition.payload,
    ...(result ? { result } : {}),
    ...(definition.steps ? { steps: definition.steps } : {}),
    ...(definition.defaults ? { defaults: definition.defaults } : {}),
    async handle(job, ctx) {
      const outcome = (await handle(job as RunningJob<z.output<PayloadSchema>>, ctx)) as JobResult;
      if (!result || !outcome.success) return outcome;
      const parsed = result.safeParse(outcome.resultData ?? {});
      if (parsed.success) return { ...outcome, resultData: parsed.data as Record<string, unknown> };
      const issue = parsed.error.issues[0]!;
      const field = ['result', ...issue.path].map(String).join('.');
      return { success: false, error: new NonRetriableError(`${field}: ${issue.message}`, { data: { field, issue: issue.message } }) };
    },
  } as JobType<PayloadSchema, ResultSchema>;
}

/** A zod 4 schema from any copy of zod: checked by shape, not instanceof (an app may bring its own zod). */
function isZodSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && '_zod' in value && typeof (value as Schema).safeParse === 'function';
}
