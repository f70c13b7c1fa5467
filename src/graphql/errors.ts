// Expected failures as GraphQL types, one closed set: every error type
// implements the Error interface, mutations return a union of their success
// payload, the errors they can raise and BaseError (the errors plugin's default
// type), so clients switch on __typename. Error classes live beside their
// capability (core/errors.ts, imports/errors.ts, portfolios/errors.ts), all
// subclasses of JobwireError.
import { InvalidTransitionError, JobConflictError, JobNotFoundError, JobStillActiveError, JobwireError, TenantQuotaExceededError, ValidationError } from '../core/errors.ts';
import { JobStatusEnum } from './jobs/schema-enums.ts';
import { builder } from './builder.ts';

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected failure: the operation changed nothing.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

builder.objectType(JobwireError, {
  name: 'BaseError',
  description: 'An expected failure that no more specific error type describes; `message` says what happened.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof JobwireError,
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input is invalid; `field` is a dotted path into it (e.g. `jobs.2.payload.url`).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({ field: t.exposeString('field') }),
});

builder.objectType(JobNotFoundError, {
  name: 'JobNotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof JobNotFoundError,
  fields: (t) => ({ jobId: t.exposeID('jobId') }),
});

builder.objectType(InvalidTransitionError, {
  name: 'InvalidTransitionError',
  description: "The job's status does not allow the operation.",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InvalidTransitionError,
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    action: t.exposeString('action'),
    status: t.field({ type: JobStatusEnum, resolve: (error) => error.status }),
    allowedStatuses: t.field({ type: [JobStatusEnum], resolve: (error) => [...error.allowedStatuses] }),
  }),
});

builder.objectType(JobStillActiveError, {
  name: 'JobStillActiveError',
  description: 'The job has not ended yet (`status` says where it is): wait for it to end, or cancel it, then retry.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof JobStillActiveError,
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    action: t.exposeString('action'),
    status: t.field({ type: JobStatusEnum, resolve: (error) => error.status }),
  }),
});

builder.objectType(JobConflictError, {
  name: 'JobConflictError',
  description: 'Another job holds what this one needs; `constraint` names the rule.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof JobConflictError,
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    action: t.exposeString('action'),
    constraint: t.exposeString('constraint'),
  }),
});

builder.objectType(TenantQuotaExceededError, {
  name: 'TenantQuotaExceededError',
  description:
    "One of the tenant's limits (docs/quotas.md) refused the operation; it changed nothing. `limit` names it as the tenantQuota query does (maxQueuedJobs, maxSchedules, minCronIntervalSeconds, minPriority, maxPriority).",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof TenantQuotaExceededError,
  fields: (t) => ({
    code: t.exposeString('code', { description: 'Always TENANT_QUOTA_EXCEEDED.' }),
    limit: t.exposeString('limit', { description: 'The TenantQuota field that refused it, e.g. maxQueuedJobs.' }),
    value: t.exposeInt('value', { description: "The limit's value." }),
    current: t.exposeInt('current', {
      description: 'The usage before this operation (queued jobs, schedules), or what it asked for (a priority; a cron interval in seconds).',
    }),
    requested: t.exposeInt('requested', { description: 'How many jobs or schedules the operation would have added.' }),
  }),
});
