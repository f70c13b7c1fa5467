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
// Columns: only those the GraphQL selection reads (listingColumns below), every
// column when a field asked computes from the row.
// Nested pages: each row carries the steps and events pages it read, and the
// steps and events connections answer them from it (answerListedPages below)
// instead of through plugin-prisma's per-row mapping lookup.
import { createHash } from 'node:crypto';
import { formatPrismaCursor } from '@pothos/plugin-prisma';
import {
  getNamedType,
  isAbstractType,
  isObjectType,
  Kind,
  type FieldNode,
  type GraphQLField,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type GraphQLSchema,
} from 'graphql';
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

/** What listingColumns reads of a request's info. */
export type ListingInfo = Pick<GraphQLResolveInfo, 'schema' | 'fragments' | 'fieldNodes' | 'returnType'>;

/** The fields asked beneath `nodes`, by name: aliases and fragments merged, @skip and @include ignored (a superset of what runs). */
function fieldsAsked(info: ListingInfo, nodes: readonly FieldNode[]): Map<string, FieldNode[]> {
  const asked = new Map<string, FieldNode[]>();
  const spread = new Set<string>();
  const walk = (selections: FieldNode['selectionSet']) => {
    for (const selection of selections?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const list = asked.get(selection.name.value);
        if (list) list.push(selection);
        else asked.set(selection.name.value, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!spread.has(selection.name.value)) {
        spread.add(selection.name.value);
        walk(info.fragments[selection.name.value]?.selectionSet);
      }
    }
  };
  for (const node of nodes) walk(node.selectionSet);
  return asked;
}

/** Fields of a connection (and of its edges) that read nothing of a row but its id. */
const CONNECTION_FIELDS = new Set(['__typename', 'pageInfo', 'totalCount']);
const EDGE_FIELDS = new Set(['__typename', 'cursor']);

/** The `node` fields beneath a connection's edges; null when the connection is asked for anything else. */
function nodesAsked(info: ListingInfo, connection: readonly FieldNode[]): FieldNode[] | null {
  const nodes: FieldNode[] = [];
  for (const [name, fields] of fieldsAsked(info, connection)) {
    if (name === 'edges') {
      for (const [edgeField, edgeNodes] of fieldsAsked(info, fields)) {
        if (edgeField === 'node') nodes.push(...edgeNodes);
        else if (!EDGE_FIELDS.has(edgeField)) return null;
      }
    } else if (!CONNECTION_FIELDS.has(name)) return null;
  }
  return nodes;
}

/** The object types a connection's nodes can be (an interface's implementations); null for another shape. */
function nodeTypes(info: ListingInfo, connection: GraphQLNamedType): readonly GraphQLObjectType[] | null {
  const edges = isObjectType(connection) ? connection.getFields().edges : undefined;
  const edge = edges && getNamedType(edges.type);
  const node = edge && isObjectType(edge) ? edge.getFields().node : undefined;
  const type = node && getNamedType(node.type);
  if (!type) return null;
  if (isObjectType(type)) return [type];
  return isAbstractType(type) ? info.schema.getPossibleTypes(type) : null;
}

/**
 * The model fields one GraphQL field reads of its parent row, as Pothos declares
 * them: the column a `t.expose*` field exposes (pothosExposedField), the
 * columns of a field's plugin-prisma `select` when that names columns only, and
 * the row's id for the Node `id` of a prismaNode (every Job type's is
 * `id: { field: 'id' }`). Null when the field computes from the row otherwise.
 */
function readsOf(type: GraphQLObjectType, field: GraphQLField<unknown, unknown>, byName: ReadonlyMap<string, Field>): string[] | null {
  const exposed = field.extensions?.pothosExposedField;
  if (typeof exposed === 'string') return byName.has(exposed) ? [exposed] : null;
  const select = field.extensions?.pothosPrismaSelect;
  if (typeof select === 'object' && select !== null) {
    const entries = Object.entries(select);
    return entries.every(([name, value]) => value === true && byName.has(name)) ? entries.map(([name]) => name) : null;
  }
  if (field.name === 'id' && type.extensions?.pothosPrismaLoader && type.getInterfaces().some((face) => face.name === 'Node')) return ['id'];
  return null;
}

/**
 * The fields of a model that the nodes asked read: `always`, and what each
 * asked field reads (readsOf); every field when an asked field computes from
 * the row (error, result, metadata, kindDetail, ...), so a resolver always
 * finds what it reads. A plugin-prisma relation field that `relation` takes
 * (by its Prisma relation: one this module reads itself) reads no column.
 */
