// The portfolio.import job type: loads the statement through the source's
// adapter, keeps the interval's activity and stores it in one transaction, so
// a failure leaves nothing half-imported.
import { withTransaction } from '../db/pool.ts';
import type { KindConfig } from '../kind-descriptor.ts';
import type { portfolioConfig } from './config.ts';
import type { FlexSecret } from '../connections/connections.ts';
import { JobKind, PortfolioImportSource } from '../generated/prisma/enums.ts';
import type { OutboundFetch } from '../net/outbound.ts';
import { EMPTY_PAYLOAD, NonRetriableError, type JobHandler } from '../core/handler.ts';
import { createIbkrAdapter } from './ibkr/adapter.ts';
import type { FlexWebServiceOptions } from './ibkr/flex-web-service.ts';
import { PortfolioImportRepository } from './repository.ts';
import { PORTFOLIO_IMPORT_JOB_TYPE } from './kind.ts';
import type { PortfolioSourceAdapter } from './source.ts';

/** The Flex Web Service itself: where it is and how it is polled (the token and query id are each tenant's). */
export type FlexServiceSettings = Omit<FlexWebServiceOptions, 'token' | 'queryId'>;

export interface PortfolioImportOptions {
  flex: FlexServiceSettings;
  /** The tenant's Flex token and query id; throws ProviderConnectionMissingError when it has none. */
  flexCredentials(tenantId: string): Promise<FlexSecret>;
}

/** The Flex Web Service settings of the configuration (IBKR_FLEX_*). */
export function flexServiceSettings(config: Pick<KindConfig<typeof portfolioConfig>, 'IBKR_FLEX_BASE_URL' | 'IBKR_FLEX_POLL_INTERVAL_MS' | 'IBKR_FLEX_MAX_POLLS'>, fetch: OutboundFetch): FlexServiceSettings {
  return { baseUrl: config.IBKR_FLEX_BASE_URL, pollIntervalMs: config.IBKR_FLEX_POLL_INTERVAL_MS, maxPolls: config.IBKR_FLEX_MAX_POLLS, fetch };
}

export function createPortfolioImportHandler(options: PortfolioImportOptions): JobHandler<Record<string, never>> {
  const ibkr = createIbkrAdapter(async (tenantId) => ({ ...options.flex, ...(await options.flexCredentials(tenantId)) }));
  const adapters = new Map<PortfolioImportSource, PortfolioSourceAdapter>([[PortfolioImportSource.IBKR, ibkr]]);
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
