// Parses an Interactive Brokers Flex Query statement (XML):
// FlexQueryResponse/FlexStatements/FlexStatement with Trades/Trade,
// CashTransactions/CashTransaction and OpenPositions/OpenPosition.
import { createHash } from 'node:crypto';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { NonRetriableError } from '../../core/handler.ts';
import { contains, type DateInterval } from '../interval.ts';
import type { ImportedCashTransaction, ImportedPosition, ImportedTrade, PortfolioActivity } from '../source.ts';

export class FlexStatementError extends NonRetriableError {
  override name = 'FlexStatementError';
}

type Attributes = Record<string, string | undefined>;

/**
 * Flex statements have no DTD, so entity processing is off: a DOCTYPE is
 * refused, and only XML's five predefined entities are decoded, in one pass,
 * as the parser decoded them before (character references stay as written, as
 * they did: derived keys hash these values, and must not change).
 */
const PREDEFINED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
export function decodeXmlEntities(value: string): string {
  return value.includes('&') ? value.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => PREDEFINED_ENTITIES[name]!) : value;
}

/** Refuses a document type declaration (its entities could expand without bound: "billion laughs"). */
export function refuseDoctype(xml: string, what: string): void {
  if (/<!DOCTYPE/i.test(xml)) throw new FlexStatementError(`${what} has a DOCTYPE; Flex statements have none, and entity declarations are not processed`);
}

const parser = new XMLParser({
  processEntities: false,
  attributeValueProcessor: (_name, value) => decodeXmlEntities(value),
  tagValueProcessor: (_name, value) => decodeXmlEntities(value),
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

/**
 * Keys for rows the broker gives no id (older statements' CashTransactions,
 * cancelled and some forex or futures Trades): "flex:" and a SHA-256 of the
 * row's own identifying fields, then "#n" for the n-th row with the same
 * fields in the statement (two equal fees on one day stay two rows). The
 * same statement imported again gives the same keys, so nothing is stored
 * twice. Rows are numbered over the whole statement, before the interval cut.
 */
function derivedKeys(rows: Attributes[], fields: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return rows.map((row) => {
    const digest = createHash('sha256')
      .update(JSON.stringify(fields.map((name) => row[name] ?? '')))
      .digest('hex')
      .slice(0, 32);
    const n = (seen.get(digest) ?? 0) + 1;
    seen.set(digest, n);
    return `flex:${digest}#${n}`;
  });
}

const TRADE_KEY_FIELDS = ['accountId', 'tradeDate', 'dateTime', 'symbol', 'conid', 'buySell', 'quantity', 'tradePrice', 'price', 'currency', 'proceeds', 'ibCommission', 'orderID', 'execID'] as const;
const CASH_KEY_FIELDS = ['accountId', 'dateTime', 'date', 'reportDate', 'settleDate', 'type', 'currency', 'amount', 'description', 'symbol', 'conid'] as const;

/** Trade rows that are executions: Flex can add order and summary rows (levelOfDetail ORDER, SYMBOL_SUMMARY, ...). */
const isExecution = (row: Attributes) => row.levelOfDetail === undefined || row.levelOfDetail === '' || row.levelOfDetail.toUpperCase() === 'EXECUTION';

function rows(section: unknown, element: string): Attributes[] {
  if (!section || typeof section !== 'object') return [];
  const list = (section as Record<string, unknown>)[element];
  return Array.isArray(list) ? (list as Attributes[]) : [];
}

export interface ParseOptions {
  /**
   * Whether the refusal of a statement of another account names the accounts
   * it holds: yes for an uploaded statement (the caller's own file), no for
   * one fetched from the Flex Web Service, whose error names only what the
   * caller named.
   */
  nameStatementAccounts: boolean;
}

/**
 * The activity of `accountId` in the statement that falls inside the interval.
 * Rejects malformed or truncated XML and a statement of another account.
 */
export function parseFlexStatement(xml: string, accountId: string, interval: DateInterval, options: ParseOptions = { nameStatementAccounts: true }): PortfolioActivity {
  refuseDoctype(xml, 'the statement');
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
    if (!options.nameStatementAccounts) throw new FlexStatementError(`the statement of this tenant's Flex query holds no account ${accountId}`);
    throw new FlexStatementError(`the statement is for account ${accounts.join(', ')}, not for account ${accountId}`);
  }

  const tradeRows = rows(statement.Trades, 'Trade').filter(isExecution);
  const tradeKeys = derivedKeys(tradeRows, TRADE_KEY_FIELDS);
  const trades: ImportedTrade[] = tradeRows.map((row, index) => {
    const what = `Trade ${index + 1}`;
    return {
      tradeId: optional(row, 'tradeID') ?? tradeKeys[index]!,
      tradeDate: flexDate(row.tradeDate ?? row.dateTime, `${what} tradeDate`),
      symbol: required(row, 'symbol', what),
      conid: optional(row, 'conid'),
      assetCategory: optional(row, 'assetCategory'),
      currency: required(row, 'currency', what),
      buySell: optional(row, 'buySell'),
      quantity: decimal(row, 'quantity', what),
      // Activity statements say tradePrice; trade confirmations and some queries say price.
      tradePrice: decimal(row, row.tradePrice !== undefined && row.tradePrice !== '' ? 'tradePrice' : 'price', what),
      proceeds: optionalDecimal(row, 'proceeds', what),
      commission: optionalDecimal(row, 'ibCommission', what),
    };
  });
  // BASE_SUMMARY rows are the broker's own totals in the base currency, not transactions.
  const cashRows = rows(statement.CashTransactions, 'CashTransaction').filter((row) => row.currency !== 'BASE_SUMMARY');
  const cashKeys = derivedKeys(cashRows, CASH_KEY_FIELDS);
  const cashTransactions: ImportedCashTransaction[] = cashRows.map((row, index) => {
    const what = `CashTransaction ${index + 1}`;
    const when = [row.dateTime, row.date, row.reportDate, row.settleDate].find((value) => value !== undefined && value !== '');
    return {
      transactionId: optional(row, 'transactionID') ?? cashKeys[index]!,
      date: flexDate(when, `${what} dateTime`),
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
