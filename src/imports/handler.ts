// The import.qa_pairs job: reads the stored file with its format's parser,
// validates each record and writes the rows in batches (batch.ts). Counters
// move with every batch, so jobUpdated subscribers see them live. A bad row is
// counted and recorded, never stops the import; a file that cannot be read at
// all (e.g. a CSV header without the required columns) fails the job with the
// reason. Cancel and shutdown take effect between batches; a retry resumes
// after the last committed batch.
import type pg from 'pg';
import type { KindConfig } from '../kind-descriptor.ts';
import type { importConfig } from './config.ts';
import { JobKind } from '../generated/prisma/enums.ts';
import { EMPTY_PAYLOAD, NonRetriableError, type JobContext, type JobHandler } from '../core/handler.ts';
import { prepareBatch, signUnsignedPairs, writeBatch, type BatchRow, type BatchResult } from './batch.ts';
import { toErrorRecord } from './errors.ts';
import { readFileText } from './file-store.ts';
import { PARSERS, UnreadableFileError, type SourceRecord } from './parsers/index.ts';
import { IMPORT_JOB_TYPE } from './kind.ts';
import { ImportJobRepository } from './repository.ts';
import { validatePair } from './validation.ts';

export type ImportConfig = Pick<KindConfig<typeof importConfig>, 'IMPORT_UPLOAD_MAX_BYTES' | 'IMPORT_BATCH_SIZE' | 'IMPORT_SIMILARITY_THRESHOLD'>;

export interface ImportHandlerDeps {
  pool: pg.Pool;
  config: ImportConfig;
  /** Called after each committed batch, before the cancel check (tests pause imports here). */
  onBatchCommitted?: (jobId: string, result: BatchResult, signal: AbortSignal) => Promise<void>;
}

function toBatchRow(record: SourceRecord): BatchRow {
  const { row, line } = record;
  if (record.error) return { row, line, error: toErrorRecord(record.error, row, line) };
  const pair = validatePair(row, record.pair);
  return 'question' in pair ? { row, line, pair } : { row, line, error: toErrorRecord(pair, row, line) };
}

/** Runs the format's parser over the stored file; a file-level failure fails the job (retrying cannot help). */
async function* recordsOf(pool: pg.Pool, jobId: string, sourceType: keyof typeof PARSERS): AsyncGenerator<SourceRecord> {
  try {
    yield* PARSERS[sourceType](readFileText(pool, jobId));
  } catch (error) {
    if (error instanceof UnreadableFileError) throw new NonRetriableError(error.message);
    throw error;
  }
}

function reportProgress(ctx: JobContext, processedRowCount: number, rowCount: number) {
  ctx.progress({
    percent: rowCount === 0 ? 100 : Math.min(100, (100 * processedRowCount) / rowCount),
    message: `${processedRowCount} of ${rowCount} rows`,
  });
}

export function createImportHandler(deps: ImportHandlerDeps): JobHandler<Record<string, never>> {
  const repository = new ImportJobRepository(deps.pool);
  const batchSize = deps.config.IMPORT_BATCH_SIZE;

  return {
    jobType: IMPORT_JOB_TYPE,
    description: 'Imports question/answer pairs from an uploaded CSV, JSON or text file (createImportJob).',
    kind: JobKind.IMPORT,
    // The request lives in the import_job row and the file in import_file, not in the payload.
    payload: EMPTY_PAYLOAD,
    async handle(job, ctx) {
      const importJob = await repository.getById(job.id);
      if (!importJob) throw new NonRetriableError(`job ${job.id} has no import_job row`);

      // Counted first so that progress means something from the first batch on;
      // a retry knows the row count already (the stored file does not change).
      let rowCount = importJob.rowCount;
      if (rowCount === 0) {
        for await (const _record of recordsOf(deps.pool, job.id, importJob.sourceType)) rowCount++;
        if (rowCount > 0) await repository.setRowCount(job.id, rowCount);
      }
      ctx.signal.throwIfAborted();

      // Pairs stored other than by an import have no MinHash bands yet; sign
      // them so this import's near-duplicate lookups see them.
      const signed = await signUnsignedPairs(deps.pool);
      if (signed > 0) ctx.logger.info({ signed }, 'signed stored pairs for near-duplicate lookups');

      let progress: BatchResult = {
        processedRowCount: importJob.processedRowCount,
        successCount: importJob.successCount,
        errorCount: importJob.errorCount,
      };
      if (progress.processedRowCount > 0) ctx.logger.info({ resumeAfterRow: progress.processedRowCount }, 'resuming after the last committed batch');
      reportProgress(ctx, progress.processedRowCount, rowCount);

      // Two batches at a time: while one is written (its transaction), the
      // next is read from the file and prepared (prepareBatch: normalised
      // questions, trigrams, MinHash bands), so parsing and hashing in this
      // process overlap the database's work. Writes stay one after another,
      // in row order, each after the previous one committed.
      const resumeAfter = progress.processedRowCount;
      let writing: Promise<void> = Promise.resolve();
      let preparing: Promise<unknown> = Promise.resolve();
      const write = async (rows: BatchRow[]) => {
        const prepared = prepareBatch(deps.pool, rows);
        preparing = prepared.catch(() => undefined);
        // The previous batch commits first: one batch is written while at most one more is prepared.
        await writing;
        writing = (async () => {
          progress = await writeBatch(deps.pool, job.id, await prepared, importJob.duplicatePolicy);
          reportProgress(ctx, progress.processedRowCount, rowCount);
          await deps.onBatchCommitted?.(job.id, progress, ctx.signal);
          // Committed rows stay; cancel (or shutdown) ends the attempt here.
          ctx.signal.throwIfAborted();
        })();
        // Awaited at the next batch or at the end; until then, a failure is not unhandled.
        writing.catch(() => undefined);
      };
      try {
        let batch: BatchRow[] = [];
        for await (const record of recordsOf(deps.pool, job.id, importJob.sourceType)) {
          if (record.row <= resumeAfter) continue;
          batch.push(toBatchRow(record));
          if (batch.length >= batchSize) {
            await write(batch);
            batch = [];
          }
        }
        if (batch.length > 0) await write(batch);
        await writing;
      } finally {
        // Nothing of this attempt runs on after it ends (a failed read, a
        // failed write, cancel): the batch being written commits or fails first.
        await Promise.allSettled([writing, preparing]);
      }

      return {
        success: true,
        resultData: { rowCount, successCount: progress.successCount, errorCount: progress.errorCount },
      };
    },
  };
}