function fieldsRead(
  info: ListingInfo,
  types: readonly GraphQLObjectType[],
  fields: Field[],
  always: readonly string[],
  nodes: readonly FieldNode[],
  relation: (relationName: string, nodes: FieldNode[], type: GraphQLNamedType) => boolean = () => false,
): Field[] {
  const byName = new Map(fields.map((field) => [field.name, field]));
  const read = new Set(always);
  for (const [name, asked] of fieldsAsked(info, nodes)) {
    if (name === '__typename') continue;
    for (const type of types) {
      const field = type.getFields()[name];
      if (!field) continue;
      const relationName = (field.extensions?.pothosPrismaRelationField as { name?: string } | undefined)?.name;
      if (relationName !== undefined && relation(relationName, asked, getNamedType(field.type))) continue;
      const reads = readsOf(type, field, byName);
      if (!reads) return fields;
      for (const column of reads) read.add(column);
    }
  }
  return fields.filter((field) => read.has(field.name));
}

interface ListingColumns {
  job: Field[];
  related: Map<string, Field[]>;
}

/**
 * What a `jobs` field of a parsed document reads (listingColumns), by its first
 * field node: the document is parsed once (yoga's cache), so it is walked once.
 * The nodes merged into the field (which @skip and @include choose) and the
 * schema must be the same as when it was walked.
 */
const columnsByField = new WeakMap<FieldNode, { schema: ListingInfo['schema']; nodes: readonly FieldNode[]; columns: ListingColumns }>();

/**
 * The fields of Job, and of each related model, that the `jobs` field's
 * selection reads. Always the job's id (node id, cursor), kind (the node's
 * type) and createdAt (the order); a step's and an event's id (their cursors).
 */
