// The IBKR adapter of the source port: an uploaded Flex statement, or one
// fetched from the Flex Web Service with the job's tenant's own token and
// query id (its IBKR_FLEX connection).
import { PortfolioImportSource } from '../../generated/prisma/enums.ts';
import { JobwireError } from '../../core/errors.ts';
import { NonRetriableError } from '../../core/handler.ts';
import type { PortfolioSourceAdapter } from '../source.ts';
import { parseFlexStatement } from './flex-statement.ts';
import { fetchFlexStatement, type FlexWebServiceOptions } from './flex-web-service.ts';

/** The Flex Web Service options of a tenant's jobs; throws (ProviderConnectionMissingError) when it has no connection. */
export type FlexOptionsOf = (tenantId: string) => Promise<FlexWebServiceOptions>;

export function createIbkrAdapter(flexOf: FlexOptionsOf): PortfolioSourceAdapter {
  return {
    source: PortfolioImportSource.IBKR,
    async load({ tenantId, accountId, interval, statement, signal }) {
      if (statement !== null) return parseFlexStatement(statement, accountId, interval);
      let flex: FlexWebServiceOptions;
      try {
        flex = await flexOf(tenantId);
      } catch (error) {
        // No connection (deleted since the create), or one that does not open: running again will not help.
        if (error instanceof JobwireError) throw new NonRetriableError(error.message);
        throw error;
      }
      const xml = await fetchFlexStatement(flex, signal);
      return parseFlexStatement(xml, accountId, interval, { nameStatementAccounts: false });
    },
  };
}
