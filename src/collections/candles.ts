// Candles and the provider port: every source of candles (a directory of CSV
// files, an HTTP endpoint) answers fetchCandles the same way.
import { parse } from 'csv-parse/sync';
import type { Timeframe } from './kind.ts';

export interface Candle {
  ts: Date;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface CandleRange {
  from: Date;
  to: Date;
}

/** A CSV row that was not a valid candle: reported for its symbol, never stored. */
export interface RejectedRow {
  line: number;
  reason: string;
}

export interface CandleFetch {
  candles: Candle[];
  rejectedRows: RejectedRow[];
}

export interface CandleProvider {
  /** Candles of one symbol within the range (inclusive), oldest first. Throws when the symbol cannot be fetched. */
  fetchCandles(symbol: string, timeframe: Timeframe, range: CandleRange, signal: AbortSignal): Promise<CandleFetch>;
}

/** Ticker-like: letters, digits and . - ^ = (e.g. BRK.B, ^SPX, EURUSD=X); never a path. */
export const SYMBOL_FORMAT = /^[A-Za-z0-9^][A-Za-z0-9.\-^=_]{0,31}$/;

/** The columns a candle needs, and the header names (lower case, without <> or quotes) each goes by. */
const COLUMNS = {
  date: ['date', 'data', 'datetime', 'date time', 'timestamp', 'day'],
  time: ['time'],
  open: ['open', 'otwarcie'],
  high: ['high', 'najwyzszy'],
  low: ['low', 'najnizszy'],
  close: ['close', 'zamkniecie'],
  volume: ['volume', 'vol', 'wolumen'],
} as const;
type Column = keyof typeof COLUMNS;
const PRICES = ['open', 'high', 'low', 'close'] as const;
const REQUIRED: readonly Column[] = ['date', ...PRICES];

const DAY = /^(\d{4})-?(\d{2})-?(\d{2})$/;
const TIME_OF_DAY = /^(\d{2}):?(\d{2})(?::?(\d{2}))?$/;
/** What download tools write where a value is missing (Yahoo writes null). */
const MISSING = new Set(['', 'null', 'nan', 'n/a', 'na', '-']);

/** A date (YYYY-MM-DD or YYYYMMDD) at a time of day (HH:MM[:SS] or HHMMSS; midnight when absent), in UTC. */
function dayAt(dayText: string, timeText: string | undefined): Date | null {
  const day = DAY.exec(dayText);
  const time = TIME_OF_DAY.exec(timeText ?? '00:00:00');
  if (!day || !time) return null;
  const [, y, m, d] = day;
  const iso = `${y}-${m}-${d}T${time[1]}:${time[2]}:${time[3] ?? '00'}Z`;
  const value = new Date(iso);
  // Date rolls 2025-02-30 over to March: a day that does not round-trip does not exist.
  return Number.isFinite(value.getTime()) && value.toISOString().startsWith(`${y}-${m}-${d}`) && Number(time[1]) < 24 ? value : null;
}

function parseTimestamp(value: string, time: string | undefined): Date | null {
  const text = value.trim();
  if (DAY.test(text)) return dayAt(text, time?.trim());
  if (time !== undefined) return null;
  // A date-time; without a zone it is UTC (as a bare date is), never the server's local time.
  const dateTime = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (!dateTime) return null;
  const parsed = Date.parse(`${dateTime[1]}T${dateTime[2]}${dateTime[3] ?? 'Z'}`);
  return Number.isFinite(parsed) ? new Date(parsed) : null;
}

/** Column name -> index, from the header; throws naming what is missing. Unknown columns (Adj Close, OpenInterest, ...) are ignored. */
function headerColumns(header: string[]): Map<Column, number> {
  const found = new Map<Column, number>();
  header.forEach((raw, index) => {
    const name = raw.toLowerCase().replace(/[<>"]/g, '').replace(/[\s_]+/g, ' ').trim();
    for (const [column, names] of Object.entries(COLUMNS) as Array<[Column, readonly string[]]>) {
      if ((names as readonly string[]).includes(name) && !found.has(column)) found.set(column, index);
    }
  });
  const missing = REQUIRED.filter((column) => !found.has(column));
  if (missing.length > 0) {
    throw new Error(
      `the CSV header must name the columns Date, Open, High, Low, Close (Volume optional; any order and case); ` +
        `missing ${missing.join(', ')}; got "${header.join(',').slice(0, 200)}"`,
    );
  }
  return found;
}

function candleFrom(fields: string[], columns: Map<Column, number>, width: number): Candle | string {
  if (fields.length !== width) return `expected ${width} fields as in the header, got ${fields.length}`;
  const field = (column: Column) => (columns.has(column) ? fields[columns.get(column)!]!.trim() : undefined);
  const ts = parseTimestamp(field('date')!, field('time'));
  if (!ts) return `Date "${field('date')}${columns.has('time') ? ` ${field('time')}` : ''}" is not a date (YYYY-MM-DD, YYYYMMDD or an ISO 8601 date-time)`;
  const number = (column: Column): number | string => {
    const text = field(column)!;
    if (MISSING.has(text.toLowerCase())) return `${column} is missing ("${text}")`;
    const value = Number(text);
    return Number.isFinite(value) ? value : `${column} "${text}" is not a number`;
  };
  const values: number[] = [];
  for (const column of [...PRICES, ...(columns.has('volume') ? (['volume'] as const) : [])]) {
    const value = number(column);
    if (typeof value === 'string') return value;
    values.push(value);
  }
  const [open, high, low, close, volume = 0] = values as [number, number, number, number, number?];
  if (low > high) return `low ${low} is above high ${high}`;
  if (open < low || open > high) return `open ${open} is outside low..high`;
  if (close < low || close > high) return `close ${close} is outside low..high`;
  if (volume < 0) return `volume ${volume} is negative`;
  return { ts, open, high, low, close, volume };
}

/**
 * Parses candle CSV as users have it (Yahoo, stooq, other vendors) into the
 * candles within the range. Columns are found by header name in any order and
 * case: Date (or stooq's <DATE>/Data; YYYY-MM-DD, YYYYMMDD or a date-time),
 * an optional Time column (stooq's <TIME>), Open, High, Low, Close and
 * optionally Volume (0 when the file has none). Other columns are ignored,
 * Yahoo's Adj Close among them: a candle keeps the traded prices. The
 * delimiter is a comma, or a semicolon when the header has no comma. A row
 * with a missing price (empty, or Yahoo's null), a bad value or a repeated
 * date is rejected with its line and the rest is kept; the file fails as a
 * whole only when its header lacks a required column.
 */
export function parseCandleCsv(text: string, range: CandleRange): CandleFetch {
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const delimiter = !firstLine.includes(',') && firstLine.includes(';') ? ';' : ',';
  const records = parse(text, { relax_column_count: true, skip_empty_lines: true, trim: true, bom: true, info: true, delimiter }) as unknown as Array<{
    record: string[];
    info: { lines: number };
  }>;
  if (records.length === 0) throw new Error('the CSV file is empty (expected a header naming Date, Open, High, Low, Close)');
  const header = records[0]!.record;
  const columns = headerColumns(header);
  const candles = new Map<number, Candle>();
  const rejectedRows: RejectedRow[] = [];
  for (const { record: fields, info } of records.slice(1)) {
    const line = info.lines;
    const candle = candleFrom(fields, columns, header.length);
    if (typeof candle === 'string') {
      rejectedRows.push({ line, reason: candle });
      continue;
    }
    const time = candle.ts.getTime();
    if (time < range.from.getTime() || time > range.to.getTime()) continue;
    if (candles.has(time)) {
      rejectedRows.push({ line, reason: `Date ${candle.ts.toISOString()} appears twice` });
      continue;
    }
    candles.set(time, candle);
  }
  return { candles: [...candles.values()].sort((a, b) => a.ts.getTime() - b.ts.getTime()), rejectedRows };
}
