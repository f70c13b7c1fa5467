// The budget provider the configuration names (BUDGET_PROVIDER), built once per process.
import type { Config } from '../config.ts';
import { createOutboundFetch, outboundOptions } from '../net/outbound.ts';
import type { BudgetProvider } from './provider.ts';
import { SampleBudgetProvider } from './sample-provider.ts';
import { YnabProvider } from './ynab-provider.ts';

export type BudgetProviderConfig = Pick<
  Config,
  | 'BUDGET_PROVIDER'
  | 'YNAB_API_URL'
  | 'YNAB_ACCESS_TOKEN'
  | 'YNAB_TIMEOUT_MS'
  | 'YNAB_RETRIES'
  | 'YNAB_RETRY_BASE_DELAY_MS'
  | 'YNAB_RATE_LIMIT_RETRIES'
  | 'YNAB_RATE_LIMIT_MAX_WAIT_MS'
  | 'YNAB_TRANSACTIONS_PAGE_SIZE'
  | 'YNAB_UPDATE_CHUNK_SIZE'
  | 'OUTBOUND_ALLOW_LIST'
  | 'OUTBOUND_MAX_REDIRECTS'
  | 'OUTBOUND_RESPONSE_MAX_BYTES'
  | 'OUTBOUND_TIMEOUT_MS'
>;

export function createBudgetProvider(config: BudgetProviderConfig): BudgetProvider {
  if (config.BUDGET_PROVIDER === 'sample') return new SampleBudgetProvider();
  // loadConfig refuses BUDGET_PROVIDER=ynab without a token; this guards direct callers.
  if (!config.YNAB_ACCESS_TOKEN) throw new Error('YNAB_ACCESS_TOKEN: required when BUDGET_PROVIDER is ynab');
  return new YnabProvider({
    apiUrl: config.YNAB_API_URL,
    accessToken: config.YNAB_ACCESS_TOKEN,
    fetch: createOutboundFetch(outboundOptions(config)),
    timeoutMs: config.YNAB_TIMEOUT_MS,
    retries: config.YNAB_RETRIES,
    retryBaseDelayMs: config.YNAB_RETRY_BASE_DELAY_MS,
    rateLimitRetries: config.YNAB_RATE_LIMIT_RETRIES,
    rateLimitMaxWaitMs: config.YNAB_RATE_LIMIT_MAX_WAIT_MS,
    transactionsPageSize: config.YNAB_TRANSACTIONS_PAGE_SIZE,
    updateChunkSize: config.YNAB_UPDATE_CHUNK_SIZE,
  });
}
