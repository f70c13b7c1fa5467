// The collection kind's settings (environment variables), validated with the rest of the
// configuration by loadConfig (src/service-config.ts reads them from src/kinds.ts).
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const collectionConfig = {
  /** Directory of <SYMBOL>.csv files for the csv-dir candle provider (a sample ships in data/candles). */
  COLLECTION_CSV_DIR: z.string().min(1).default('./data/candles'),
  /** URL of the http-csv candle provider; {symbol} and {timeframe} are filled in. */
  COLLECTION_HTTP_URL_TEMPLATE: z.string().min(1).default('https://stooq.com/q/d/l/?s={symbol}&i=d'),
  /** Time limit of one http-csv request. */
  COLLECTION_HTTP_TIMEOUT_MS: int(1, 600_000).default(15_000),
  /** http-csv requests in flight at once, per worker process. */
  COLLECTION_HTTP_CONCURRENCY: int(1, 100).default(4),
  /** Retries of one symbol's http-csv request after a network error, 5xx or 429. */
  COLLECTION_HTTP_RETRIES: int(0, 20).default(3),
  /** First backoff between http-csv retries; doubles per retry. */
  COLLECTION_HTTP_RETRY_BASE_DELAY_MS: int(0, 600_000).default(500),
  /** Longest from..to range of one CollectionJob. */
  COLLECTION_MAX_RANGE_DAYS: int(1, 36_500).default(3660),
  /** Most symbols in one CollectionJob. */
  COLLECTION_SYMBOLS_MAX: int(1, 100_000).default(1000),
};
