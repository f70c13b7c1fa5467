// The common `jobs` listing (a page of jobs, each with the first page of its
// steps and events, as the dashboard and bench:api ask) read in ONE SQL
// statement through the pg pool and mapped to Prisma's row shapes by hand.
// Through Prisma it took three to five statements, and Prisma's query building
// and row mapping were about half of the request's CPU (bench:api). Any other
// query shape (a nested relation, a count, another order, a viewer token)
// returns null and stays on Prisma (queries.ts, page-relations.ts).
// Tenant: the page is searchPageQuery's (src/jobs/search.ts), which filters by
// the caller's visible tenant and scopes the cursor's row to it, as the
// tenant-scoped Prisma client does; steps and events are read by their job.
import type pg from 'pg';
import type { PrismaClient } from '../../db/prisma.ts';
import { searchPageQuery, type JobSearch, type PageArgs } from '../../jobs/search.ts';
import { isUuid } from '../../core/validation.ts';

interface Field {
  name: string;
  column: string;
  type: string;
}

type RuntimeModel = { fields: Array<{ name: string; kind: string; type: string; dbName?: string; isList?: boolean }> };

/** Column types this module maps as Prisma does; a model with another (Bytes, Decimal, an enum list) is left to Prisma. */
const MAPPED_TYPES = new Set(['String', 'Int', 'Float', 'Boolean', 'DateTime', 'Json', 'BigInt']);

const fieldsByModel = new Map<string, Field[] | null>();

/** A model's scalar fields, from the client's data model (the generated copy of prisma/schema.prisma): a new column maps itself. */
function fieldsOf(prisma: PrismaClient, model: string): Field[] | null {
  let fields = fieldsByModel.get(model);
  if (fields !== undefined) return fields;
  const { models } = (prisma as unknown as { _runtimeDataModel: { models: Record<string, RuntimeModel> } })._runtimeDataModel;
  const scalars = models[model]!.fields.filter((field) => field.kind === 'scalar' || field.kind === 'enum');
  const mapped = scalars.every((field) => (field.kind === 'enum' ? !field.isList : MAPPED_TYPES.has(field.type)));
  fields = mapped ? scalars.map((field) => ({ name: field.name, column: field.dbName ?? field.name, type: field.kind === 'enum' ? 'String' : field.type })) : null;
  fieldsByModel.set(model, fields);
  return fields;
}

interface Relation {
  model: string;
  table: string;
  /** The one order plugin-prisma asks for (the relatedConnection's `query` in types.ts), and the same in SQL. */
  orderBy: string;
  sqlOrder: string;
}

const RELATIONS: Record<string, Relation> = {
  steps: { model: 'JobStep', table: 'job_step', orderBy: JSON.stringify({ position: 'asc' }), sqlOrder: 'r.position' },
  events: { model: 'JobEvent', table: 'job_event', orderBy: JSON.stringify([{ txId: 'asc' }, { id: 'asc' }]), sqlOrder: 'r.tx_id, r.id' },
};

interface NestedPage {
  take: number;
  skip: number;
}

const PAGE_KEYS = new Set(['take', 'skip', 'cursor', 'include']);
const NESTED_KEYS = new Set(['orderBy', 'take', 'skip']);

/** The nested page of a relation when it is a plain first page in its one order with nothing nested in it; null otherwise. */
function nestedPage(relation: Relation, nested: unknown): NestedPage | null {
  if (typeof nested !== 'object' || nested === null) return null;
  const page = nested as { orderBy?: unknown; take?: unknown; skip?: unknown };
  if (!Object.keys(page).every((key) => NESTED_KEYS.has(key)) || JSON.stringify(page.orderBy) !== relation.orderBy) return null;
  const skip = page.skip ?? 0;
  if (!Number.isInteger(page.take) || (page.take as number) <= 0 || !Number.isInteger(skip) || (skip as number) < 0) return null;
  return { take: page.take as number, skip: skip as number };
}

