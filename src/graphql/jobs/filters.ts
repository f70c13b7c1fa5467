// Which jobs a query, a bulk mutation or a subscription selects: JobFilter
// (and the Prisma where it becomes) and JobEventFilter.
import { builder } from '../builder.ts';
import { JOB_TAGS_MAX } from '../../core/tags.ts';
import { checkSearchFields, SEARCH_TEXT_MAX, SEARCH_TEXT_MIN, type JobSearch } from '../../jobs/search.ts';
import type { HandlerRegistry } from '../../core/registry.ts';
import type { JobKind, JobStatus } from '../../generated/prisma/enums.ts';
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
    tags: t.stringList({ required: false, description: `Only jobs that have every one of these tags (at most ${JOB_TAGS_MAX}).` }),
    metadataContains: t.field({ type: 'JSON', required: false, description: 'Only jobs whose metadata contains this JSON object (Postgres jsonb @>: every key with this value, nested objects likewise, arrays as subsets).' }),
    payloadContains: t.field({ type: 'JSON', required: false, description: 'Only jobs whose stored payload contains this JSON object (jsonb @>). Matches the payload as stored, before any redaction.' }),
    errorContains: t.string({ required: false, description: `Only jobs whose errorMessage contains this text, in any case (${SEARCH_TEXT_MIN}-${SEARCH_TEXT_MAX} characters).` }),
  }),
});

/** The filter as a search, its new fields checked (a bad one is a ValidationError naming it under `filter.`). */
export function jobSearch(filter: typeof JobFilter.$inferInput | null | undefined, registry: HandlerRegistry): JobSearch {
  if (!filter) return {};
  const checked = checkSearchFields(filter, ['filter']);
  // A payload a job type redacts for readers (a webhook's URL) is not searchable either: containment would reveal it.
  const excludeJobTypes = checked.payloadContains ? registry.jobTypes.filter((jobType) => registry.get(jobType)?.redactPayload) : null;
  return { ...filter, tags: checked.tags, metadataContains: checked.metadataContains, payloadContains: checked.payloadContains, errorContains: checked.errorContains, excludeJobTypes };
}

/** The Prisma where of a search that needs no SQL (see needsSqlSearch). */
export function jobWhere(filter: JobSearch | null | undefined) {
  if (!filter) return {};
  return {
    ...(filter.tags?.length ? { tags: { hasEvery: [...filter.tags] } } : {}),
    ...(filter.statuses?.length ? { status: { in: filter.statuses as JobStatus[] } } : {}),
    ...(filter.kinds?.length ? { kind: { in: filter.kinds as JobKind[] } } : {}),
    ...(filter.queueNames?.length ? { queueName: { in: [...filter.queueNames] } } : {}),
    ...(filter.jobTypes?.length ? { jobType: { in: [...filter.jobTypes] } } : {}),
    ...(filter.createdBy?.length ? { createdBy: { in: [...filter.createdBy] } } : {}),
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
    parentJobIds: t.idList({ required: false, description: "Only events of these jobs' child jobs (Job.childJobs)." }),
  }),
});
