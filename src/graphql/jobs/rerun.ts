// rerunJob (docs/workflows.md#rerun-from-a-step): a finished job queued again
// from a named step, optionally with a new payload (validated as createJob's).
import { builder } from '../builder.ts';
import { JobNotFoundError, JobStillActiveError, TenantQuotaExceededError, ValidationError, withQuotaErrors } from '../../core/errors.ts';
import { jsonObject, parseInput } from '../../core/validation.ts';
import { rerunJob, type ValidateRerunPayload } from '../../job-state/rerun.ts';
import type { HandlerRegistry } from '../../core/registry.ts';
import { JobRef, parseJobId, withId } from './types.ts';

const RerunJobInput = builder.inputType('RerunJobInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    fromStep: t.string({ required: true, description: 'The step to run again from: it and the later steps run again, the earlier ones keep their results.' }),
    payload: t.field({ type: 'JSON', required: false, description: "A new payload (a JSON object the job type's schema accepts) replacing the stored one; default: the stored one." }),
  }),
});

/** The handler's schema when this process hosts the type, else the registry's JSON Schema in the database (as add_job checks it). */
function payloadValidator(registry: HandlerRegistry, maxBytes: number): ValidateRerunPayload {
  return async (db, jobType, payload) => {
    const object = parseInput(jsonObject(maxBytes), payload, ['payload']) as Record<string, unknown>;
    const handler = registry.get(jobType);
    if (handler) return parseInput(handler.payload, object, ['payload']) as Record<string, unknown>;
    const { rows } = await db.query<{ error: string | null }>(
      `select json_schema_error(payload_schema, $2::jsonb, 'payload') as error from job_type where name = $1`,
      [jobType, JSON.stringify(object)],
    );
    const error = rows[0]?.error;
    if (error) throw new ValidationError(error.split(':')[0]!, error.slice(error.indexOf(':') + 1).trim());
    return object;
  };
}

builder.mutationFields((t) => ({
  rerunJob: t.prismaField({
    type: JobRef,
    description:
      'Queues a finished job (COMPLETED, FAILED, DEAD_LETTER or CANCELLED) again from the step `fromStep`: that step and the later ones run again, the earlier ones return their stored results. Its history stays; the rerun is an event naming the step and who asked.',
    errors: { types: [ValidationError, JobNotFoundError, JobStillActiveError, TenantQuotaExceededError], directResult: false },
    args: { input: t.arg({ type: RerunJobInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const id = parseJobId(String(input.id), 'id');
      const payload = input.payload === undefined || input.payload === null ? undefined : (input.payload as Record<string, unknown>);
      await withQuotaErrors(() => rerunJob(ctx.pool, ctx.caller, { jobId: id, fromStep: input.fromStep, payload }, payloadValidator(ctx.registry, ctx.config.JOB_PAYLOAD_MAX_BYTES)));
      return ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id } });
    },
  }),
}));
