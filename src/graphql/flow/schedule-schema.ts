// The GraphQL surface of recurring schedules: Schedule with its next run times
// and recent ticks (each with its job), the schedules query, and create,
// update, pause, resume and delete.
import { builder } from '../builder.ts';
import { ErrorInterface } from '../errors.ts';
import { TenantQuotaExceededError, ValidationError } from '../../core/errors.ts';
import { JobRef, parseJobId, withId } from '../jobs/schema.ts';
import type { CreateJobInput } from '../../jobs/create.ts';
import {
  createSchedule,
  deleteSchedule,
  MissedTickPolicy,
  nextRunTimes,
  pauseSchedule,
  resumeSchedule,
  ScheduleNotFoundError,
  updateSchedule,
  type ScheduleInput,
} from '../../jobs/schedules.ts';
import { isUuid } from '../../core/validation.ts';
import type { HandlerRegistry } from '../../core/registry.ts';

function parseScheduleId(value: string | number): string {
  const id = String(value);
  if (!isUuid(id)) throw new ValidationError('id', `"${id}" is not a schedule id (a UUID)`);
  return id.toLowerCase();
}

builder.objectType(ScheduleNotFoundError, {
  name: 'ScheduleNotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ScheduleNotFoundError,
  fields: (t) => ({ scheduleId: t.exposeID('scheduleId') }),
});

const MissedTickPolicyEnum = builder.enumType('MissedTickPolicy', {
  description: 'What happens to ticks found more than SCHEDULE_MISSED_AFTER_MS late (no worker ran them).',
  values: {
    SKIP: { description: 'They make no job (the default).' },
    RUN_ONCE: { description: 'One job, for the latest of them.' },
    RUN_EACH: { description: 'One job per missed tick, the latest missedTickLimit of them.' },
  },
});

/** A template with its payload as readers of a job of its type see it. */
function readableTemplate(registry: HandlerRegistry, template: Record<string, unknown>): Record<string, unknown> {
  const { jobType, payload } = template;
  if (typeof jobType !== 'string' || !payload || typeof payload !== 'object' || Array.isArray(payload)) return template;
  return { ...template, payload: registry.readablePayload(jobType, payload as Record<string, unknown>) };
}

const ScheduleTickRef = builder.prismaObject('ScheduleTick', {
  description: 'One tick of a schedule and the job it made (null when the tick was skipped or its job is purged).',
  fields: (t) => ({
    tickAt: t.expose('tickAt', { type: 'DateTime' }),
    job: t.relation('job', { nullable: true }),
  }),
});

