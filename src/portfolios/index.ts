// The portfolio import kind (seed 000): an IBKR statement's trades, cash and positions.
import { ConnectionProvider, JobKind } from '../generated/prisma/enums.ts';
import { portfolioDashboard } from './dashboard.ts';
import type { KindDescriptor } from '../kind-descriptor.ts';
import { portfolioConfig } from './config.ts';
import { serverOnlySettingProblems } from '../config.ts';
import { createPortfolioImportHandler, flexServiceSettings } from './handler.ts';
import { STATEMENT_MAX_BYTES } from './kind.ts';
import './schema.ts';

export const portfoliosKind: KindDescriptor<typeof portfolioConfig> = {
  name: 'portfolios',
  jobKind: JobKind.PORTFOLIO_IMPORT,
  config: portfolioConfig,
  checkConfig: (config) =>
    config.PROVIDER_CREDENTIALS === 'server'
      ? Boolean(config.IBKR_FLEX_TOKEN) !== Boolean(config.IBKR_FLEX_QUERY_ID)
        ? ['IBKR_FLEX_TOKEN and IBKR_FLEX_QUERY_ID: set both or neither']
        : []
      : serverOnlySettingProblems(config, ['IBKR_FLEX_TOKEN', 'IBKR_FLEX_QUERY_ID']),
  handlers: ({ config, outbound, providerConnections }) => {
    // The token and query id are the job's tenant's (src/connections), never the server's for everyone.
    const flexCredentials = async (tenantId: string) => {
      const credential = await providerConnections.flex(tenantId);
      if (!credential) throw providerConnections.missing(ConnectionProvider.IBKR_FLEX);
      return credential.secret;
    };
    return [createPortfolioImportHandler({ flex: flexServiceSettings(config, outbound), flexCredentials })];
  },
  dashboard: portfolioDashboard,
  tenantModels: ['PortfolioImportJob', 'PortfolioTrade', 'PortfolioCashTransaction', 'PortfolioPosition'],
  uploadMaxBytes: () => STATEMENT_MAX_BYTES,
};
