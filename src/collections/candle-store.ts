// Writing and reading the candle table. Upsert on (symbol, timeframe, ts):
// collecting the same range twice changes nothing.
import type { Queryable } from '../db/pool.ts';
import type { Candle } from './candles.ts';

/** Rows per statement: keeps each statement's parameters small. */
const CHUNK = 5000;

/** Stores candles of one symbol; returns how many the table did not have before (changed ones are updated, not counted). */
export async function upsertCandles(db: Queryable, symbol: string, timeframe: string, candles: readonly Candle[]): Promise<number> {
  let inserted = 0;
  for (let start = 0; start < candles.length; start += CHUNK) {
    const chunk = candles.slice(start, start + CHUNK);
    // xmax = 0: the row version was inserted by this statement, not updated.
    const { rows } = await db.query<{ inserted: boolean }>(
      `insert into candle (symbol, timeframe, ts, open, high, low, close, volume)
       select $1, $2, * from unnest($3::timestamptz[], $4::float8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[])
       on conflict (symbol, timeframe, ts) do update
          set open = excluded.open, high = excluded.high, low = excluded.low,
              close = excluded.close, volume = excluded.volume
        where (candle.open, candle.high, candle.low, candle.close, candle.volume)
              is distinct from (excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume)
       returning (xmax = 0) as inserted`,
      [
        symbol,
        timeframe,
        chunk.map((c) => c.ts),
        chunk.map((c) => c.open),
        chunk.map((c) => c.high),
        chunk.map((c) => c.low),
        chunk.map((c) => c.close),
        chunk.map((c) => c.volume),
      ],
    );
    inserted += rows.filter((row) => row.inserted).length;
  }
  return inserted;
}
