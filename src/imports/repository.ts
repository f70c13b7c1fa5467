// Seed 001's ImportJobRepository over Postgres. The job row is the core's
// (status machine, history, queue entry); the import_job row holds what is
// particular to imports. Method names are the seed's own, so the contract
// reads one-to-one against the specification. Counters move in single SQL
// statements so concurrent writers cannot lose updates.
import type { Queryable } from '../db/pool.ts';
import { JobKind, type JobStatus } from '../generated/prisma/enums.ts';
import type { NewJob } from '../job-state/insert.ts';
import { insertJobs } from '../job-state/insert.ts';
import { applyTransition } from '../job-state/transition.ts';
import { ImportJobNotFoundError, type ImportErrorRecord } from './errors.ts';
import type { SourceType } from './parsers/index.ts';
import { importStatusOf, JOB_STATUSES_OF, jobStatusFor, type DuplicateAction, type DuplicatePolicy, type ImportJobStatus } from './kind.ts';
import { isUuid } from '../core/validation.ts';

/** import_job.errors keeps this many records; error_count and import_error have them all. */
export const ERRORS_KEPT = 1000;
export const DEFAULT_LIST_LIMIT = 50;

/** An ImportJob as the domain sees it: the job row plus its import_job row. */
export interface ImportJob {
  readonly id: string;
  readonly status: ImportJobStatus;
  readonly jobStatus: JobStatus;
  readonly errorMessage: string | null;
  readonly sourceType: SourceType;
  readonly filename: string;
  readonly fileSize: number;
  /** Records in the file, known once a worker has read it. */
  readonly rowCount: number;
  /** Also the resume point: rows 1..processedRowCount are written. */
  readonly processedRowCount: number;
  readonly successCount: number;
  readonly errorCount: number;
  readonly errors: readonly ImportErrorRecord[];
  readonly committedBatchCount: number;
  /** What counts as a near duplicate and what it does, chosen at create. */
  readonly duplicatePolicy: DuplicatePolicy;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly completedAt: Date | null;
}

export interface NewImportJob {
  /** The job row, from prepareJob (kind IMPORT). */
  job: NewJob;
  sourceType: SourceType;
  filename: string;
  fileSize: number;
  duplicatePolicy: DuplicatePolicy;
}

/** A job row with its import_job row, in the shape of ImportJob but for what Row leaves out. */
const SELECT = `
  select j.id, j.status as "jobStatus", j.error_message as "errorMessage", j.created_at as "createdAt",
         j.started_at as "startedAt", j.completed_at as "completedAt",
         i.source_type as "sourceType", i.filename, i.file_size as "fileSize", i.row_count as "rowCount",
         i.processed_row_count as "processedRowCount", i.success_count as "successCount", i.error_count as "errorCount",
         i.errors, i.committed_batch_count as "committedBatchCount",
         i.similarity_threshold as "similarityThreshold", i.duplicate_action as "duplicateAction"
    from job j join import_job i on i.job_id = j.id`;

/** file_size is a bigint (pg reads it as text); the policy is two columns; the import status is derived. */
type Row = Omit<ImportJob, 'status' | 'fileSize' | 'duplicatePolicy'> & {
  fileSize: string;
  similarityThreshold: number;
  duplicateAction: DuplicateAction;
};

const toImportJob = ({ fileSize, similarityThreshold, duplicateAction, ...row }: Row): ImportJob => ({
  ...row,
  status: importStatusOf(row.jobStatus),
  fileSize: Number(fileSize),
  duplicatePolicy: { similarityThreshold, action: duplicateAction },
});

