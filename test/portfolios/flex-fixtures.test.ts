// Real Flex statements from another Flex parser's test suite (test/fixtures/
// README.md): each parses with the counts its file holds, rows without
// broker ids get stable derived keys, sections the product does not import
// are skipped, and importing a statement twice stores nothing the second time.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseFlexStatement } from '../../src/portfolios/ibkr/flex-statement.ts';
import { PortfolioImportRepository } from '../../src/portfolios/repository.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const everything = { start: '2000-01-01', end: '2030-12-31' };
const fixture = (name: string) => readFileSync(`test/fixtures/flex/${name}`, 'utf8');

/** Counted from the file's text, independently of the parser: execution rows, cash rows other than totals, positions. */
function countedInFile(xml: string) {
  const elements = (name: string) => [...xml.matchAll(new RegExp(`<${name}\\s[^>]*>`, 'g'))].map((m) => m[0]);
  const attribute = (element: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(element)?.[1];
  return {
    trades: elements('Trade').filter((t) => [undefined, '', 'EXECUTION'].includes(attribute(t, 'levelOfDetail'))).length,
    cashTransactions: elements('CashTransaction').filter((c) => attribute(c, 'currency') !== 'BASE_SUMMARY').length,
    positions: elements('OpenPosition').length,
    cashWithoutId: elements('CashTransaction').filter((c) => !attribute(c, 'transactionID')).length,
    tradesWithoutId: elements('Trade').filter((t) => !attribute(t, 'tradeID')).length,
  };
}

// account, then trades / cash transactions / positions as the files hold them.
const STATEMENTS = [
  { file: 'TestForCoding.xml', account: 'U1234567', trades: 15, cash: 0, positions: 0, shape: 'trades only, with a CashReport section (skipped)' },
  { file: 'kmi.xml', account: 'U12345678', trades: 3, cash: 10, positions: 0, shape: 'Order and Lot rows beside Trades; cash without transactionID' },
  { file: 'StatementOfFunds.xml', account: 'DU231262', trades: 0, cash: 0, positions: 0, shape: 'only a statement of funds (nothing imported)' },
  { file: 'activity_simple.xml', account: 'U1234567', trades: 2, cash: 3, positions: 2, shape: 'price instead of tradePrice; corporate actions, securities info (skipped)' },
  { file: 'activity_cash.xml', account: 'U1234567', trades: 0, cash: 15, positions: 0, shape: '15 cash transactions, none with transactionID' },
  { file: 'activity_forex.xml', account: 'U1234567', trades: 4, cash: 3, positions: 3, shape: 'forex trades without tradeID' },
  { file: 'activity_cancelled_trades.xml', account: 'U1234567', trades: 4, cash: 0, positions: 0, shape: 'busted trades without any ids' },
  { file: 'activity_daily_portfolio.xml', account: 'U1234567', trades: 3, cash: 3, positions: 5, shape: 'many sections, compact dates' },
] as const;

describe('real Flex statements', () => {
  for (const s of STATEMENTS) {
    it(`${s.file} (${s.shape}): ${s.trades} trades, ${s.cash} cash transactions, ${s.positions} positions`, () => {
      const xml = fixture(s.file);
      const counted = countedInFile(xml);
      expect({ trades: counted.trades, cash: counted.cashTransactions, positions: counted.positions }).toEqual({
        trades: s.trades,
        cash: s.cash,
        positions: s.positions,
      });
      const activity = parseFlexStatement(xml, s.account, everything);
      expect(activity.trades).toHaveLength(s.trades);
      expect(activity.cashTransactions).toHaveLength(s.cash);
      expect(activity.positions).toHaveLength(s.positions);
      // Every row has a key, and no two rows of a kind share one.
      expect(new Set(activity.trades.map((t) => t.tradeId)).size).toBe(s.trades);
      expect(new Set(activity.cashTransactions.map((c) => c.transactionId)).size).toBe(s.cash);
      const derived = (ids: string[]) => ids.filter((id) => id.startsWith('flex:')).length;
      expect(derived(activity.trades.map((t) => t.tradeId))).toBe(counted.tradesWithoutId);
      expect(derived(activity.cashTransactions.map((c) => c.transactionId))).toBe(counted.cashWithoutId);
      // Derived keys are the same on every read of the statement.
      expect(parseFlexStatement(xml, s.account, everything)).toEqual(activity);
    });
  }

  it('gives two identical rows of one statement two keys (#1, #2)', () => {
    const row = '<CashTransaction accountId="U1" currency="USD" dateTime="20250102" amount="-1.50" type="Other Fees" description="FEE" />';
    const xml = `<FlexQueryResponse><FlexStatements count="1"><FlexStatement accountId="U1"><CashTransactions>${row}${row}</CashTransactions></FlexStatement></FlexStatements></FlexQueryResponse>`;
    const ids = parseFlexStatement(xml, 'U1', everything).cashTransactions.map((c) => c.transactionId);
    expect(ids).toHaveLength(2);
    expect(ids[0]!.replace(/#1$/, '#2')).toBe(ids[1]);
  });
});

describe('importing real Flex statements twice', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });

  it('stores every row once; the second import of each statement stores nothing', async () => {
    const portfolioId = randomUUID();
    for (const s of STATEMENTS) {
      const activity = parseFlexStatement(fixture(s.file), s.account, everything);
      const importOnce = async () => {
        const jobId = randomUUID();
        await db.pool.query(`insert into job (id, job_type) values ($1, 'test.flex')`, [jobId]);
        return new PortfolioImportRepository(db.pool).saveActivity(jobId, portfolioId, activity);
      };
      expect(await importOnce(), s.file).toEqual({ trades: s.trades, cashTransactions: s.cash, positions: s.positions });
      expect(await importOnce(), s.file).toEqual({ trades: 0, cashTransactions: 0, positions: 0 });
    }
  });
});
