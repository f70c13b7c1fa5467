// Parses an Interactive Brokers Flex Query statement (XML):
// FlexQueryResponse/FlexStatements/FlexStatement with Trades/Trade,
// CashTransactions/CashTransaction and OpenPositions/OpenPosition.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { NonRetriableError } from '../../worker/handler.ts';
import { contains, type DateInterval } from '../interval.ts';
import type { ImportedCashTransaction, ImportedPosition, ImportedTrade, PortfolioActivity } from '../source.ts';

export class FlexStatementError extends NonRetriableError {
  override name = 'FlexStatementError';
}

type Attributes = Record<string, string | undefined>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => ['FlexStatement', 'Trade', 'CashTransaction', 'OpenPosition'].includes(name),
});

/** Flex dates come as yyyyMMdd or yyyy-MM-dd, date-times as "yyyyMMdd;HHmmss" or "yyyy-MM-dd, HH:mm:ss". */
export function flexDate(value: string | undefined, what: string): string {
  const match = value ? /^(\d{4})-?(\d{2})-?(\d{2})/.exec(value.trim()) : null;
  if (!match) throw new FlexStatementError(`${what}: "${value ?? ''}" is not a Flex date (yyyyMMdd or yyyy-MM-dd)`);
  return `${match[1]}-${match[2]}-${match[3]}`;
}

function required(row: Attributes, name: string, what: string): string {
  const value = row[name];
  if (value === undefined || value === '') throw new FlexStatementError(`${what} has no ${name}`);
  return value;
}

function optional(row: Attributes, name: string): string | null {
  const value = row[name];
  return value === undefined || value === '' ? null : value;
}

function decimal(row: Attributes, name: string, what: string): string {
  const value = required(row, name, what);
  if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) throw new FlexStatementError(`${what}: ${name} "${value}" is not a number`);
  return value;
}

function optionalDecimal(row: Attributes, name: string, what: string): string | null {
  return optional(row, name) === null ? null : decimal(row, name, what);
}

function rows(section: unknown, element: string): Attributes[] {
  if (!section || typeof section !== 'object') return [];
  const list = (section as Record<string, unknown>)[element];
  return Array.isArray(list) ? (list as Attributes[]) : [];
}

/**
 * The activity of `accountId` in the statement that falls inside the interval.
 * Rejects malformed or truncated XML and a statement of another account.
 */
export function parseFlexStatement(xml: string, accountId: string, interval: DateInterval): PortfolioActivity {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new FlexStatementError(`the statement is not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  }
  const document = parser.parse(xml) as Record<string, any>;
  const response = document.FlexQueryResponse;
  if (!response) throw new FlexStatementError('the statement is not a Flex Query statement (no FlexQueryResponse element)');
  const statements = rows(response.FlexStatements, 'FlexStatement');
  if (statements.length === 0) throw new FlexStatementError('the statement holds no FlexStatement');
  const accounts = statements.map((statement) => String(statement.accountId ?? ''));
  const statement = statements.find((candidate) => candidate.accountId === accountId) as Record<string, any> | undefined;
  if (!statement) {
    throw new FlexStatementError(`the statement is for account ${accounts.join(', ')}, not for account ${accountId}`);
  }

  const trades: ImportedTrade[] = rows(statement.Trades, 'Trade').map((row, index) => {
    const what = `Trade ${index + 1}`;
    return {
      tradeId: required(row, 'tradeID', what),
      tradeDate: flexDate(row.tradeDate ?? row.dateTime, `${what} tradeDate`),
      symbol: required(row, 'symbol', what),
      conid: optional(row, 'conid'),
      assetCategory: optional(row, 'assetCategory'),
      currency: required(row, 'currency', what),
      buySell: optional(row, 'buySell'),
      quantity: decimal(row, 'quantity', what),
      tradePrice: decimal(row, 'tradePrice', what),
      proceeds: optionalDecimal(row, 'proceeds', what),
      commission: optionalDecimal(row, 'ibCommission', what),
    };
  });
  const cashTransactions: ImportedCashTransaction[] = rows(statement.CashTransactions, 'CashTransaction').map((row, index) => {
    const what = `CashTransaction ${index + 1}`;
    return {
      transactionId: required(row, 'transactionID', what),
      date: flexDate(row.dateTime ?? row.reportDate ?? row.settleDate, `${what} dateTime`),
      type: required(row, 'type', what),
      description: optional(row, 'description'),
      symbol: optional(row, 'symbol'),
      currency: required(row, 'currency', what),
      amount: decimal(row, 'amount', what),
    };
  });
  const positions: ImportedPosition[] = rows(statement.OpenPositions, 'OpenPosition').map((row, index) => {
    const what = `OpenPosition ${index + 1}`;
    return {
      reportDate: flexDate(row.reportDate ?? statement.toDate, `${what} reportDate`),
      conid: required(row, 'conid', what),
      symbol: required(row, 'symbol', what),
      assetCategory: optional(row, 'assetCategory'),
      currency: required(row, 'currency', what),
      quantity: decimal(row, 'position', what),
      markPrice: optionalDecimal(row, 'markPrice', what),
      positionValue: optionalDecimal(row, 'positionValue', what),
      costBasis: optionalDecimal(row, 'costBasisMoney', what),
    };
  });

  return {
    accountId,
    trades: trades.filter((trade) => contains(interval, trade.tradeDate)),
    cashTransactions: cashTransactions.filter((cash) => contains(interval, cash.date)),
    positions: positions.filter((position) => contains(interval, position.reportDate)),
  };
}