builder.prismaObject('Schedule', {
  description: 'A cron expression in a time zone that creates one ordinary job (from jobTemplate) per tick.',
  fields: (t) => ({
    id: t.exposeID('id'),
    cron: t.exposeString('cron', { description: '5 or 6 fields (seconds first when 6), e.g. "0 9 * * 1-5".' }),
    timezone: t.exposeString('timezone'),
    jobTemplate: t.field({
      type: 'JSONObject',
      description: "The createJob input of each tick's job; secrets of its payload read as [redacted] (see Job.payload).",
      resolve: (s, _args, ctx) => readableTemplate(ctx.registry, s.jobTemplate as Record<string, unknown>),
    }),
    missedTickPolicy: t.field({ type: MissedTickPolicyEnum, resolve: (s) => s.missedTickPolicy as MissedTickPolicy }),
    missedTickLimit: t.exposeInt('missedTickLimit'),
    paused: t.exposeBoolean('paused'),
    pausedReason: t.exposeString('pausedReason', {
      nullable: true,
      description: "Why jobwire paused it: its creator's API key was revoked, expired, deleted or lost jobs:write (resumeSchedule then runs it as the caller). Null when a caller paused it, or while it runs.",
    }),
    nextRunAt: t.expose('nextRunAt', { type: 'DateTime', nullable: true, description: 'The next tick not yet run; null while paused.' }),
    nextRunTimes: t.field({
      type: ['DateTime'],
      description: 'The next run times (none while paused).',
      args: { count: t.arg.int({ required: false, defaultValue: 5, description: '1..100' }) },
      select: { cron: true, timezone: true, paused: true },
      resolve: (s, args) => {
        const count = Math.min(Math.max(args.count ?? 5, 1), 100);
        return s.paused ? [] : nextRunTimes(s.cron, s.timezone, count);
      },
    }),
    recentTicks: t.relation('ticks', {
      description: 'Its latest ticks, newest first, each with the job it made.',
      args: { last: t.arg.int({ required: false, defaultValue: 5, description: '1..100' }) },
      query: (args) => ({ orderBy: { tickAt: 'desc' }, take: Math.min(Math.max(args.last ?? 5, 1), 100) }),
    }),
    createdBy: t.exposeString('createdBy', {
      description: 'The principal that created it (or resumed it after its creator lost the right); its jobs are made as this principal and carry it as their createdBy.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

void ScheduleTickRef;
void JobRef;

const ScheduleFields = (required: boolean) => (t: PothosSchemaTypes.InputFieldBuilder<any, 'InputObject'>) => ({
  cron: t.string({ required, description: 'e.g. "*/5 * * * *"; 6 fields for seconds.' }),
  timezone: t.string({ required: false, description: 'IANA time zone the cron expression is read in. Default UTC.' }),
  jobTemplate: t.field({ type: 'CreateJobInput', required, description: 'The createJob input of each tick\'s job.' }),
  missedTickPolicy: t.field({ type: MissedTickPolicyEnum, required: false, description: 'Default SKIP.' }),
  missedTickLimit: t.int({ required: false, description: 'RUN_EACH runs at most this many missed ticks (1..1000). Default 10.' }),
});

const CreateScheduleInput = builder.inputType('CreateScheduleInput', { fields: ScheduleFields(true) });
const UpdateScheduleInput = builder.inputType('UpdateScheduleInput', {
  description: 'Only the fields given change. A new cron or time zone counts from now.',
  fields: ScheduleFields(false),
});

function toScheduleInput(input: Record<string, unknown>): ScheduleInput {
  const template = input.jobTemplate as (CreateJobInput & { parentJobId?: unknown; dependsOn?: unknown[] | null }) | null | undefined;
  return {
    ...(input as ScheduleInput),
    jobTemplate: template
      ? {
          ...template,
          parentJobId: template.parentJobId == null ? null : parseJobId(String(template.parentJobId), 'jobTemplate.parentJobId'),
          dependsOn: template.dependsOn?.map((id, index) => parseJobId(String(id), `jobTemplate.dependsOn.${index}`)),
        }
      : null,
  };
}

builder.queryFields((t) => ({
  schedules: t.prismaField({
    type: ['Schedule'],
    description: "The caller's tenant's schedules (every tenant's for admin), oldest first.",
    resolve: (query, _root, _args, ctx) => ctx.prisma.schedule.findMany({ ...withId(query), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
  }),
  schedule: t.prismaField({
    type: 'Schedule',
    nullable: true,
    description: "A schedule of the caller's tenant (any tenant's for admin); null for another tenant's, as for a missing one.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.schedule.findUnique({ ...withId(query), where: { id: parseScheduleId(args.id) } }),
  }),
}));

const errors = { types: [ValidationError, ScheduleNotFoundError], directResult: false as const };

builder.mutationFields((t) => ({
  createSchedule: t.prismaField({
    type: 'Schedule',
    description: 'Creates a schedule; its first job is made at its first tick.',
    errors: { types: [ValidationError, TenantQuotaExceededError], directResult: false },
    args: { input: t.arg({ type: CreateScheduleInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = await createSchedule(ctx, ctx.caller, toScheduleInput(args.input));
      return ctx.prisma.schedule.findUniqueOrThrow({ ...withId(query), where: { id } });
    },
  }),
  updateSchedule: t.prismaField({
    type: 'Schedule',
    errors: { ...errors, types: [...errors.types, TenantQuotaExceededError] },
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateScheduleInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = parseScheduleId(args.id);
      await updateSchedule(ctx, ctx.caller, id, toScheduleInput(args.input));
      return ctx.prisma.schedule.findUniqueOrThrow({ ...withId(query), where: { id } });
    },
  }),
  pauseSchedule: t.prismaField({
    type: 'Schedule',
    description: 'Idempotent. Ticks while paused are not run later.',
    errors,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = parseScheduleId(args.id);
      await pauseSchedule(ctx.pool, ctx.caller, id);
      return ctx.prisma.schedule.findUniqueOrThrow({ ...withId(query), where: { id } });
    },
  }),
  resumeSchedule: t.prismaField({
    type: 'Schedule',
    description: 'Idempotent. Runs from the next tick after now. A schedule paused because its creator lost the right (pausedReason) runs as the caller from then on.',
    errors,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const id = parseScheduleId(args.id);
      await resumeSchedule(ctx.pool, ctx.caller, id);
      return ctx.prisma.schedule.findUniqueOrThrow({ ...withId(query), where: { id } });
    },
  }),
  deleteSchedule: t.id({
    description: "Deletes a schedule (its jobs stay); answers its id.",
    errors,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = parseScheduleId(args.id);
      await deleteSchedule(ctx.pool, ctx.caller, id);
      return id;
    },
  }),
}));
