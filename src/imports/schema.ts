// The GraphQL surface of imports: ImportJob (a Job) with its counters and its
// paginated errors, createImportJob (a multipart upload), importJob,
// importJobs and qaPairs.
import { NEWEST_FIRST } from '../jobs/order.ts';
import { builder } from '../graphql/builder.ts';
import { renamedTo } from '../graphql/renamed.ts';
import { kindConfig } from '../kind-descriptor.ts';
import { importConfig } from './config.ts';
import { JobKind } from '../generated/prisma/enums.ts';
import { TenantQuotaExceededError, ValidationError } from '../core/errors.ts';
import { JobRef, parseJobId, registerJobKindType, withId } from '../graphql/jobs/schema.ts';
import { JobStatusEnum } from '../graphql/jobs/schema-enums.ts';
import { parseInput } from '../core/validation.ts';
import { z } from 'zod';
import { createImportJob } from './create.ts';
import type { SourceType } from './parsers/index.ts';
import { importStatusOf, ImportJobStatus } from './kind.ts';
import { createdResultOptions, idempotencyInputFields, markCreated } from '../graphql/flow/schema-inputs.ts';

registerJobKindType(JobKind.IMPORT, 'ImportJob');

const ImportSourceTypeEnum = builder.enumType('ImportSourceType', {
  description: 'The format of an import file.',
  values: {
    CSV: { value: 'csv', description: 'A header row naming question, answer and optionally tags, then one pair per row (RFC 4180).' },
    JSON: { value: 'json', description: 'An array of {question, answer, tags} objects, or JSON Lines (one object per line).' },
    TEXT: { value: 'text', description: '"Q:" / "A:" (optionally "Tags:") blocks separated by blank lines.' },
  } as const,
});

const DuplicateActionEnum = builder.enumType('DuplicateAction', {
  description: 'What an import does with a near duplicate (an exact duplicate is never stored).',
  values: {
    REJECT: { description: 'Not stored: a DuplicateDetectedError naming the pair it repeats and the similarity.' },
    FLAG: { description: 'Stored, with `duplicateOfId` and `duplicateSimilarity` set on the QaPair.' },
  } as const,
});

const DuplicatePolicyInput = builder.inputType('DuplicatePolicyInput', {
  description: 'What counts as a near duplicate in this import and what it does.',
  fields: (t) => ({
    similarityThreshold: t.float({
      required: false,
      description: 'pg_trgm similarity (0.5..1) of normalised questions from which a row is a near duplicate. Default IMPORT_SIMILARITY_THRESHOLD.',
    }),
    action: t.field({ type: DuplicateActionEnum, required: false, description: 'Default REJECT.' }),
  }),
});

const DuplicatePolicyRef = builder.objectRef<{ similarityThreshold: number; duplicateAction: string }>('DuplicatePolicy').implement({
  description: "An import's near-duplicate threshold and action.",
  fields: (t) => ({
    similarityThreshold: t.exposeFloat('similarityThreshold'),
    action: t.field({ type: DuplicateActionEnum, resolve: (policy) => policy.duplicateAction as 'REJECT' }),
  }),
});

const ImportJobStatusEnum = builder.enumType('ImportJobStatus', {
  description:
    "Seed 001's import status, a view of the job's status: PENDING (PENDING, SCHEDULED), PROCESSING (RUNNING, RETRYING), COMPLETED, FAILED (FAILED, DEAD_LETTER), CANCELLED.",
  values: Object.values(ImportJobStatus),
});

const ImportErrorTypeEnum = builder.enumType('ImportErrorType', {
  values: {
    ParseError: { description: 'The record could not be read (malformed CSV row, invalid JSON, a text block without Q:/A:).' },
    ImportValidationError: { description: 'The record breaks a rule; `field` names it.' },
    DuplicateDetectedError: { description: 'The question is stored already (exactly, or nearly: `similarity`); `existingId` names that pair.' },
  } as const,
});

