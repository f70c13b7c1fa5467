// Seed 001's ImportJobRepository against Postgres: what each method stores and
// answers, what the database refuses, and ImportJobNotFoundError for ids it
// does not know.
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_PRINCIPAL } from '../../src/auth/principal.ts';
import { loadConfig } from '../../src/service-config.ts';
import { JobKind } from '../../src/generated/prisma/enums.ts';
import { prepareJob } from '../../src/jobs/create.ts';
import { ImportJobNotFoundError, type ImportErrorRecord } from '../../src/imports/errors.ts';
import { createImportHandler } from '../../src/imports/handler.ts';
import { piecesOf, readFileText, TEXT_PIECE_CHARS } from '../../src/imports/file-store.ts';
import { IMPORT_JOB_TYPE } from '../../src/imports/kind.ts';
import { ERRORS_KEPT, ImportJobRepository } from '../../src/imports/repository.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let repository: ImportJobRepository;
let create: (filename?: string) => ReturnType<ImportJobRepository['create']>;

beforeAll(async () => {
  db = await createTestDatabase();
  repository = new ImportJobRepository(db.pool);
  const config = loadConfig({ DATABASE_URL: db.url, LOG_LEVEL: 'silent' });
  const registry = new HandlerRegistry().register(createImportHandler({ pool: db.pool, config }));
  create = (filename = 'pairs.csv') =>
    repository.create({
      job: prepareJob({ registry, config }, LOCAL_PRINCIPAL, { jobType: IMPORT_JOB_TYPE, payload: {} }, { kind: JobKind.IMPORT }),
      sourceType: 'csv',
      filename,
      fileSize: 123,
      duplicatePolicy: { similarityThreshold: 0.8, action: 'REJECT' },
    });
});

const record = (row: number): ImportErrorRecord => ({
  type: 'ImportValidationError',
  row,
  line: row + 1,
  field: 'answer',
  message: 'answer is required',
  raw_data: null,
  existing_id: null,
  similarity: null,
});

