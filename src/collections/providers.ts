// Candle providers by name, built from the configuration.
import path from 'node:path';
import type { KindConfig } from '../kind-descriptor.ts';
import type { collectionConfig } from './config.ts';
import type { CandleProvider } from './candles.ts';
import { CsvDirProvider } from './csv-dir-provider.ts';
import { createOutboundFetch, outboundOptions } from '../net/outbound.ts';
import { HttpCsvProvider } from './http-csv-provider.ts';

export const PROVIDER_NAMES = ['csv-dir', 'http-csv'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export type CollectionConfig = Pick<
  KindConfig<typeof collectionConfig>,
  | 'COLLECTION_CSV_DIR'
  | 'COLLECTION_HTTP_URL_TEMPLATE'
  | 'COLLECTION_HTTP_TIMEOUT_MS'
  | 'COLLECTION_HTTP_CONCURRENCY'
  | 'COLLECTION_HTTP_RETRIES'
  | 'COLLECTION_HTTP_RETRY_BASE_DELAY_MS'
  | 'COLLECTION_MAX_RANGE_DAYS'
  | 'COLLECTION_SYMBOLS_MAX'
  | 'OUTBOUND_ALLOW_LIST'
  | 'OUTBOUND_MAX_REDIRECTS'
  | 'OUTBOUND_RESPONSE_MAX_BYTES'
  | 'OUTBOUND_TIMEOUT_MS'
>;

export function createProviders(config: CollectionConfig): Map<ProviderName, CandleProvider> {
  return new Map<ProviderName, CandleProvider>([
    ['csv-dir', new CsvDirProvider(path.resolve(config.COLLECTION_CSV_DIR))],
    [
      'http-csv',
      new HttpCsvProvider({
        urlTemplate: config.COLLECTION_HTTP_URL_TEMPLATE,
        timeoutMs: config.COLLECTION_HTTP_TIMEOUT_MS,
        concurrency: config.COLLECTION_HTTP_CONCURRENCY,
        retries: config.COLLECTION_HTTP_RETRIES,
        retryBaseDelayMs: config.COLLECTION_HTTP_RETRY_BASE_DELAY_MS,
        fetch: createOutboundFetch(outboundOptions(config)),
      }),
    ],
  ]);
}
