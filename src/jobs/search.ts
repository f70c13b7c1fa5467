// Searching jobs by what Prisma's filters cannot say: metadata and payload
// containment (jsonb @>) and text in the error (ILIKE, served by a trigram
// index). Prisma's Json filters have no object containment (its array_contains
// also requires a JSON array), so `jobs(filter)` with one of these asks this
// module for a page of ids in SQL, then loads those rows through Prisma.
import { z } from 'zod';
import type { Queryable } from '../db/pool.ts';
import { jobTagList } from '../core/tags.ts';
import { jsonObject, parseInput } from '../core/validation.ts';

export const SEARCH_TEXT_MIN = 3;
export const SEARCH_TEXT_MAX = 200;
/** Bound on a containment filter's JSON. */
const CONTAINS_MAX_BYTES = 4096;

const searchFields = z.object({
  tags: jobTagList.nullish(),
  metadataContains: jsonObject(CONTAINS_MAX_BYTES).nullish(),
  payloadContains: jsonObject(CONTAINS_MAX_BYTES).nullish(),
  // Three characters: a trigram index cannot narrow a shorter text.
  errorContains: z
    .string()
    .min(SEARCH_TEXT_MIN, `must be at least ${SEARCH_TEXT_MIN} characters`)
    .max(SEARCH_TEXT_MAX, `must be at most ${SEARCH_TEXT_MAX} characters`)
    .nullish(),
});

/** Checks the search fields of an input (the API's JobFilter, the CLI's flags); a bad one is a ValidationError naming it under `path`. */
export function checkSearchFields(input: { tags?: unknown; metadataContains?: unknown; payloadContains?: unknown; errorContains?: unknown }, path: string[]) {
  return parseInput(searchFields, { tags: input.tags, metadataContains: input.metadataContains, payloadContains: input.payloadContains, errorContains: input.errorContains }, path);
}

export interface JobSearch {
  statuses?: readonly string[] | null;
  kinds?: readonly string[] | null;
  queueNames?: readonly string[] | null;
  jobTypes?: readonly string[] | null;
  createdBy?: readonly string[] | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  tags?: readonly string[] | null;
  metadataContains?: Record<string, unknown> | null;
  payloadContains?: Record<string, unknown> | null;
  errorContains?: string | null;
  /** Not jobs of these types (those whose payload is redacted for readers, when searching the payload). */
  excludeJobTypes?: readonly string[] | null;
  /** Only these tenants' jobs (the CLI's --tenant); narrows the caller's tenant, never widens it. */
  tenantIds?: readonly string[] | null;
}

/** Whether a search needs SQL (a filter Prisma cannot express). */
export function needsSqlSearch(search: JobSearch | null | undefined): boolean {
  return Boolean(search && (search.metadataContains || search.payloadContains || search.errorContains));
}

/** A page as Prisma takes it (what plugin-prisma's connections pass): take < 0 pages backward from the cursor. */
export interface PageArgs {
  take?: number;
  skip?: number;
  cursor?: { id: string };
}