describe('ImportJobRepository', () => {
  it('creates a PENDING import with zero counters and reads it back; an unknown or malformed id reads as null', async () => {
    const created = await create('faq.csv');
    expect(created).toMatchObject({
      status: 'PENDING',
      jobStatus: 'PENDING',
      sourceType: 'csv',
      filename: 'faq.csv',
      fileSize: 123,
      rowCount: 0,
      processedRowCount: 0,
      successCount: 0,
      errorCount: 0,
      errors: [],
      startedAt: null,
    });
    expect(await repository.getById(created.id)).toEqual(created);
    expect(await repository.getById(randomUUID())).toBeNull();
    expect(await repository.getById('not-a-uuid')).toBeNull();
  });

  it('updateProgress sets the counters; the database refuses counters that do not add up and keeps the old ones', async () => {
    const { id } = await create();
    await repository.updateProgress(id, 10, 7, 3);
    expect(await repository.getById(id)).toMatchObject({ processedRowCount: 10, successCount: 7, errorCount: 3 });
    await expect(repository.updateProgress(id, 12, 7, 3)).rejects.toThrow(/import_job_counts_add_up/);
    expect(await repository.getById(id)).toMatchObject({ processedRowCount: 10, successCount: 7, errorCount: 3 });
  });

  it('addError records a structured error; the job keeps the first 1,000 while import_error keeps them all', async () => {
    const { id } = await create();
    await repository.addError(id, record(1));
    expect((await repository.getById(id))!.errors).toEqual([record(1)]);

    await new ImportJobRepository(db.pool).appendErrors(id, Array.from({ length: ERRORS_KEPT + 50 }, (_, i) => record(i + 2)));
    await repository.addError(id, record(ERRORS_KEPT + 52));
    const errors = (await repository.getById(id))!.errors;
    expect(errors).toHaveLength(ERRORS_KEPT);
    expect(errors.map((e) => e.row)).toEqual(Array.from({ length: ERRORS_KEPT }, (_, i) => i + 1));
    const { rows } = await db.pool.query<{ n: number; last: number }>('select count(*)::int as n, max("row") as last from import_error where job_id = $1', [id]);
    expect(rows[0]).toEqual({ n: ERRORS_KEPT + 52, last: ERRORS_KEPT + 52 });
  });

  it('updateStatus applies a move the job status machine allows, answers false for one it does not, and FAILED needs a reason', async () => {
    const cancelled = await create();
    expect(await repository.updateStatus(cancelled.id, 'CANCELLED')).toBe(true);
    expect(await repository.getById(cancelled.id)).toMatchObject({ status: 'CANCELLED', jobStatus: 'CANCELLED' });

    const done = await create();
    expect(await repository.updateStatus(done.id, 'PROCESSING')).toBe(true);
    expect(await repository.getById(done.id)).toMatchObject({ status: 'PROCESSING', jobStatus: 'RUNNING', startedAt: expect.any(Date) });
    expect(await repository.updateStatus(done.id, 'COMPLETED')).toBe(true);
    expect(await repository.updateStatus(done.id, 'PROCESSING')).toBe(false);
    expect(await repository.getById(done.id)).toMatchObject({ status: 'COMPLETED' });

    const failing = await create();
    await repository.updateStatus(failing.id, 'PROCESSING');
    expect(await repository.updateStatus(failing.id, 'FAILED')).toBe(false);
    expect(await repository.getById(failing.id)).toMatchObject({ status: 'PROCESSING' });
    expect(await repository.updateStatus(failing.id, 'FAILED', 'the file is not UTF-8')).toBe(true);
    expect(await repository.getById(failing.id)).toMatchObject({ status: 'FAILED', jobStatus: 'FAILED', errorMessage: 'the file is not UTF-8' });
  });

  it('answers ImportJobNotFoundError for an id it does not know, and changes nothing', async () => {
    const unknown = randomUUID();
    await expect(repository.updateProgress(unknown, 1, 1, 0)).rejects.toThrow(ImportJobNotFoundError);
    await expect(repository.updateStatus(unknown, 'CANCELLED')).rejects.toThrow(ImportJobNotFoundError);
    await expect(repository.updateStatus('not-a-uuid', 'CANCELLED')).rejects.toThrow(`no import job with id not-a-uuid`);
    await expect(repository.addError(unknown, record(1))).rejects.toThrow(ImportJobNotFoundError);
    const { rows } = await db.pool.query<{ n: number }>('select count(*)::int as n from import_error where job_id = $1', [unknown]);
    expect(rows[0]!.n).toBe(0);
  });

  it('listByStatus lists the imports of one status, newest first, up to the limit, and no other kind of job', async () => {
    await db.pool.query(`insert into job (job_type, queue_name, status) values ('system.noop', 'default', 'PENDING')`);
    const before = (await repository.listByStatus('PENDING', 1000)).map((j) => j.id);
    const created = [];
    for (let i = 0; i < 3; i++) created.push((await create(`new-${i}.csv`)).id);
    await repository.updateStatus(created[1]!, 'CANCELLED');

    const pending = await repository.listByStatus('PENDING', 1000);
    expect(pending.every((j) => j.status === 'PENDING')).toBe(true);
    expect(pending.map((j) => j.id)).toEqual([created[2], created[0], ...before]);
    expect((await repository.listByStatus('PENDING', 1)).map((j) => j.id)).toEqual([created[2]]);
    expect((await repository.listByStatus('CANCELLED', 1000)).map((j) => j.id)).toContain(created[1]);
  });

  it('listByStatus reads the status index ix_import_job_status', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query('set local enable_seqscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `explain select j.id from job j join import_job i on i.job_id = j.id
          where j.kind = 'IMPORT' and j.status = any('{PENDING,SCHEDULED}'::job_status[])
          order by j.created_at desc, j.id desc limit 50`,
      );
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/ix_import_job_status/);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });
});

describe('the stored file', () => {
  it('reads back as text across parts: a character or a CRLF split between two parts, and a BOM, come out right', async () => {
    const { id } = await create();
    const bytes = Buffer.from('\uFEFFquestion,answer\r\nCafé — ok?,yes\r\n', 'utf8');
    const splitInE = bytes.indexOf(Buffer.from('é')) + 1; // inside the two bytes of "é"
    const splitInDash = bytes.indexOf(Buffer.from('—')) + 2; // inside the three bytes of "—"
    const splitInCrlf = bytes.indexOf(Buffer.from('\r\n')) + 1; // between CR and LF
    const cuts = [0, splitInCrlf, splitInE, splitInDash, bytes.length];
    for (let part = 0; part < cuts.length - 1; part++) {
      await db.pool.query('insert into import_file (job_id, part, content) values ($1, $2, $3)', [id, part, bytes.subarray(cuts[part], cuts[part + 1])]);
    }
    let text = '';
    for await (const chunk of readFileText(db.pool, id)) text += chunk;
    expect(text).toBe('question,answer\nCafé — ok?,yes\n');
  });

  it('is handed to the parser in pieces of at most TEXT_PIECE_CHARS, none ending inside a surrogate pair', async () => {
    const { id } = await create();
    // An emoji (two UTF-16 code units) across every possible cut: the pieces end before it or after it.
    const line = `${'x'.repeat(TEXT_PIECE_CHARS - 1)}😀,answer\n`;
    const content = `question,answer\n${line}${line}`;
    await db.pool.query('insert into import_file (job_id, part, content) values ($1, 0, $2)', [id, Buffer.from(content, 'utf8')]);
    const pieces: string[] = [];
    for await (const piece of readFileText(db.pool, id)) pieces.push(piece);
    expect(pieces.join('')).toBe(content);
    for (const piece of pieces) {
      expect(piece.length).toBeLessThanOrEqual(TEXT_PIECE_CHARS);
      expect(piece.length).toBeGreaterThan(0);
      expect(Buffer.from(piece, 'utf8').toString('utf8')).toBe(piece); // no lone surrogate at either end
    }
    expect([...piecesOf('ab😀', 3)]).toEqual(['ab', '😀']);
    expect([...piecesOf('😀', 1)]).toEqual(['\ud83d', '\ude00']); // a piece of one code unit cannot hold the pair
  });
});
