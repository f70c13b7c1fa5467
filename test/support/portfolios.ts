// Flex Query statements for the portfolio import tests, and uploads as
// GraphQL multipart requests.
import { postMultipart } from '../../src/testing/multipart.ts';
import type { GraphQLTestClient } from './app.ts';
import { CreatePortfolioImportJob } from './operations-portfolios.ts';
import type { CreatePortfolioImportJobInput, CreatePortfolioImportJobMutation } from '../generated/graphql.ts';

export const ACCOUNT = 'U1234567';

/** Activity on 2026-01-05 (before), 2026-01-15 (inside) and 2026-01-25 (after) an interval 01-10..01-20. */
export function flexStatement(accountId = ACCOUNT): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<FlexQueryResponse queryName="jobwire" type="AF">
  <FlexStatements count="1">
    <FlexStatement accountId="${accountId}" fromDate="20260101" toDate="20260131" period="Custom" whenGenerated="20260201;093000">
      <Trades>
        <Trade accountId="${accountId}" currency="USD" assetCategory="STK" symbol="AAPL" conid="265598" tradeID="T-before" tradeDate="20260105" quantity="10" tradePrice="180.5" proceeds="-1805" ibCommission="-1" buySell="BUY" />
        <Trade accountId="${accountId}" currency="USD" assetCategory="STK" symbol="MSFT" conid="272093" tradeID="T-inside" tradeDate="20260115" quantity="-5" tradePrice="410.25" proceeds="2051.25" ibCommission="-1" buySell="SELL" />
        <Trade accountId="${accountId}" currency="EUR" assetCategory="STK" symbol="SAP" conid="14204" tradeID="T-after" tradeDate="2026-01-25" quantity="3" tradePrice="200" proceeds="-600" ibCommission="-2" buySell="BUY" />
      </Trades>
      <CashTransactions>
        <CashTransaction accountId="${accountId}" currency="USD" type="Deposits/Withdrawals" description="deposit" dateTime="20260105;101500" amount="5000" transactionID="C-before" />
        <CashTransaction accountId="${accountId}" currency="USD" type="Dividends" symbol="MSFT" description="MSFT dividend" dateTime="2026-01-15, 12:00:00" amount="7.5" transactionID="C-inside" />
        <CashTransaction accountId="${accountId}" currency="USD" type="Broker Interest Paid" description="interest" dateTime="20260125" amount="-1.2" transactionID="C-after" />
      </CashTransactions>
      <OpenPositions>
        <OpenPosition accountId="${accountId}" currency="USD" assetCategory="STK" symbol="AAPL" conid="265598" reportDate="20260120" position="10" markPrice="182" positionValue="1820" costBasisMoney="1806" />
        <OpenPosition accountId="${accountId}" currency="USD" assetCategory="STK" symbol="AAPL" conid="265598" reportDate="20260131" position="10" markPrice="185" positionValue="1850" costBasisMoney="1806" />
      </OpenPositions>
    </FlexStatement>
  </FlexStatements>
</FlexQueryResponse>`;
}

export type CreateResult = CreatePortfolioImportJobMutation['createPortfolioImportJob'];

/** createPortfolioImportJob, with the statement (if any) uploaded as a file. */
export async function createImport(
  client: GraphQLTestClient,
  input: Omit<CreatePortfolioImportJobInput, 'statement'>,
  statement?: string,
): Promise<CreateResult> {
  if (statement === undefined) return (await client.request(CreatePortfolioImportJob, { input })).createPortfolioImportJob;
  const { body } = await postMultipart<{ data?: CreatePortfolioImportJobMutation; errors?: unknown[] }>(
    client.url,
    CreatePortfolioImportJob.toString(),
    { input: { ...input, statement: null } },
    [{ at: 'variables.input.statement', name: 'statement.xml', content: statement, type: 'application/xml' }],
    client.authHeaders(),
  );
  if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data!.createPortfolioImportJob;
}

/** The created job, or the test fails with the typed error. */
export function created(result: CreateResult) {
  if (result.__typename !== 'MutationCreatePortfolioImportJobSuccess') throw new Error(`expected a created import: ${JSON.stringify(result)}`);
  return result.data;
}
