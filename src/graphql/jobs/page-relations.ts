// The steps and events of a page of jobs (`jobs { edges { node { steps(first: n)
// events(first: n) } } }`). Prisma loads a nested page of a to-many relation by
// reading every related row of the parents and cutting each parent's page in
// memory: events(first: 10) on a job with 50,000 events read all 50,000 (about
// 0.5-0.9 s a listing). Here the database cuts each job's page (one LATERAL ...
// LIMIT statement for the page's job ids), and Prisma reads those rows by id
// through ctx.prisma, so the caller's tenant and viewer scope apply as before
// and the rows are Prisma's own. Anything but a plain first page (a cursor, a
// filter, another order) keeps Prisma's nested load.
import type pg from 'pg';
import type { PrismaClient } from '../../db/prisma.ts';

interface Relation {
  /** The one order plugin-prisma asks for (the relatedConnection's `query` in types.ts), and the same in SQL. */
  orderBy: string;
  sqlOrder: string;
  table: string;
  find(prisma: PrismaClient, ids: string[], nested: Nested): Promise<Array<{ jobId: string }>>;
}

interface Nested {
  orderBy?: unknown;
  take?: number;
  skip?: number;
  include?: Record<string, unknown>;
}

const RELATIONS: Record<string, Relation> = {
  steps: {
    orderBy: JSON.stringify({ position: 'asc' }),
    sqlOrder: 'position',
    table: 'job_step',
    find: (prisma, ids, nested) => prisma.jobStep.findMany({ where: { id: { in: ids } }, orderBy: { position: 'asc' }, ...(nested.include ? { include: nested.include } : {}) }),
  },
  events: {
    orderBy: JSON.stringify([{ txId: 'asc' }, { id: 'asc' }]),
    sqlOrder: 'tx_id, id',
    table: 'job_event',
    find: (prisma, ids, nested) =>
      prisma.jobEvent.findMany({ where: { id: { in: ids.map((id) => BigInt(id)) } }, orderBy: [{ txId: 'asc' }, { id: 'asc' }], ...(nested.include ? { include: nested.include } : {}) }),
  },
};

const PLAIN_KEYS = new Set(['orderBy', 'take', 'skip', 'include']);

/** A first page in the relation's one order, with nothing else asked: the case loaded here. */
function plainPage(relation: Relation, nested: unknown): nested is Nested {
  if (typeof nested !== 'object' || nested === null) return false;
  const page = nested as Nested;
  return (
    Object.keys(page).every((key) => PLAIN_KEYS.has(key)) &&
    JSON.stringify(page.orderBy) === relation.orderBy &&
    Number.isInteger(page.take) &&
    page.take! > 0 &&
    Number.isInteger(page.skip ?? 0) &&
    (page.skip ?? 0) >= 0
  );
}

type JobQuery = { include?: Record<string, unknown> } & Record<string, unknown>;

/**
 * Runs `load` (the page's jobs) with the plain steps/events pages taken out of
 * plugin-prisma's `query`, then puts each job's page on it, where plugin-prisma
 * reads an included relation.
 */
export async function withPagedRelations<Row extends { id: string }>(
  prisma: PrismaClient,
  pool: pg.Pool,
  query: JobQuery,
  load: (query: JobQuery) => Promise<Row[]>,
): Promise<Row[]> {
  const include = query.include;
  const apart = include ? Object.keys(RELATIONS).filter((name) => plainPage(RELATIONS[name]!, include[name])) : [];
  if (apart.length === 0) return load(query);
  const rest = { ...include };
  for (const name of apart) delete rest[name];
  const jobs = await load({ ...query, include: rest });
  if (jobs.length === 0) return jobs;
  const jobIds = jobs.map((job) => job.id);
  const pages = await Promise.all(
    apart.map(async (name) => {
      const relation = RELATIONS[name]!;
      const nested = include![name] as Nested;
      const { rows } = await pool.query<{ id: string }>(
        `select page.id::text as id from unnest($1::uuid[]) as parent(id)
         cross join lateral (select id from ${relation.table} where job_id = parent.id order by ${relation.sqlOrder} offset $2 limit $3) as page`,
        [jobIds, nested.skip ?? 0, nested.take],
      );
      const byJob = new Map<string, unknown[]>();
      if (rows.length > 0) {
        for (const row of await relation.find(prisma, rows.map((row) => row.id), nested)) {
          const list = byJob.get(row.jobId);
          if (list) list.push(row);
          else byJob.set(row.jobId, [row]);
        }
      }
      return [name, byJob] as const;
    }),
  );
  for (const job of jobs) {
    for (const [name, byJob] of pages) (job as Record<string, unknown>)[name] = byJob.get(job.id) ?? [];
  }
  return jobs;
}