builder.prismaObject('ImportError', {
  description: 'One bad row of an import: counted, recorded, and not stored.',
  fields: (t) => ({
    type: t.field({ type: ImportErrorTypeEnum, resolve: (error) => error.type as 'ParseError' }),
    row: t.exposeInt('row', { description: "The record's position among the file's records (1-based; a CSV header is not a row)." }),
    line: t.exposeInt('line', { description: 'The line of the file the record starts on (1-based).' }),
    field: t.exposeString('field', { nullable: true }),
    message: t.exposeString('message'),
    rawData: t.exposeString('rawData', { nullable: true, description: 'The text of a record that could not be read (at most 500 characters).' }),
    existingId: t.exposeID('existingId', { nullable: true, description: 'The QaPair a duplicate repeats.' }),
    similarity: t.exposeFloat('similarity', { nullable: true, description: 'pg_trgm similarity to that pair; 1 for an exact duplicate.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

// The kind row's columns without errors (the JSON list can hold 1,000 records).
const counters = {
  select: {
    importJob: {
      select: {
        sourceType: true,
        filename: true,
        fileSize: true,
        rowCount: true,
        processedRowCount: true,
        successCount: true,
        errorCount: true,
        similarityThreshold: true,
        duplicateAction: true,
      },
    },
  },
} as const;

export const ImportJobRef = builder.prismaNode('Job', {
  // node/nodes answer null for a missing id (or another tenant's), not an error.
  nullable: true,
  variant: 'ImportJob',
  description: 'Imports question/answer pairs from an uploaded CSV, JSON or text file (createImportJob).',
  interfaces: [JobRef],
  id: { field: 'id' },
  fields: (t) => ({
    importStatus: t.field({ type: ImportJobStatusEnum, select: { status: true }, resolve: (job) => importStatusOf(job.status) }),
    sourceType: t.field({ ...counters, type: ImportSourceTypeEnum, resolve: (job) => job.importJob!.sourceType as SourceType }),
    filename: t.string({ ...counters, resolve: (job) => job.importJob!.filename }),
    fileSize: t.int({ ...counters, description: 'Bytes.', resolve: (job) => Number(job.importJob!.fileSize) }),
    rowCount: t.int({ ...counters, description: 'Records in the file, known once a worker has read it (seed 001: total_rows).', resolve: (job) => job.importJob!.rowCount }),
    processedRowCount: t.int({
      ...counters,
      description: 'Rows handled so far (successCount + errorCount); moves with every committed batch.',
      resolve: (job) => job.importJob!.processedRowCount,
    }),
    totalRows: t.int({ ...counters, deprecationReason: renamedTo('rowCount'), resolve: (job) => job.importJob!.rowCount }),
    processedRows: t.int({ ...counters, deprecationReason: renamedTo('processedRowCount'), resolve: (job) => job.importJob!.processedRowCount }),
    successCount: t.int({ ...counters, description: 'Rows stored as QaPairs.', resolve: (job) => job.importJob!.successCount }),
    errorCount: t.int({ ...counters, description: 'Bad rows (all of them are in `errors`).', resolve: (job) => job.importJob!.errorCount }),
    duplicatePolicy: t.field({ ...counters, type: DuplicatePolicyRef, resolve: (job) => job.importJob! }),
    errors: t.relatedConnection('importErrors', {
      cursor: 'id',
      totalCount: true,
      description: 'Bad rows, in row order.',
      query: { orderBy: { id: 'asc' } },
    }),
  }),
});

const QaPairRef = builder.prismaObject('QaPair', {
  description: 'A question and its answer.',
  fields: (t) => ({
    id: t.exposeID('id'),
    question: t.exposeString('question'),
    answer: t.exposeString('answer'),
    tags: t.exposeStringList('tags'),
    importJobId: t.exposeID('importJobId', { nullable: true, description: 'The import that stored it (null once that job is purged).' }),
    importRow: t.exposeInt('importRow', { nullable: true, description: "Its row in that import's file." }),
    duplicateOfId: t.exposeID('duplicateOf', {
      nullable: true,
      description: 'Set when an import with duplicate action FLAG stored it although it nearly repeats this pair.',
    }),
    duplicateSimilarity: t.exposeFloat('duplicateSimilarity', { nullable: true, description: 'pg_trgm similarity to `duplicateOfId`.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const importWhere = (id: string) => ({ id, kind: JobKind.IMPORT });
const SEARCH_MAX_LENGTH = 200;
const searchSchema = z.string().trim().max(SEARCH_MAX_LENGTH, `must be at most ${SEARCH_MAX_LENGTH} characters`);

builder.queryFields((t) => ({
  importJob: t.prismaField({
    type: ImportJobRef,
    nullable: true,
    description: 'An ImportJob by its global ID or UUID; null when there is none.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.job.findFirst({ ...withId(query), where: importWhere(parseJobId(String(args.id))) }),
  }),
  importJobs: t.prismaConnection({
    type: ImportJobRef,
    cursor: 'id',
    description: 'ImportJobs, newest first; optionally of one status.',
    args: { status: t.arg({ type: JobStatusEnum, required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.job.findMany({
        ...query,
        where: { kind: JobKind.IMPORT, ...(args.status ? { status: args.status } : {}) },
        orderBy: NEWEST_FIRST,
      }),
  }),
  qaPairs: t.prismaConnection({
    type: QaPairRef,
    cursor: 'id',
    description: 'Stored pairs, newest first; with `search`, those whose question contains it (ignoring case and spacing).',
    args: { search: t.arg.string({ required: false }) },
    resolve: (query, _root, args, ctx) => {
      // Normalised like qa_pair.question_normalised (lower case, one space), which the trigram index serves.
      const search = args.search ? parseInput(searchSchema, args.search, ['search']).toLowerCase().replace(/\s+/g, ' ') : '';
      return ctx.prisma.qaPair.findMany({
        ...query,
        where: search ? { questionNormalised: { contains: search } } : {},
        orderBy: NEWEST_FIRST,
      });
    },
  }),
}));

const CreateImportJobInput = builder.inputType('CreateImportJobInput', {
  fields: (t) => ({
    file: t.field({ type: 'File', required: true, description: 'The file (multipart upload), at most IMPORT_UPLOAD_MAX_BYTES (default 20 MB).' }),
    sourceType: t.field({ type: ImportSourceTypeEnum, required: false, description: "Detected from the file's name and content when absent." }),
    priority: t.int({ required: false, description: '-1000..1000, higher runs first. Default 0.' }),
    maxRetries: t.int({ required: false, description: '0..100 automatic retries of the job. Default 3.' }),
    duplicatePolicy: t.field({ type: DuplicatePolicyInput, required: false, description: 'Near-duplicate threshold and action for this import.' }),
    ...idempotencyInputFields(t),
  }),
});

builder.mutationFields((t) => ({
  createImportJob: t.prismaField({
    type: ImportJobRef,
    description:
      'Stores the file and queues its import (in one transaction). An upload that is too large, empty, binary, of an unknown format or a CSV without the question and answer columns is refused and changes nothing.',
    errors: { types: [ValidationError, TenantQuotaExceededError], directResult: false, result: createdResultOptions },
    args: { input: t.arg({ type: CreateImportJobInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const answer = await createImportJob({ ...ctx, config: kindConfig(ctx.config, importConfig) }, ctx.caller, args.input);
      return markCreated(await ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id: answer.id } }), answer);
    },
  }),
}));
