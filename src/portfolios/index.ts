// The portfolio import kind (seed 000): an IBKR statement's trades, cash and positions.
import { JobKind } from '../generated/prisma/enums.ts';
import { portfolioDashboard } from './dashboard.ts';
import type { KindDescriptor } from '../kind-descriptor.ts';
import { portfolioConfig } from './config.ts';
import { createPortfolioImportHandler, flexOptions } from './handler.ts';
import { STATEMENT_MAX_BYTES } from './kind.ts';
import './schema.ts';

export const portfoliosKind: KindDescriptor<typeof portfolioConfig> = {
  name: 'portfolios',
  jobKind: JobKind.PORTFOLIO_IMPORT,
  config: portfolioConfig,
  handlers: ({ config, outbound }) => {
    const flex = flexOptions(config);
    return [createPortfolioImportHandler({ flex: flex && { ...flex, fetch: outbound } })];
  },
  dashboard: portfolioDashboard,
  tenantModels: ['PortfolioImportJob', 'PortfolioTrade', 'PortfolioCashTransaction', 'PortfolioPosition'],
  uploadMaxBytes: () => STATEMENT_MAX_BYTES,
};