function listingColumns(info: ListingInfo, jobFields: Field[], related: ReadonlyMap<string, Field[]>): ListingColumns {
  const cached = columnsByField.get(info.fieldNodes[0]!);
  if (cached && cached.schema === info.schema && cached.nodes.length === info.fieldNodes.length && cached.nodes.every((node, index) => node === info.fieldNodes[index])) {
    return cached.columns;
  }
  let columns: ListingColumns;
  const all = { job: jobFields, related: new Map(related) };
  const jobNodes = nodesAsked(info, info.fieldNodes);
  const jobTypes = nodeTypes(info, getNamedType(info.returnType));
  if (!jobNodes || !jobTypes) columns = all;
  else {
    const narrowed = new Map<string, Field[]>();
    const job = fieldsRead(info, jobTypes, jobFields, ['id', 'kind', 'createdAt'], jobNodes, (name, asked, connection) => {
      const fields = related.get(name);
      if (!fields) return false;
      const nodes = nodesAsked(info, asked);
      const types = nodeTypes(info, connection);
      const read = nodes && types ? fieldsRead(info, types, fields, ['id'], nodes) : fields;
      // A relation asked twice (aliases) reads what either asks.
      const before = narrowed.get(name);
      narrowed.set(name, before ? fields.filter((field) => before.includes(field) || read.includes(field)) : read);
      return true;
    });
    columns = { job, related: new Map([...related].map(([name, fields]) => [name, narrowed.get(name) ?? fields])) };
  }
  columnsByField.set(info.fieldNodes[0]!, { schema: info.schema, nodes: [...info.fieldNodes], columns });
  return columns;
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

/** Statements named so far (each connection then parses and plans it once); bounded, as a selection's columns and page sizes are the client's to vary. */
const named = new Set<string>();
const NAMED_MAX = 200;

/** A name for the statement, so Postgres parses it once per connection (and, once it has run a few times, plans it once); none past NAMED_MAX texts. */
function statementName(text: string): string | undefined {
  const name = `jobs-listing-${createHash('sha1').update(text).digest('base64url')}`;
  if (named.has(name)) return name;
  if (named.size >= NAMED_MAX) return undefined;
  named.add(name);
  return name;
}

/**
 * The page of jobs with the asked steps and events pages, as Prisma rows with
 * the columns the selection reads (listingColumns); null when the query asks
 * for something this module does not read (then Prisma does).
 */
export async function listJobsInSql(
  prisma: PrismaClient,
  pool: pg.Pool,
  tenantId: string | null,
  search: JobSearch,
  query: Record<string, unknown>,
  info: ListingInfo,
): Promise<Array<Record<string, unknown> & { id: string }> | null> {
  const listing = plainListing(query);
  const jobFields = fieldsOf(prisma, 'Job');
  if (!listing || !jobFields) return null;
  const relationFields = new Map<string, Field[]>();
  for (const [name, relation] of Object.entries(RELATIONS)) {
    const fields = fieldsOf(prisma, relation.model);
    if (!fields) return null;
    relationFields.set(name, fields);
  }
  const read = listingColumns(info, jobFields, relationFields);
  const related: Array<{ name: string; fields: Field[] }> = [];
  // Page sizes and offsets are written into the text (integers, checked by plainListing and nestedPage): with them as
  // parameters Postgres planned the statement again at every execution (0.17-0.3 ms of its CPU), the generic plan's
  // unknown limits costing more than each custom plan; as numbers, it plans it once per connection.
  const { text, values } = searchPageQuery(tenantId, search, listing.page, read.job.map((field) => `j."${field.column}"`).join(', '), true);
  const columns = read.job.map((field) => `p."${field.column}" as "${field.name}"`);
  for (const [name, page] of listing.relations) {
    const relation = RELATIONS[name]!;
    const fields = read.related.get(name)!;
    related.push({ name, fields });
    columns.push(
      `(select coalesce(json_agg(${jsonRow(fields)} order by ${relation.sqlOrder}), '[]'::json) from
         (select * from ${relation.table} r where r.job_id = p.id order by ${relation.sqlOrder} offset ${page.skip} limit ${page.take}) r) as "${name}"`,
    );
  }
  const backward = listing.page.take !== undefined && listing.page.take < 0;
  const statement = `select ${columns.join(', ')} from (${text}) p order by p.created_at ${backward ? 'asc' : 'desc'}, p.id ${backward ? 'asc' : 'desc'}`;
  const { rows } = await pool.query<Record<string, unknown> & { id: string }>({ name: statementName(statement), text: statement, values });
  // node-postgres reads timestamptz as Date, jsonb parsed, real as number, like
  // Prisma; int8 comes as a string and becomes the bigint Prisma gives.
  const bigints = read.job.filter((field) => field.type === 'BigInt');
  const pages = new Map(listing.relations);
  for (const row of rows) {
    (row as Listed)[LISTED_PAGES] = pages;
    for (const field of bigints) if (row[field.name] != null) row[field.name] = BigInt(row[field.name] as string);
    for (const { name, fields } of related) for (const item of row[name] as Array<Record<string, unknown>>) fromJson(fields, item);
  }
  return backward ? rows.reverse() : rows;
}

/** On each row listJobsInSql answers: the page of each relation it read (plugin-prisma's take and skip). */
const LISTED_PAGES = Symbol('listed pages');
type Listed = Record<string, unknown> & { [LISTED_PAGES]?: ReadonlyMap<string, NestedPage> };

/** An edge of a listed page, as plugin-prisma's wrapConnectionResult makes it; the cursor is made when read. */
class ListedEdge {
  constructor(
    readonly connection: object,
    readonly node: Record<string, unknown>,
  ) {}
  get cursor(): string {
    return formatPrismaCursor(this.node, 'id');
  }
}

interface PageArguments {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/**
 * The connection of a listed page, exactly as plugin-prisma's relatedConnection
 * answers it from the rows on its parent (wrapConnectionResult: the extra row
 * read says there is a next page and is dropped; the cursor of a row is its
 * `id`'s), when the field asks the page the statement read: `first` alone, of
 * the size plugin-prisma planned (take = first + 1, skip 0). Null otherwise
 * (another alias's arguments, `after`, `last`): plugin-prisma answers it.
 */
function listedConnection(parent: Listed, name: string, args: PageArguments): object | null {
  const page = parent[LISTED_PAGES]?.get(name);
  if (!page || page.skip !== 0 || args.after != null || args.before != null || args.last != null) return null;
  if (typeof args.first !== 'number' || args.first + 1 !== page.take) return null;
  const rows = parent[name] as Array<Record<string, unknown>>;
  const full = rows.length === page.take;
  const nodes = full ? rows.slice(0, -1) : rows;
  const edges: ListedEdge[] = [];
  const connection = {
    parent,
    args,
    totalCount: undefined,
    edges,
    pageInfo: { startCursor: null as string | null, endCursor: null as string | null, hasPreviousPage: false, hasNextPage: full },
  };
  for (const node of nodes) edges.push(new ListedEdge(connection, node));
  if (edges.length) {
    connection.pageInfo.startCursor = edges[0]!.cursor;
    connection.pageInfo.endCursor = edges.length === 1 ? connection.pageInfo.startCursor : edges[edges.length - 1]!.cursor;
  }
  return connection;
}

/**
 * Makes the steps and events connections of every Job type answer a row of
 * listJobsInSql from the page it carries (listedConnection), before
 * plugin-prisma's resolver, which would look up its selection mapping by the
 * response path, merge the connection's query and wrap the same rows, for each
 * of the page's jobs (100 times a request for bench:api's page). Any other
 * parent, or arguments other than the page read, go to plugin-prisma's resolver
 * as before. Called once on the built schema (http/schema.ts).
 */
export function answerListedPages(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.extensions?.pothosPrismaModel !== 'Job') continue;
    for (const field of Object.values(type.getFields())) {
      const relation = (field.extensions?.pothosPrismaRelationField as { name?: string; type?: string } | undefined) ?? undefined;
      if (!relation?.name || RELATIONS[relation.name]?.model !== relation.type || !field.resolve) continue;
      const name = relation.name;
      const resolve: GraphQLFieldResolver<unknown, unknown> = field.resolve;
      field.resolve = (parent, args, context, info) => listedConnection(parent as Listed, name, args as PageArguments) ?? resolve(parent, args, context, info);
    }
  }
}
