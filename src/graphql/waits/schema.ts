// The GraphQL of durable waits (src/worker/waits.ts): what a job waits for
// (Job.wait), and the two wakes from outside: sendEvent (every job of the
// caller's tenant waiting for the event whose match the data contains) and
// signalJob (one job). Both are mutations (jobs:write); the SQL functions
// behind them (send_event, signal_job) let an app send inside its own transaction.
import { builder } from '../builder.ts';
import { JobwireError, JobNotFoundError, ValidationError } from '../../core/errors.ts';
import { visibleTenant } from '../../auth/principal.ts';
import { tenantCondition } from '../../auth/tenant-scope.ts';
import { sendEvent, signalJob } from '../../job-state/waits.ts';
import { JobWaitingReasonEnum } from '../flow/schema-inputs.ts';
import { ErrorInterface } from '../errors.ts';
import { JobRef, parseJobId, withId } from '../jobs/types.ts';

/** The bounds of an event's or signal's name and data (as createJob's payload). */
const NAME_MAX = 200;
const DATA_MAX_BYTES = 262_144;

/** The job does not wait for this signal (now): nothing was changed. */
export class JobNotWaitingError extends JobwireError {
  override name = 'JobNotWaitingError';
  constructor(
    readonly jobId: string,
    readonly signalName: string,
  ) {
    super(`job ${jobId} is not waiting for signal "${signalName}"`);
  }
}

builder.objectType(JobNotWaitingError, {
  name: 'JobNotWaitingError',
  description: 'The job is not waiting for this signal (it never did, or it was woken or timed out already); nothing changed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof JobNotWaitingError,
  fields: (t) => ({ jobId: t.exposeID('jobId'), signalName: t.exposeString('signalName') }),
});

builder.prismaObject('JobWait', {
  description: 'What a job waits for while its waitingReason is TIMER, EVENT, SIGNAL or CHILDREN (a durable wait of its handler).',
  fields: (t) => ({
    reason: t.field({ type: JobWaitingReasonEnum, resolve: (wait) => wait.reason }),
    step: t.string({ description: "The wait's step (its name).", select: { step: { select: { name: true } } }, resolve: (wait) => wait.step.name }),
    name: t.exposeString('name', { nullable: true, description: "The event's or signal's name." }),
    match: t.expose('match', { type: 'JSON', nullable: true, description: "EVENT: the event's data must contain this JSON." }),
    wakeAt: t.expose('wakeAt', {
      type: 'DateTime',
      nullable: true,
      description: 'TIMER: when it ends; EVENT, SIGNAL, CHILDREN: when the wait times out (null: never).',
    }),
    childJobIds: t.exposeIDList('childJobIds', { description: 'CHILDREN: the child jobs (UUIDs) it waits for.' }),
  }),
});

builder.prismaInterfaceFields('Job', (t) => ({
  wait: t.relation('wait', { nullable: true, description: 'What it waits for, while its handler waits (waitingReason TIMER, EVENT, SIGNAL, CHILDREN); null otherwise.' }),
}));

function checkName(name: string) {
  if (name.length < 1 || name.length > NAME_MAX) throw new ValidationError('name', `must be 1-${NAME_MAX} characters`);
}

function checkData(data: unknown): Record<string, unknown> {
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new ValidationError('data', 'must be a JSON object');
  if (Buffer.byteLength(JSON.stringify(data)) > DATA_MAX_BYTES) throw new ValidationError('data', `must be at most ${DATA_MAX_BYTES} bytes of JSON`);
  return data as Record<string, unknown>;
}

const SendEventInput = builder.inputType('SendEventInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '1-200 characters.' }),
    data: t.field({ type: 'JSON', required: false, description: "A JSON object: the woken jobs' wait result data, and what `match` is checked against. Default {}." }),
  }),
});

const SendEventResult = builder.objectRef<{ wokenJobCount: number }>('SendEventResult').implement({
  fields: (t) => ({
    wokenJobCount: t.exposeInt('wokenJobCount', { description: 'How many waiting jobs of your tenant it woke (each at most once).' }),
  }),
});

const SignalJobInput = builder.inputType('SignalJobInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: true, description: 'The signal the job waits for (ctx.waitForSignal), 1-200 characters.' }),
    data: t.field({ type: 'JSON', required: false, description: "A JSON object: the wait's result data. Default {}." }),
  }),
});

builder.mutationFields((t) => ({
  sendEvent: t.field({
    type: SendEventResult,
    description:
      "Sends an event to your tenant's jobs: every job waiting for an event of this name (ctx.waitForEvent) whose `match` the data contains wakes, once, and resumes with the data. Jobs that do not wait for it when it is sent never see it.",
    errors: { types: [ValidationError], directResult: false },
    args: { input: t.arg({ type: SendEventInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      checkName(input.name);
      const data = checkData(input.data);
      return { wokenJobCount: await sendEvent(ctx.pool, ctx.caller.tenantId, input.name, data) };
    },
  }),
  signalJob: t.prismaField({
    type: JobRef,
    description: 'Sends a signal to one job waiting for it (ctx.waitForSignal): it wakes and resumes with the data.',
    errors: { types: [ValidationError, JobNotFoundError, JobNotWaitingError], directResult: false },
    args: { input: t.arg({ type: SignalJobInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const id = parseJobId(String(input.id), 'id');
      checkName(input.name);
      const data = checkData(input.data);
      const tenant = visibleTenant(ctx.caller);
      if (!(await signalJob(ctx.pool, tenant, id, input.name, data))) {
        const { rowCount } = await ctx.pool.query(`select 1 from job j where id = $1 and ${tenantCondition('j', 2)}`, [id, tenant]);
        if (rowCount === 0) throw new JobNotFoundError(id);
        throw new JobNotWaitingError(id, input.name);
      }
      return ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id } });
    },
  }),
}));