/** ILIKE's wildcards in a search text match themselves. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The where clause of a search over `job j` (tenant null: every tenant) and its parameters. */
export function searchCondition(tenantId: string | null, search: JobSearch): { sql: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const where: string[] = [];
  // The tenant is written as a plain equality (not "$1 is null or ..."), so the
  // planner sees it and can use job_tenant_created_idx.
  if (tenantId !== null) where.push(`j.tenant_id = ${param(tenantId)}`);
  if (search.tenantIds?.length) where.push(`j.tenant_id = any(${param(search.tenantIds)}::text[])`);
  if (search.statuses?.length) where.push(`j.status::text = any(${param(search.statuses)}::text[])`);
  if (search.kinds?.length) where.push(`j.kind::text = any(${param(search.kinds)}::text[])`);
  if (search.queueNames?.length) where.push(`j.queue_name = any(${param(search.queueNames)}::text[])`);
  if (search.jobTypes?.length) where.push(`j.job_type = any(${param(search.jobTypes)}::text[])`);
  if (search.excludeJobTypes?.length) where.push(`j.job_type <> all(${param(search.excludeJobTypes)}::text[])`);
  if (search.createdBy?.length) where.push(`j.created_by = any(${param(search.createdBy)}::text[])`);
  if (search.createdAfter) where.push(`j.created_at >= ${param(search.createdAfter)}`);
  if (search.createdBefore) where.push(`j.created_at < ${param(search.createdBefore)}`);
  if (search.tags?.length) where.push(`j.tags @> ${param(search.tags)}::text[]`);
  if (search.metadataContains) where.push(`j.metadata @> ${param(JSON.stringify(search.metadataContains))}::jsonb`);
  if (search.payloadContains) where.push(`j.payload @> ${param(JSON.stringify(search.payloadContains))}::jsonb`);
  if (search.errorContains) where.push(`j.error_message ilike ${param(likeContains(search.errorContains))}`);
  return { sql: where.length ? where.join(' and ') : 'true', values };
}

/** The SQL of one page of a search, newest first (as NEWEST_FIRST), selecting `columns` of `job j`, and its parameters. */
/**
 * The statement of one page of a search. `inlinePage`: the page's size and
 * offset written into the text as numbers instead of parameters, so that
 * Postgres can plan a prepared statement of it once (a `limit` parameter makes
 * the generic plan look costlier than each custom one, and Postgres then plans
 * it again at every execution).
 */
export function searchPageQuery(
  tenantId: string | null,
  search: JobSearch,
  page: PageArgs,
  columns = 'j.id',
  inlinePage = false,
): { text: string; values: unknown[] } {
  const { sql, values } = searchCondition(tenantId, search);
  const take = page.take ?? null;
  const backward = take !== null && take < 0;
  const conditions = [sql];
  let skip = page.skip ?? 0;
  if (page.cursor) {
    values.push(page.cursor.id);
    // Prisma's cursor includes its own row; skip: 1 (what connections pass) leaves it out.
    const inclusive = skip === 0;
    if (!inclusive) skip -= 1;
    const cursorTenant = tenantId !== null ? ` and c.tenant_id = $1` : '';
    const op = backward ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
    conditions.push(`(j.created_at, j.id) ${op} (select c.created_at, c.id from job c where c.id = $${values.length}::uuid${cursorTenant})`);
  }
  const order = backward ? 'j.created_at asc, j.id asc' : 'j.created_at desc, j.id desc';
  if (inlinePage) {
    if ((take !== null && !Number.isInteger(take)) || !Number.isInteger(skip)) throw new Error('a page written into the statement needs integer take and skip');
    const limit = take === null ? 'all' : String(Math.abs(take));
    return { text: `select ${columns} from job j where ${conditions.join(' and ')} order by ${order} limit ${limit} offset ${skip}`, values };
  }
  values.push(take === null ? null : Math.abs(take), skip);
  const text = `select ${columns} from job j where ${conditions.join(' and ')} order by ${order} limit $${values.length - 1} offset $${values.length}`;
  return { text, values };
}

/** The ids of one page of a search (newest first; a backward page too). */
export async function searchJobIds(db: Queryable, tenantId: string | null, search: JobSearch, page: PageArgs): Promise<string[]> {
  const { text, values } = searchPageQuery(tenantId, search, page);
  const { rows } = await db.query<{ id: string }>(text, values);
  const ids = rows.map((row) => row.id);
  return page.take !== undefined && page.take < 0 ? ids.reverse() : ids;
}

/** How many jobs a search finds. */
export async function countJobs(db: Queryable, tenantId: string | null, search: JobSearch): Promise<number> {
  const { sql, values } = searchCondition(tenantId, search);
  const { rows } = await db.query<{ count: number }>(`select count(*)::int as count from job j where ${sql}`, values);
  return rows[0]!.count;
}
