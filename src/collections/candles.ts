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

/** A symbol a provider was asked for but does not have (not worth retrying). */
export class SymbolNotFoundError extends Error {
  override name = 'SymbolNotFoundError';
}

/** Ticker-like: letters, digits and . - ^ = (e.g. BRK.B, ^SPX, EURUSD=X); never a path. */
export const SYMBOL_FORMAT = /^[A-Za-z0-9^][A-Za-z0-9.\-^=_]{0,31}$/;

const HEADER = ['date', 'open', 'high', 'low', 'close', 'volume'];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function parseTimestamp(value: string): Date | null {
  const text = value.trim();
  // A bare date is a daily candle at midnight UTC; anything else must carry its time.
  if (DAY.test(text)) {
    const day = new Date(`${text}T00:00:00Z`);
    // Date rolls 2025-02-30 over to March: a day that does not round-trip does not exist.
    return Number.isFinite(day.getTime()) && day.toISOString().startsWith(text) ? day : null;
  }
  const time = /T|\s/.test(text) ? Date.parse(text) : NaN;
  return Number.isFinite(time) ? new Date(time) : null;
}

function candleFrom(fields: string[]): Candle | string {
  if (fields.length !== HEADER.length) return `expected ${HEADER.length} fields, got ${fields.length}`;
  const ts = parseTimestamp(fields[0]!);
  if (!ts) return `Date "${fields[0]}" is not a date (YYYY-MM-DD or ISO 8601 date-time)`;
  const numbers: number[] = [];
  for (let i = 1; i < HEADER.length; i++) {
    const text = fields[i]!.trim();
    const value = text === '' ? NaN : Number(text);
    if (!Number.isFinite(value)) return `${HEADER[i]} "${fields[i]}" is not a number`;
    numbers.push(value);
  }
  const [open, high, low, close, volume] = numbers as [number, number, number, number, number];
  if (low > high) return `low ${low} is above high ${high}`;
  if (open < low || open > high) return `open ${open} is outside low..high`;
  if (close < low || close > high) return `close ${close} is outside low..high`;
  if (volume < 0) return `volume ${volume} is negative`;
  return { ts, open, high, low, close, volume };
}

/**
 * Parses Date,Open,High,Low,Close,Volume CSV (header required, any case) into
 * the candles within the range. Bad rows and repeated dates are rejected with
 * their line number; the file as a whole fails only when its header is wrong.
 */
export function parseCandleCsv(text: string, range: CandleRange): CandleFetch {
  const records = parse(text, { relax_column_count: true, skip_empty_lines: true, trim: true, bom: true }) as string[][];
  const header = records[0]?.map((name) => name.toLowerCase());
  if (!header || header.join(',') !== HEADER.join(',')) {
    throw new Error(`expected the CSV header Date,Open,High,Low,Close,Volume, got "${records[0]?.join(',') ?? ''}"`);
  }
  const candles = new Map<number, Candle>();
  const rejectedRows: RejectedRow[] = [];
  records.slice(1).forEach((fields, index) => {
    const line = index + 2;
    const candle = candleFrom(fields);
    if (typeof candle === 'string') return rejectedRows.push({ line, reason: candle });
    const time = candle.ts.getTime();
    if (time < range.from.getTime() || time > range.to.getTime()) return;
    if (candles.has(time)) return rejectedRows.push({ line, reason: `Date ${fields[0]} appears twice` });
    candles.set(time, candle);
  });
  return { candles: [...candles.values()].sort((a, b) => a.ts.getTime() - b.ts.getTime()), rejectedRows };
}
