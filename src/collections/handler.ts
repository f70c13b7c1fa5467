// The collection.collect job: per symbol, fetch candles from the job's provider
// and upsert them; counters move as each symbol finishes (jobUpdated sees them).
// A symbol that still fails after the provider's retries is recorded and the
// job goes on. Cancel stops between symbols; a retry collects only the symbols
// that did not complete.
import type pg from 'pg';
import { JobKind } from '../generated/prisma/enums.ts';
import { EMPTY_PAYLOAD, NonRetriableError, type JobHandler } from '../core/handler.ts';
import type { RejectedRow } from './candles.ts';
import { upsertCandles } from './candle-store.ts';
import { COLLECTION_JOB_TYPE, type ICollectionJobRepository } from './kind.ts';
import { CollectionJobRepository } from './repository.ts';
import { createProviders, type CollectionConfig, type ProviderName } from './providers.ts';

/** Symbols collected at once within one job (the http-csv provider bounds its requests itself). */
const SYMBOL_LANES = 4;
/** Rejected rows kept per symbol in the job's result; the count is always exact. */
const REJECTED_ROWS_SHOWN = 20;

export interface CollectionHandlerDeps {
  pool: pg.Pool;
  config: CollectionConfig;
  repository?: ICollectionJobRepository;
}

export function createCollectionHandler(deps: CollectionHandlerDeps): JobHandler<Record<string, never>> {
  const repository = deps.repository ?? new CollectionJobRepository(deps.pool);
  const providers = createProviders(deps.config);

  return {
    jobType: COLLECTION_JOB_TYPE,
    description: 'Collects OHLCV candles of many symbols from a provider into the candle table.',
    kind: JobKind.COLLECTION,
    // The request lives in the collection_job row, not in the payload.
    payload: EMPTY_PAYLOAD,
    async handle(job, ctx) {
      const collection = await repository.getById(job.id);
      if (!collection) throw new NonRetriableError(`job ${job.id} has no collection_job row`);
      const provider = providers.get(collection.provider as ProviderName);
      if (!provider) throw new NonRetriableError(`unknown provider "${collection.provider}"`);

      const queue = await repository.beginAttempt(job.id);
      const total = collection.symbols.length;
      let finished = total - queue.length;
      const rejected: Record<string, { count: number; rows: RejectedRow[] }> = {};

      const collectOne = async (symbol: string) => {
        try {
          const range = { from: collection.rangeFrom, to: collection.rangeTo };
          const fetched = await provider.fetchCandles(symbol, collection.timeframe, range, ctx.signal);
          const newCandleCount = await upsertCandles(deps.pool, symbol, collection.timeframe, fetched.candles);
          if (fetched.rejectedRows.length > 0) {
            rejected[symbol] = { count: fetched.rejectedRows.length, rows: fetched.rejectedRows.slice(0, REJECTED_ROWS_SHOWN) };
            ctx.logger.warn({ symbol, rejectedRows: rejected[symbol] }, 'malformed CSV rows were not stored');
          }
          await repository.markSymbolCompleted(job.id, symbol, fetched.candles.length, newCandleCount);
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          const message = error instanceof Error ? error.message : String(error);
          ctx.logger.warn({ symbol, err: error }, 'symbol failed');
          await repository.addFailedSymbol(job.id, symbol, message);
        }
        finished += 1;
        ctx.progress({ percent: (100 * finished) / total, message: `${finished} of ${total} symbols` });
      };

      // Lanes take the next symbol only while the job is not cancelled.
      const lane = async () => {
        for (let symbol = queue.shift(); symbol !== undefined && !ctx.signal.aborted; symbol = queue.shift()) {
          await collectOne(symbol);
        }
      };
      const lanes = await Promise.allSettled(Array.from({ length: Math.min(SYMBOL_LANES, queue.length) }, lane));
      ctx.signal.throwIfAborted();
      // A lane fails only when the database does: the job retries and resumes.
      for (const outcome of lanes) if (outcome.status === 'rejected') throw outcome.reason;

      const stats = (await repository.getStats(job.id))!;
      const failed = await repository.listFailedSymbols(job.id);
      if (stats.completedSymbolCount === 0) {
        const reasons = failed.slice(0, 5).map((f) => `${f.symbol}: ${f.error}`).join('; ');
        throw new NonRetriableError(`no symbol was collected (${stats.failedSymbolCount} failed${reasons ? `: ${reasons}` : ''})`);
      }
      return {
        success: true,
        resultData: {
          ...stats,
          failedSymbols: failed.map((f) => f.symbol),
          rejectedRows: rejected,
        },
      };
    },
  };
}
