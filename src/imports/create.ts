// createImportJob: checks the upload at the edge (size, empty, binary,
// format, a CSV's header), then inserts the job, its import_job row, the
// file's parts and the queue entry in one transaction. A refused upload
// stores nothing.
import path from 'node:path';
import { JobKind } from '../generated/prisma/enums.ts';
import { createKindJob, type Caller, type CreateJobsDeps, type IdempotencyInput } from '../jobs/create.ts';
import type { CreatedJob } from '../flow/create.ts';
import { ValidationError } from '../core/errors.ts';
import type { DuplicateAction, DuplicatePolicy } from './kind.ts';
import { storeFileParts } from './file-store.ts';
import type { ImportConfig } from './handler.ts';
import { detectSourceType, PARSERS, UnreadableFileError, type SourceType } from './parsers/index.ts';
import { IMPORT_JOB_TYPE } from './kind.ts';
import { MIN_SIMILARITY_THRESHOLD } from './question-bands.ts';
import { ImportJobRepository } from './repository.ts';

/** Bytes read from the start of an upload to tell text from binary and to check its format. */
const HEAD_BYTES = 64 * 1024;

export interface CreateImportJobInput extends IdempotencyInput {
  file: File;
  /** csv, json or text; detected from the file's name and content when absent. */
  sourceType?: SourceType | null;
  priority?: number | null;
  maxRetries?: number | null;
  /** Near-duplicate threshold and action; IMPORT_SIMILARITY_THRESHOLD and REJECT when absent. */
  duplicatePolicy?: { similarityThreshold?: number | null; action?: DuplicateAction | null } | null;
}

/** The import's duplicate policy: the input's, else the defaults; a threshold out of range is a ValidationError. */
function duplicatePolicyOf(input: CreateImportJobInput['duplicatePolicy'], config: ImportConfig): DuplicatePolicy {
  const similarityThreshold = input?.similarityThreshold ?? config.IMPORT_SIMILARITY_THRESHOLD;
  if (!(similarityThreshold >= MIN_SIMILARITY_THRESHOLD && similarityThreshold <= 1)) {
    throw new ValidationError(
      'duplicatePolicy.similarityThreshold',
      `must be between ${MIN_SIMILARITY_THRESHOLD} and 1 (got ${similarityThreshold})`,
    );
  }
  return { similarityThreshold, action: input?.action ?? 'REJECT' };
}

/** The file's base name as the client sent it, at most 255 characters. */
function cleanFilename(name: string | undefined): string {
  const base = path.basename((name ?? '').replaceAll('\\', '/')).replace(/[\u0000-\u001f]/g, '').trim();
  return (base || 'upload').slice(0, 255);
}

/** The first `bytes` bytes of the file (yoga's File has no slice()). */
async function headOf(file: File, bytes: number): Promise<Uint8Array> {
  const reader = file.stream().getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < bytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.byteLength;
  }
  await reader.cancel();
  return Buffer.concat(chunks).subarray(0, bytes);
}

/** The head as text, or null when it is not UTF-8 text (NUL bytes, invalid sequences). */
function textOf(head: Uint8Array): string | null {
  if (head.includes(0)) return null;
  try {
    // stream: a character cut at the head's end is not an error.
    return new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
  } catch {
    return null;
  }
}

/** Reads the first record of the head, so a file its parser cannot read at all is refused now. */
async function checkFormat(sourceType: SourceType, head: string): Promise<void> {
  try {
    const records = PARSERS[sourceType](
      (async function* () {
        yield head.replace(/\r\n?/g, '\n');
      })(),
    );
    await records.next();
    await records.return(undefined);
  } catch (error) {
    if (error instanceof UnreadableFileError) throw new ValidationError('file', error.message);
    throw error;
  }
}

/** Creates and queues one ImportJob (or finds the one its idempotency key names: then nothing is stored). */
export async function createImportJob(
  deps: CreateJobsDeps & { config: ImportConfig },
  caller: Caller,
  input: CreateImportJobInput,
): Promise<CreatedJob> {
  const { file } = input;
  const duplicatePolicy = duplicatePolicyOf(input.duplicatePolicy, deps.config);
  const max = deps.config.IMPORT_UPLOAD_MAX_BYTES;
  if (file.size > max) throw new ValidationError('file', `must be at most ${max} bytes (got ${file.size})`);
  if (file.size === 0) throw new ValidationError('file', 'is empty');
  const filename = cleanFilename(file.name);
  const head = textOf(await headOf(file, HEAD_BYTES));
  if (head === null) throw new ValidationError('file', `"${filename}" is not a UTF-8 text file (it looks binary)`);
  if (file.size <= HEAD_BYTES && head.replace(/^\uFEFF/, '').trim() === '') throw new ValidationError('file', 'is empty (only white space)');
  const sourceType = input.sourceType ?? detectSourceType(filename, head);
  if (!sourceType) {
    throw new ValidationError('sourceType', `cannot tell the format of "${filename}" from its name or content; pass sourceType (CSV, JSON or TEXT)`);
  }
  await checkFormat(sourceType, head);

  const { priority, maxRetries, idempotencyKey, idempotencyKeyFreeAfterMs } = input;
  const kindJob = { kind: JobKind.IMPORT, jobType: IMPORT_JOB_TYPE, priority, maxRetries, idempotencyKey, idempotencyKeyFreeAfterMs };
  return createKindJob(deps, caller, kindJob, async (client, job) => {
    await new ImportJobRepository(client).insertKindRow({ job, sourceType, filename, fileSize: file.size, duplicatePolicy });
    await storeFileParts(client, job.id, file.stream());
  });
}
