// The uploaded file in Postgres (import_file), so any worker process can read
// it. Written and read one part (at most 1 MiB) at a time: neither side holds
// the whole file as one buffer.
import type { Queryable } from '../db/pool.ts';

export const FILE_PART_BYTES = 1024 * 1024;

/** Stores a file's bytes as import_file parts 0, 1, ...; returns the bytes stored. */
export async function storeFileParts(db: Queryable, jobId: string, stream: ReadableStream<Uint8Array>): Promise<number> {
  let part = 0;
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const write = async (content: Buffer) => {
    await db.query('insert into import_file (job_id, part, content) values ($1, $2, $3)', [jobId, part++, content]);
    size += content.length;
  };
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    pendingBytes += value.byteLength;
    while (pendingBytes >= FILE_PART_BYTES) {
      const joined = Buffer.concat(pending);
      await write(joined.subarray(0, FILE_PART_BYTES));
      pending = [joined.subarray(FILE_PART_BYTES)];
      pendingBytes = joined.length - FILE_PART_BYTES;
    }
  }
  if (pendingBytes > 0) await write(Buffer.concat(pending));
  return size;
}

/**
 * The size of the pieces readFileText yields, in UTF-16 code units. A parser
 * turns a whole piece into records before its reader takes the first: with
 * 1 MiB pieces ~12,000 records waited at a time, lived long enough to be
 * promoted to V8's old space, and grew a 50,000-row import's heap by ~70 MB
 * (bench:imports); 64 Ki pieces keep it to a few MB at the same speed.
 */
export const TEXT_PIECE_CHARS = 64 * 1024;

/**
 * The stored file as text, in pieces of at most TEXT_PIECE_CHARS: UTF-8
 * decoded (a BOM dropped, a character split between parts joined) and line
 * ends normalised to \n (CRLF and lone CR), so every parser counts lines the
 * same way. A piece never ends between the two halves of a surrogate pair.
 */
export async function* readFileText(db: Queryable, jobId: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  const newlines = newlineNormaliser();
  for (let part = 0; ; part++) {
    const { rows } = await db.query<{ content: Buffer }>('select content from import_file where job_id = $1 and part = $2', [jobId, part]);
    if (rows.length === 0) break;
    yield* piecesOf(newlines.push(decoder.decode(rows[0]!.content, { stream: true })));
  }
  yield* piecesOf(newlines.push(decoder.decode()) + newlines.end());
}

/** Cuts text into pieces of at most TEXT_PIECE_CHARS, never inside a surrogate pair. */
export function* piecesOf(text: string, size = TEXT_PIECE_CHARS): Generator<string> {
  for (let start = 0; start < text.length; ) {
    let end = Math.min(text.length, start + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff && end - 1 > start) end--;
    yield text.slice(start, end);
    start = end;
  }
}

/** CRLF and CR to LF across chunk boundaries (a CR at a chunk's end waits for the next chunk). */
export function newlineNormaliser() {
  let carriageReturn = false;
  return {
    push(chunk: string): string {
      let text = carriageReturn ? `\r${chunk}` : chunk;
      carriageReturn = text.endsWith('\r');
      if (carriageReturn) text = text.slice(0, -1);
      return text.replace(/\r\n?/g, '\n');
    },
    end(): string {
      const rest = carriageReturn ? '\n' : '';
      carriageReturn = false;
      return rest;
    },
  };
}
