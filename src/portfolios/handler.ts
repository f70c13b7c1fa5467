// The portfolio.import job type: loads the statement through the source's
// adapter, keeps the interval's activity and stores it in one transaction, so
// a failure leaves nothing half-imported.
import { z } from 'zod';
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

const envSchema = z.object({
  IBKR_FLEX_TOKEN: z.string().min(1).optional(),
  IBKR_FLEX_QUERY_ID: z.string().min(1).optional(),
  IBKR_FLEX_BASE_URL: z.url().default('https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService'),
  IBKR_FLEX_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(600_000).default(5000),
  IBKR_FLEX_MAX_POLLS: z.coerce.number().int().min(1).max(1000).default(60),
});

/** Flex Web Service settings from the environment; null without a token and query id. */
export function flexOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Omit<FlexWebServiceOptions, 'fetch'> | null {
  const parsed = envSchema.parse(Object.fromEntries(Object.entries(env).filter(([key, value]) => key.startsWith('IBKR_FLEX_') && value !== '')));
  if (!parsed.IBKR_FLEX_TOKEN || !parsed.IBKR_FLEX_QUERY_ID) return null;
  return {
    baseUrl: parsed.IBKR_FLEX_BASE_URL,
    token: parsed.IBKR_FLEX_TOKEN,
    queryId: parsed.IBKR_FLEX_QUERY_ID,
    pollIntervalMs: parsed.IBKR_FLEX_POLL_INTERVAL_MS,
    maxPolls: parsed.IBKR_FLEX_MAX_POLLS,
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
