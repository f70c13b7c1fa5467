// A job row as the create statement returned it (node-postgres, SQL column
// names), in the shape Prisma reads it: createJob answers the job it inserted
// without reading it back (one round trip and one Prisma query fewer per create).
import type { PrismaClient } from '../../db/prisma.ts';
import type { Job } from '../../generated/prisma/client.ts';
import type { InsertedJobRow } from '../../job-state/insert.ts';

interface ScalarField {
  name: string;
  column: string;
  bigint: boolean;
}

let jobFields: ScalarField[] | undefined;

/** Job's scalar fields, from the client's data model (the generated copy of prisma/schema.prisma): a new column maps itself. */
function fieldsOf(prisma: PrismaClient): ScalarField[] {
  if (jobFields) return jobFields;
  type Field = { name: string; kind: string; type: string; dbName?: string };
  const { models } = (prisma as unknown as { _runtimeDataModel: { models: Record<string, { fields: Field[] }> } })._runtimeDataModel;
  jobFields = models.Job!.fields
    .filter((field) => field.kind === 'scalar' || field.kind === 'enum')
    .map((field) => ({ name: field.name, column: field.dbName ?? field.name, bigint: field.type === 'BigInt' }));
  return jobFields;
}

/**
 * The Prisma Job of an inserted row. node-postgres reads timestamptz as Date,
 * jsonb parsed, real as number, like Prisma; int8 comes as a string and
 * becomes the bigint Prisma gives.
 */
export function jobFromInsertedRow(prisma: PrismaClient, row: InsertedJobRow): Job {
  const job: Record<string, unknown> = {};
  for (const field of fieldsOf(prisma)) {
    const value = row[field.column];
    job[field.name] = field.bigint && value != null ? BigInt(value as string) : value;
  }
  return job as unknown as Job;
}

/** Whether Pothos' query for the answer asks for columns only (no relation to load with the row). */
export function selectsColumnsOnly(query: { include?: unknown; select?: unknown }): boolean {
  if (query.include !== undefined) return false;
  return query.select === undefined || Object.values(query.select as Record<string, unknown>).every((value) => value === true);
}
