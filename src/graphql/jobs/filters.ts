// Which jobs a query, a bulk mutation or a subscription selects: JobFilter
// (and the Prisma where it becomes) and JobEventFilter.
import { z } from 'zod';
import { builder } from '../builder.ts';
import { JOB_TAGS_MAX, jobTagList } from '../../core/tags.ts';
import { jsonObject, parseInput } from '../../core/validation.ts';
import type { JobSearch } from '../../jobs/search.ts';
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

const SEARCH_TEXT_MIN = 3;
const SEARCH_TEXT_MAX = 200;
/** Bound on a containment filter's JSON. */
const CONTAINS_MAX_BYTES = 4096;

const searchFields = z.object({
  tags: jobTagList.nullish(),
  metadataContains: jsonObject(CONTAINS_MAX_BYTES).nullish(),
  payloadContains: jsonObject(CONTAINS_MAX_BYTES).nullish(),
  // Three characters: a trigram index cannot narrow a shorter text.
  errorContains: z.string().min(SEARCH_TEXT_MIN, `must be at least ${SEARCH_TEXT_MIN} characters`).max(SEARCH_TEXT_MAX, `must be at most ${SEARCH_TEXT_MAX} characters`).nullish(),
});

/** The filter as a search, its new fields checked (a bad one is a ValidationError naming it under `filter.`). */
export function jobSearch(filter: typeof JobFilter.$inferInput | null | undefined): JobSearch {
  if (!filter) return {};
  const checked = parseInput(searchFields, { tags: filter.tags, metadataContains: filter.metadataContains, payloadContains: filter.payloadContains, errorContains: filter.errorContains }, ['filter']);
  return { ...filter, tags: checked.tags, metadataContains: checked.metadataContains, payloadContains: checked.payloadContains, errorContains: checked.errorContains };
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
  }),
});
