// Snapshots: the provider's export of a budget, gzip-compressed (node:zlib
// streams) as it arrives, with the sha256 and size of the export itself.
//
// snapshot_create stores a new snapshot. snapshot_redownload fetches the export
// again and verifies: (1) the stored bytes still decompress to content whose
// sha256 is the stored one (the snapshot is intact; otherwise the job fails),
// and (2) whether the provider's export today has the same sha256
// (content_changed: false means the budget's export is byte-for-byte what the
// snapshot holds). The stored snapshot is never replaced; verified_at,
// redownloaded_sha256 and content_changed record the latest check.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type pg from 'pg';
import { NonRetriableError } from '../core/handler.ts';
import type { BudgetProvider } from './provider.ts';
import type { BudgetJobRef } from './sync.ts';

interface Digest {
  sha256: string;
  sizeBytes: number;
}

/** sha256 and size of what passes through, without holding it. */
function digesting(onDone: (digest: Digest) => void) {
  return async function* (source: AsyncIterable<Uint8Array>) {
    const hash = createHash('sha256');
    let sizeBytes = 0;
    for await (const chunk of source) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      yield chunk;
    }
    onDone({ sha256: hash.digest('hex'), sizeBytes });
  };
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The export compressed, and the digest of the export itself. */
async function compressedExport(provider: BudgetProvider, budgetId: string, signal: AbortSignal): Promise<Digest & { gzip: Buffer }> {
  let digest: Digest | null = null;
  let gzip: Buffer | null = null;
  await pipeline(
    Readable.from(provider.exportBudget(budgetId, signal)),
    digesting((d) => (digest = d)),
    createGzip(),
    async (compressed: AsyncIterable<Buffer>) => void (gzip = await collect(compressed)),
    { signal },
  );
  return { ...digest!, gzip: gzip! };
}

async function exportDigest(provider: BudgetProvider, budgetId: string, signal: AbortSignal): Promise<Digest> {
  let digest: Digest | null = null;
  await pipeline(Readable.from(provider.exportBudget(budgetId, signal)), digesting((d) => (digest = d)), async (source: AsyncIterable<unknown>) => {
    for await (const _ of source);
  }, { signal });
  return digest!;
}

async function storedDigest(gzip: Buffer, signal: AbortSignal): Promise<Digest> {
  let digest: Digest | null = null;
  await pipeline(Readable.from([gzip]), createGunzip(), digesting((d) => (digest = d)), async (source: AsyncIterable<unknown>) => {
    for await (const _ of source);
  }, { signal });
  return digest!;
}

export interface SnapshotCreated extends Record<string, unknown> {
  snapshotId: string;
  sha256: string;
  sizeBytes: number;
  compressedSizeBytes: number;
}

export async function createSnapshot(pool: pg.Pool, provider: BudgetProvider, job: BudgetJobRef, signal: AbortSignal): Promise<SnapshotCreated> {
  const snapshot = await compressedExport(provider, job.budgetId, signal);
  const { rows } = await pool.query<{ id: string }>(
    `insert into budget_snapshot (tenant_id, budget_id, content_gzip, sha256, size_bytes, compressed_size_bytes, created_by_job_id)
     values ($1, $2, $3, $4, $5, $6, $7) returning id`,
    [job.tenantId, job.budgetId, snapshot.gzip, snapshot.sha256, snapshot.sizeBytes, snapshot.gzip.length, job.jobId],
  );
  await pool.query(`update budget_job set snapshot_id = $2 where job_id = $1`, [job.jobId, rows[0]!.id]);
  return { snapshotId: rows[0]!.id, sha256: snapshot.sha256, sizeBytes: snapshot.sizeBytes, compressedSizeBytes: snapshot.gzip.length };
}

export interface SnapshotVerified extends Record<string, unknown> {
  snapshotId: string;
  /** The stored bytes decompress to the stored sha256. */
  verified: true;
  sha256: string;
  redownloadedSha256: string;
  contentChanged: boolean;
}

export async function redownloadSnapshot(
  pool: pg.Pool,
  provider: BudgetProvider,
  job: BudgetJobRef,
  snapshotId: string,
  signal: AbortSignal,
): Promise<SnapshotVerified> {
  const { rows } = await pool.query<{ gzip: Buffer; sha256: string }>(
    `select content_gzip as gzip, sha256 from budget_snapshot where id = $1 and tenant_id = $2 and budget_id = $3`,
    [snapshotId, job.tenantId, job.budgetId],
  );
  const stored = rows[0];
  if (!stored) throw new NonRetriableError(`snapshot ${snapshotId} of budget ${job.budgetId} no longer exists`);
  let intact: Digest;
  try {
    intact = await storedDigest(stored.gzip, signal);
  } catch (error) {
    if (signal.aborted) throw error;
    throw new NonRetriableError(`snapshot ${snapshotId} is damaged: its stored bytes do not decompress`);
  }
  if (intact.sha256 !== stored.sha256) throw new NonRetriableError(`snapshot ${snapshotId} is damaged: its stored bytes no longer match its sha256`);
  const fresh = await exportDigest(provider, job.budgetId, signal);
  const contentChanged = fresh.sha256 !== stored.sha256;
  await pool.query(
    `update budget_snapshot set verified_at = now(), redownloaded_sha256 = $2, content_changed = $3 where id = $1`,
    [snapshotId, fresh.sha256, contentChanged],
  );
  return { snapshotId, verified: true, sha256: stored.sha256, redownloadedSha256: fresh.sha256, contentChanged };
}
