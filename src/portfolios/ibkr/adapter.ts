// The IBKR adapter of the source port: an uploaded Flex statement, or one
// fetched from the Flex Web Service when the token and query id are configured.
import { PortfolioImportSource } from '../../generated/prisma/enums.ts';
import { NonRetriableError } from '../../worker/handler.ts';
import type { PortfolioSourceAdapter } from '../source.ts';
import { parseFlexStatement } from './flex-statement.ts';
import { fetchFlexStatement, type FlexWebServiceOptions } from './flex-web-service.ts';

export function createIbkrAdapter(flex: FlexWebServiceOptions | null): PortfolioSourceAdapter {
  return {
    source: PortfolioImportSource.IBKR,
    async load({ accountId, interval, statement, signal }) {
      let xml = statement;
      if (xml === null) {
        if (!flex) throw new NonRetriableError('no statement was uploaded and IBKR_FLEX_TOKEN / IBKR_FLEX_QUERY_ID are not configured');
        xml = await fetchFlexStatement(flex, signal);
      }
      return parseFlexStatement(xml, accountId, interval);
    },
  };
}