/** What plugin-prisma asked for, when this module can answer it: the page and each relation's nested page. */
function plainListing(query: Record<string, unknown>): { page: PageArgs; relations: Array<[string, NestedPage]> } | null {
  if (!Object.keys(query).every((key) => PAGE_KEYS.has(key))) return null;
  const { take, skip, cursor, include } = query as PageArgs & { include?: Record<string, unknown> };
  if (take !== undefined && !Number.isInteger(take)) return null;
  if (skip !== undefined && (!Number.isInteger(skip) || skip < 0)) return null;
  // A cursor that is no UUID is left to Prisma, whose error names the argument (error-masking.ts).
  if (cursor !== undefined && (typeof cursor !== 'object' || cursor === null || Object.keys(cursor).join() !== 'id' || !isUuid(String(cursor.id)))) return null;
  const relations: Array<[string, NestedPage]> = [];
  for (const [name, nested] of Object.entries(include ?? {})) {
    const relation = RELATIONS[name];
    const page = relation ? nestedPage(relation, nested) : null;
    if (!page) return null;
    relations.push([name, page]);
  }
  return { page: { take, skip, cursor }, relations };
}

/** SQL of a related row as a JSON object keyed by Prisma field (int8 as text: exact). */
function jsonRow(fields: Field[]): string {
  return `json_build_object(${fields.map((field) => `'${field.name}', r."${field.column}"${field.type === 'BigInt' ? '::text' : ''}`).join(', ')})`;
}

/** A related row (from jsonRow) as Prisma gives it: DateTime as Date, BigInt as bigint. */
function fromJson(fields: Field[], row: Record<string, unknown>): Record<string, unknown> {
  for (const field of fields) {
    const value = row[field.name];
    if (value === null) continue;
    if (field.type === 'DateTime') row[field.name] = new Date(value as string);
    else if (field.type === 'BigInt') row[field.name] = BigInt(value as string);
  }
  return row;
}

/**
 * The page of jobs with the asked steps and events pages, as Prisma rows; null
 * when the query asks for something this module does not read (then Prisma does).
 */
export async function listJobsInSql(
  prisma: PrismaClient,
  pool: pg.Pool,
  tenantId: string | null,
  search: JobSearch,
  query: Record<string, unknown>,
): Promise<Array<Record<string, unknown> & { id: string }> | null> {
  const listing = plainListing(query);
  const jobFields = fieldsOf(prisma, 'Job');
  if (!listing || !jobFields) return null;
  const related: Array<{ name: string; fields: Field[] }> = [];
  const { text, values } = searchPageQuery(tenantId, search, listing.page, 'j.*');
  const columns = jobFields.map((field) => `p."${field.column}" as "${field.name}"`);
  for (const [name, page] of listing.relations) {
    const relation = RELATIONS[name]!;
    const fields = fieldsOf(prisma, relation.model);
    if (!fields) return null;
    related.push({ name, fields });
    values.push(page.skip, page.take);
    columns.push(
      `(select coalesce(json_agg(${jsonRow(fields)} order by ${relation.sqlOrder}), '[]'::json) from
         (select * from ${relation.table} r where r.job_id = p.id order by ${relation.sqlOrder} offset $${values.length - 1} limit $${values.length}) r) as "${name}"`,
    );
  }
  const backward = listing.page.take !== undefined && listing.page.take < 0;
  const { rows } = await pool.query<Record<string, unknown> & { id: string }>(
    `select ${columns.join(', ')} from (${text}) p order by p.created_at ${backward ? 'asc' : 'desc'}, p.id ${backward ? 'asc' : 'desc'}`,
    values,
  );
  // node-postgres reads timestamptz as Date, jsonb parsed, real as number, like
  // Prisma; int8 comes as a string and becomes the bigint Prisma gives.
  const bigints = jobFields.filter((field) => field.type === 'BigInt');
  for (const row of rows) {
    for (const field of bigints) if (row[field.name] != null) row[field.name] = BigInt(row[field.name] as string);
    for (const { name, fields } of related) for (const item of row[name] as Array<Record<string, unknown>>) fromJson(fields, item);
  }
  return backward ? rows.reverse() : rows;
}
