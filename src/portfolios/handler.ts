// The portfolio.import job type: loads the statement through the source's
// adapter, keeps the interval's activity and stores it in one transaction, so
// a failure leaves nothing half-imported.
import type { Config } from '../config.ts';
import { withTransaction } from '../db/pool.ts';
import { JobKind, PortfolioImportSource } from '../generated/prisma/enums.ts';
import { EMPTY_PAYLOAD, NonRetriableError, type JobHandler } from '../worker/handler.ts';
import { createIbkrAdapter } from './ibkr/adapter.ts';
import type { FlexWebServiceOptions } from './ibkr/flex-web-service.ts';
import { PortfolioImportRepository } from './repository.ts';
import { PORTFOLIO_IMPORT_JOB_TYPE } from './kind.ts';
import type { PortfolioSourceAdapter } from './source.ts';

export interface PortfolioImportOptions {
  /** null: only uploaded statements can be imported. */
  flex: FlexWebServiceOptions | null;
}

/** Flex Web Service settings; null without a token and query id (only uploaded statements can be imported). */
export function flexOptions(
  config: Pick<Config, 'IBKR_FLEX_TOKEN' | 'IBKR_FLEX_QUERY_ID' | 'IBKR_FLEX_BASE_URL' | 'IBKR_FLEX_POLL_INTERVAL_MS' | 'IBKR_FLEX_MAX_POLLS'>,
): Omit<FlexWebServiceOptions, 'fetch'> | null {
  if (!config.IBKR_FLEX_TOKEN || !config.IBKR_FLEX_QUERY_ID) return null;
  return {
    baseUrl: config.IBKR_FLEX_BASE_URL,
    token: config.IBKR_FLEX_TOKEN,
    queryId: config.IBKR_FLEX_QUERY_ID,
    pollIntervalMs: config.IBKR_FLEX_POLL_INTERVAL_MS,
    maxPolls: config.IBKR_FLEX_MAX_POLLS,
  };
}

export function createPortfolioImportHandler(options: PortfolioImportOptions): JobHandler<Record<string, never>> {
  const adapters = new Map<PortfolioImportSource, PortfolioSourceAdapter>([[PortfolioImportSource.IBKR, createIbkrAdapter(options.flex)]]);
  return {
    jobType: PORTFOLIO_IMPORT_JOB_TYPE,
    kind: JobKind.PORTFOLIO_IMPORT,
    description: "Imports a portfolio's broker activity (trades, cash transactions, open positions) for a date interval.",
    payload: EMPTY_PAYLOAD,
    defaults: { maxRetries: 3 },
    async handle(job, ctx) {
      const pool = ctx.db;
      const importJob = await new PortfolioImportRepository(pool).findById(job.id);
      if (!importJob) throw new NonRetriableError(`job ${job.id} has no portfolio_import_job row`);
      const adapter = adapters.get(importJob.source);
      if (!adapter) throw new NonRetriableError(`no adapter for source ${importJob.source}`);
      ctx.progress({ percent: 10, message: `loading the ${importJob.source} statement` });
      const activity = await adapter.load({ ...importJob, signal: ctx.signal });
      ctx.progress({ percent: 60, message: 'storing activity' });
      const stored = await withTransaction(pool, (client) => new PortfolioImportRepository(client).saveActivity(job.id, importJob.portfolioId, activity));
      return {
        success: true,
        resultData: {
          found: { trades: activity.trades.length, cashTransactions: activity.cashTransactions.length, positions: activity.positions.length },
          stored,
        },
      };
    },
  };
}
