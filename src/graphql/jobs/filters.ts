// Which jobs a query, a bulk mutation or a subscription selects: JobFilter
// (and the Prisma where it becomes) and JobEventFilter.
import { builder } from '../builder.ts';
import { JobKindEnum, JobStatusEnum } from './schema-enums.ts';

export const JobFilter = builder.inputType('JobFilter', {
  fields: (t) => ({
    statuses: t.field({ type: [JobStatusEnum], required: false }),
    kinds: t.field({ type: [JobKindEnum], required: false }),
    queueNames: t.stringList({ required: false }),
    jobTypes: t.stringList({ required: false }),
    createdAfter: t.field({ type: 'DateTime', required: false }),
    createdBefore: t.field({ type: 'DateTime', required: false }),
    createdBy: t.stringList({ required: false, description: 'Only jobs created by one of these principals (Job.createdBy): an audit of who queued what.' }),
  }),
});

export function jobWhere(filter: typeof JobFilter.$inferInput | null | undefined) {
  if (!filter) return {};
  return {
    ...(filter.statuses?.length ? { status: { in: filter.statuses } } : {}),
    ...(filter.kinds?.length ? { kind: { in: filter.kinds } } : {}),
    ...(filter.queueNames?.length ? { queueName: { in: filter.queueNames } } : {}),
    ...(filter.jobTypes?.length ? { jobType: { in: filter.jobTypes } } : {}),
    ...(filter.createdBy?.length ? { createdBy: { in: filter.createdBy } } : {}),
    ...(filter.createdAfter || filter.createdBefore
      ? { createdAt: { ...(filter.createdAfter ? { gte: filter.createdAfter } : {}), ...(filter.createdBefore ? { lt: filter.createdBefore } : {}) } }
      : {}),
  };
}

export const JobEventFilter = builder.inputType('JobEventFilter', {
  fields: (t) => ({
    jobIds: t.idList({ required: false }),
    kinds: t.field({ type: [JobKindEnum], required: false }),
    queueNames: t.stringList({ required: false }),
    jobTypes: t.stringList({ required: false }),
    statuses: t.field({ type: [JobStatusEnum], required: false }),
  }),
});
