// Job and result types are frozen (seed 003: RunningJob, JobResult): read,
// never changed. Checked by `npm run typecheck`: if a property below became
// writable, its @ts-expect-error would be unused, which is an error.
import type { ApplyResult } from '../../src/budgets/apply.ts';
import type { SuggestionsResult } from '../../src/budgets/suggestions.ts';
import type { SyncResult } from '../../src/budgets/sync.ts';
import type { CollectionJob, CollectionStats } from '../../src/collections/kind.ts';
import type { BatchResult } from '../../src/imports/batch.ts';
import type { ImportJob } from '../../src/imports/repository.ts';
import type { JobRow } from '../../src/job-state/job-row.ts';
import type { QueueStats } from '../../src/jobs/queue-stats.ts';
import type { PortfolioImportJobRow } from '../../src/portfolios/repository.ts';
import type { JobResult, RunningJob } from '../../src/core/handler.ts';

export function frozen(
  running: RunningJob<unknown>,
  result: JobResult,
  row: JobRow,
  collection: CollectionJob,
  stats: CollectionStats,
  imported: ImportJob,
  batch: BatchResult,
  portfolio: PortfolioImportJobRow,
  sync: SyncResult,
  suggestions: SuggestionsResult,
  apply: ApplyResult,
  queue: QueueStats,
): void {
  // @ts-expect-error readonly
  running.retryCount = 1;
  // @ts-expect-error readonly
  result.success = false;
  // @ts-expect-error readonly
  row.status = 'RUNNING';
  // @ts-expect-error readonly
  collection.candleCount = 1;
  // @ts-expect-error readonly
  stats.symbolCount = 1;
  // @ts-expect-error readonly
  imported.rowCount = 1;
  // @ts-expect-error readonly
  batch.processedRowCount = 1;
  // @ts-expect-error readonly
  portfolio.active = false;
  // @ts-expect-error readonly
  sync.syncedTransactionCount = 1;
  // @ts-expect-error readonly
  suggestions.suggestionCount = 1;
  // @ts-expect-error readonly
  apply.appliedSuggestionCount = 1;
  // @ts-expect-error readonly
  queue.pendingCount = 1;
}