export class ImportJobRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Inserts the job (with its queue entry) and its import_job row. Run it in
   * the transaction that also stores the file (createImportJob does).
   */
  async create(input: NewImportJob): Promise<ImportJob> {
    await insertJobs(this.db, [input.job]);
    await this.insertKindRow(input);
    return (await this.getById(input.job.id))!;
  }

  /** Inserts the import_job row of a job inserted in the same transaction (createKindJob). */
  async insertKindRow(input: NewImportJob): Promise<void> {
    if (input.job.kind !== JobKind.IMPORT) throw new Error(`an import job must be of kind IMPORT, not ${input.job.kind}`);
    await this.db.query(
      `insert into import_job (job_id, source_type, filename, file_size, similarity_threshold, duplicate_action)
       values ($1, $2, $3, $4, $5, $6)`,
      [input.job.id, input.sourceType, input.filename, input.fileSize, input.duplicatePolicy.similarityThreshold, input.duplicatePolicy.action],
    );
  }

  async getById(jobId: string): Promise<ImportJob | null> {
    if (!isUuid(jobId)) return null;
    const { rows } = await this.db.query<Row>(`${SELECT} where j.id = $1`, [jobId]);
    return rows[0] ? toImportJob(rows[0]) : null;
  }

  /** Sets the counters (processedRowCount = successCount + errorCount, the database checks it). */
  async updateProgress(jobId: string, processedRowCount: number, successCount: number, errorCount: number): Promise<void> {
    const updated = await this.db.query(
      'update import_job set processed_row_count = $2, success_count = $3, error_count = $4 where job_id = $1',
      [jobId, processedRowCount, successCount, errorCount],
    );
    if (updated.rowCount === 0) throw new ImportJobNotFoundError(jobId);
  }

  /**
   * Moves the job to the job status that stands for `status` (PROCESSING:
   * RUNNING, ...) when the core's status machine allows it from where the job
   * is, in one statement. Returns whether it applied. Workers do not call this:
   * the core's run_job task moves the job through its statuses.
   */
  async updateStatus(jobId: string, status: ImportJobStatus, errorMessage: string | null = null): Promise<boolean> {
    if (!isUuid(jobId)) throw new ImportJobNotFoundError(jobId);
    const updated = await applyTransition(this.db, jobId, JobKind.IMPORT, jobStatusFor(status), errorMessage);
    if (updated) return true;
    if (!(await this.getById(jobId))) throw new ImportJobNotFoundError(jobId);
    return false;
  }

  /**
   * Records bad rows: every one as an import_error row, and the first
   * ERRORS_KEPT of the job in import_job.errors. Counters are not touched.
   */
  async appendErrors(jobId: string, records: readonly ImportErrorRecord[]): Promise<void> {
    if (records.length === 0) return;
    const json = JSON.stringify(records);
    await this.db.query(
      `insert into import_error (job_id, type, "row", line, field, message, raw_data, existing_id, similarity)
       select $1, type, "row", line, field, message, raw_data, existing_id, similarity
         from jsonb_to_recordset($2::jsonb) as x(type text, "row" int, line int, field text, message text,
                                                 raw_data text, existing_id uuid, similarity real)`,
      [jobId, json],
    );
    await this.db.query(
      `update import_job
          set errors = errors || coalesce((
                select jsonb_agg(e.value order by e.ordinality)
                  from jsonb_array_elements($2::jsonb) with ordinality as e
                 where e.ordinality <= $3 - jsonb_array_length(errors)), '[]')
        where job_id = $1 and jsonb_array_length(errors) < $3`,
      [jobId, json, ERRORS_KEPT],
    );
  }

  /** Appends one bad row to the job's errors (the list keeps the first ERRORS_KEPT). */
  async addError(jobId: string, error: ImportErrorRecord): Promise<void> {
    if (!isUuid(jobId) || !(await this.#exists(jobId))) throw new ImportJobNotFoundError(jobId);
    await this.appendErrors(jobId, [error]);
  }

  /** Newest first; reads ix_import_job_status. */
  async listByStatus(status: ImportJobStatus, limit = DEFAULT_LIST_LIMIT): Promise<ImportJob[]> {
    const { rows } = await this.db.query<Row>(
      `${SELECT} where j.kind = 'IMPORT' and j.status = any($1::job_status[])
        order by j.created_at desc, j.id desc limit $2`,
      [JOB_STATUSES_OF[status], limit],
    );
    return rows.map(toImportJob);
  }

  // Beyond the seed: what streaming imports need.

  /** Sets row_count once the file's records are counted. */
  async setRowCount(jobId: string, rowCount: number): Promise<void> {
    const updated = await this.db.query('update import_job set row_count = $2 where job_id = $1', [jobId, rowCount]);
    if (updated.rowCount === 0) throw new ImportJobNotFoundError(jobId);
  }

  async #exists(jobId: string): Promise<boolean> {
    const { rowCount } = await this.db.query('select 1 from import_job where job_id = $1', [jobId]);
    return (rowCount ?? 0) > 0;
  }
}
