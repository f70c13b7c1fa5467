// Flow-control parts of the core job mutations (CreateJobInput's fields, the
// `created` answer), apart from graphql/flow/schema.ts so that graphql/jobs/schema.ts can use
// them without an import cycle.
import type { FieldRef } from '@pothos/core';
import { builder } from '../builder.ts';
import { JobWaitingReason } from '../../generated/prisma/enums.ts';
import type { CreatedJob } from '../../flow/create.ts';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

export const DependencyFailureEnum = builder.enumType('DependencyFailure', {
  description: 'What a job does when a job it depends on ends FAILED, DEAD_LETTER or CANCELLED.',
  values: {
    CANCEL: { description: 'It ends CANCELLED, its errorMessage naming that job (the default).' },
    RUN: { description: 'It runs anyway once every job it depends on has finished.' },
  },
});

export const JobWaitingReasonEnum = builder.enumType(JobWaitingReason, {
  name: 'JobWaitingReason',
  description: 'Why a queued job does not run yet. Each change is also an event of the job.',
});

export const RateLimitInput = builder.inputType('RateLimitInput', {
  description: "A rate limit per key: at most maxStarts starts of the tenant's jobs with this key in any intervalMs, across all workers.",
  fields: (t) => ({
    key: t.string({ required: true, description: 'E.g. one customer or one API; per tenant. 1-200 characters.' }),
    maxStarts: t.int({ required: true, description: '1..100000. The starting job\'s value applies: give the jobs of one key one limit.' }),
    intervalMs: t.int({ required: true, description: '1..86400000 (a day).' }),
  }),
});

export const DebounceInput = builder.inputType('DebounceInput', {
  description:
    "One unstarted job per key (per tenant and job type): a create with the key of a job still PENDING or SCHEDULED replaces that job's payload and moves its run to now + delayMs, never past its first create + maxWaitMs, and answers that job (created: false).",
  fields: (t) => ({
    key: t.string({ required: true, description: '1-200 characters.' }),
    delayMs: t.int({ required: true, description: '1..86400000 (a day): the job runs this long after the latest create of its key.' }),
    maxWaitMs: t.int({ required: false, description: 'delayMs..604800000 (a week): the job runs at the latest this long after the first create. Default: no cap.' }),
  }),
});

/** The idempotency fields of every create input: createJob's and each kind's. */
export function idempotencyInputFields(t: PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>) {
  return {
    idempotencyKey: t.string({
      required: false,
      description: 'At most one job per key: a create with a key an existing job holds returns that job (`created: false`). 1-200 characters.',
    }),
    idempotencyKeyFreeAfterMs: t.int({
      required: false,
      description: "When the key is free again after its job finished: 0 at once (unique while active only), n ms later; default never (while the job exists).",
    }),
  };
}

/** The flow-control fields of createJob's input (spread into CreateJobInput). */
export function flowInputFields(t: PothosSchemaTypes.InputFieldBuilder<Types, 'InputObject'>) {
  return {
    ...idempotencyInputFields(t),
    dependsOn: t.idList({
      required: false,
      description: 'Jobs (ids) that must COMPLETE before this one runs; it waits with waitingReason DEPENDENCIES. At most 100.',
    }),
    dependencyFailure: t.field({ type: DependencyFailureEnum, required: false, description: 'Default CANCEL.' }),
    timeoutMs: t.int({
      required: false,
      description: "An attempt running longer fails with a TimeoutError (retried per maxRetries); its signal is aborted with reason 'timeout'. Default: the job type's.",
    }),
    concurrencyKey: t.string({
      required: false,
      description: 'At most concurrencyLimit jobs with this key run at once, across all workers; the others wait (waitingReason CONCURRENCY_LIMIT) without spending a retry.',
    }),
    concurrencyLimit: t.int({ required: false, description: "1..10000; needs concurrencyKey. Default: the job type's, else 1." }),
    debounce: t.field({
      type: DebounceInput,
      required: false,
      description: 'Replaces the payload of the unstarted job with this key and delays it (see DebounceInput). Not with idempotencyKey, dependsOn or scheduledAt.',
    }),
    rateLimit: t.field({
      type: RateLimitInput,
      required: false,
      description: 'At most maxStarts jobs with this key start per intervalMs; the others wait (waitingReason KEY_RATE_LIMIT) without spending a retry.',
    }),
  };
}

/** Whether each answered job row was made by this create (read by the `created` fields). */
const createdRows = new WeakMap<object, boolean | boolean[]>();

export function markCreated<T extends object>(row: T, created: CreatedJob | CreatedJob[]): T {
  createdRows.set(row, Array.isArray(created) ? created.map((c) => c.created) : created.created);
  return row;
}

/** The success type of createJob (and of each kind's create): the job and whether this create made it. */
// Annotated: the package's declarations (tsconfig.build.json) must name these types.
type CreatedFields<T> = { fields: (t: PothosSchemaTypes.ObjectFieldBuilder<Types, any>) => { created: FieldRef<Types, T, 'Object'> } };

export const createdResultOptions: CreatedFields<boolean> = {
  fields: (t: PothosSchemaTypes.ObjectFieldBuilder<Types, any>) => ({
    created: t.boolean({
      description: 'False when an existing job was returned because it holds the idempotency key.',
      resolve: (row: object) => createdRows.get(row) === true,
    }),
  }),
};

/** The success type of createJobs: per input, in order, whether this create made the job. */
export const createdListResultOptions: CreatedFields<readonly boolean[]> = {
  fields: (t: PothosSchemaTypes.ObjectFieldBuilder<Types, any>) => ({
    created: t.booleanList({
      description: 'Per input, in order: false when an existing job was returned because it holds the idempotency key.',
      resolve: (rows: object) => {
        const created = createdRows.get(rows);
        return Array.isArray(created) ? created : [];
      },
    }),
  }),
};

