// PortfolioImportRepository (seed 000's PortfolioImportJobRepository) and the
// writes of imported activity.
// The daterange and the exclusion constraint live in SQL, so this is raw SQL.
import { tenantCondition } from '../auth/tenant-scope.ts';
import type { Queryable } from '../db/pool.ts';
import type { PortfolioImportSource } from '../generated/prisma/enums.ts';
import { INTERVAL_COLUMNS, toDateRange, type DateInterval } from './interval.ts';
import type { PortfolioActivity } from './source.ts';

export interface PortfolioImportJobRow {
  readonly jobId: string;
  readonly portfolioId: string;
  readonly accountId: string;
  readonly interval: DateInterval;
  readonly source: PortfolioImportSource;
  readonly statement: string | null;
  readonly active: boolean;
}

const COLUMNS = `job_id as "jobId", portfolio_id as "portfolioId", account_id as "accountId", source, statement, active,
  ${INTERVAL_COLUMNS('interval')}`;

type Row = Omit<PortfolioImportJobRow, 'interval'> & DateInterval;
const toJob = ({ start, end, ...row }: Row): PortfolioImportJobRow => ({ ...row, interval: { start, end } });

export class PortfolioImportRepository {
  constructor(private readonly db: Queryable) {}

  /** Inserts the kind row (in the creating transaction, see create.ts). */
  async save(job: Omit<PortfolioImportJobRow, 'active'>): Promise<void> {
    await this.db.query(
      `insert into portfolio_import_job (job_id, portfolio_id, account_id, interval, source, statement)
       values ($1, $2, $3, $4::daterange, $5, $6)`,
      [job.jobId, job.portfolioId, job.accountId, toDateRange(job.interval), job.source, job.statement],
    );
  }

  /** The kind row with its tenant (whose credentials a fetched statement needs). */
  async findById(jobId: string): Promise<(PortfolioImportJobRow & { tenantId: string }) | null> {
    const result = await this.db.query<Row & { tenantId: string }>(`select ${COLUMNS}, tenant_id as "tenantId" from portfolio_import_job where job_id = $1`, [jobId]);
    return result.rows[0] ? { ...toJob(result.rows[0]), tenantId: result.rows[0].tenantId } : null;
  }

  /** The active import of the portfolio (in the tenant; null: any) whose interval overlaps this one, if any. */
  async findActiveOverlapping(tenantId: string | null, portfolioId: string, interval: DateInterval): Promise<PortfolioImportJobRow | null> {
    const result = await this.db.query<Row>(
      `select ${COLUMNS} from portfolio_import_job p
        where portfolio_id = $1 and interval && $2::daterange and active and ${tenantCondition('p', 3)}
        order by lower(interval) limit 1`,
      [portfolioId, toDateRange(interval), tenantId],
    );
    return result.rows[0] ? toJob(result.rows[0]) : null;
  }

  /** Seed 000's exists_for_interval: an active import of the portfolio overlaps the interval. */
  async existsForInterval(tenantId: string | null, portfolioId: string, interval: DateInterval): Promise<boolean> {
    return (await this.findActiveOverlapping(tenantId, portfolioId, interval)) !== null;
  }

  /**
   * Upserts the activity (the broker's ids are the keys, so nothing is stored
   * twice) and records the counts on the job; one transaction by the caller.
   */
  async saveActivity(jobId: string, portfolioId: string, activity: PortfolioActivity) {
    const { accountId } = activity;
    const trades = await this.db.query(
      `insert into portfolio_trade (portfolio_id, account_id, import_job_id, trade_id, trade_date, symbol, conid, asset_category,
                                    currency, buy_sell, quantity, trade_price, proceeds, commission)
       select $1, $2, $3, x."tradeId", x."tradeDate", x.symbol, x.conid, x."assetCategory", x.currency, x."buySell",
              x.quantity, x."tradePrice", x.proceeds, x.commission
         from jsonb_to_recordset($4::jsonb) as x("tradeId" text, "tradeDate" date, symbol text, conid text, "assetCategory" text,
              currency text, "buySell" text, quantity numeric, "tradePrice" numeric, proceeds numeric, commission numeric)
       on conflict on constraint portfolio_trade_unique do nothing`,
      [portfolioId, accountId, jobId, JSON.stringify(activity.trades)],
    );
    const cash = await this.db.query(
      `insert into portfolio_cash_transaction (portfolio_id, account_id, import_job_id, transaction_id, date, type, description,
                                               symbol, currency, amount)
       select $1, $2, $3, x."transactionId", x.date, x.type, x.description, x.symbol, x.currency, x.amount
         from jsonb_to_recordset($4::jsonb) as x("transactionId" text, date date, type text, description text, symbol text,
              currency text, amount numeric)
       on conflict on constraint portfolio_cash_transaction_unique do nothing`,
      [portfolioId, accountId, jobId, JSON.stringify(activity.cashTransactions)],
    );
    const positions = await this.db.query(
      `insert into portfolio_position (portfolio_id, account_id, import_job_id, report_date, conid, symbol, asset_category,
                                       currency, quantity, mark_price, position_value, cost_basis)
       select $1, $2, $3, x."reportDate", x.conid, x.symbol, x."assetCategory", x.currency, x.quantity, x."markPrice",
              x."positionValue", x."costBasis"
         from jsonb_to_recordset($4::jsonb) as x("reportDate" date, conid text, symbol text, "assetCategory" text, currency text,
              quantity numeric, "markPrice" numeric, "positionValue" numeric, "costBasis" numeric)
       on conflict on constraint portfolio_position_unique do nothing`,
      [portfolioId, accountId, jobId, JSON.stringify(activity.positions)],
    );
    const counts = { trades: trades.rowCount ?? 0, cashTransactions: cash.rowCount ?? 0, positions: positions.rowCount ?? 0 };
    await this.db.query(
      `update portfolio_import_job set trade_count = $2, cash_transaction_count = $3, position_count = $4 where job_id = $1`,
      [jobId, counts.trades, counts.cashTransactions, counts.positions],
    );
    return counts;
  }
}
