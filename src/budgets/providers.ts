// The budget provider of each tenant (BUDGET_PROVIDER names the adapter). A
// tenant reaches only budgets its own credentials reach:
//   ynab    the tenant's YNAB connection (src/connections); without one, every
//           budget answers ProviderConnectionMissingError, whatever its id.
//   sample  a copy of the sample budget per tenant, so one tenant's writes
//           never reach another's (the sample stands in for each tenant's own
//           YNAB account; a copy each keeps it usable by every tenant, where
//           "the first tenant owns it" would leave the demo to one).
// Providers are kept per tenant and process, a YNAB one per saved credential
// (with its cached budget list), and made again when the tenant saves new ones.
import type { KindConfig } from '../kind-descriptor.ts';
import type { budgetConfig } from './config.ts';
import type { ProviderConnections } from '../connections/connections.ts';
import { ConnectionProvider } from '../generated/prisma/enums.ts';
import { createOutboundFetch, outboundOptions } from '../net/outbound.ts';
import type { BudgetProvider } from './provider.ts';
import { SampleBudgetProvider } from './sample-provider.ts';
import { YnabProvider, type YnabProviderOptions } from './ynab-provider.ts';

export type BudgetProviderConfig = Pick<
  KindConfig<typeof budgetConfig>,
  | 'BUDGET_PROVIDER'
  | 'YNAB_API_URL'
  | 'YNAB_TIMEOUT_MS'
  | 'YNAB_RETRIES'
  | 'YNAB_RETRY_BASE_DELAY_MS'
  | 'YNAB_RATE_LIMIT_RETRIES'
  | 'YNAB_RATE_LIMIT_MAX_WAIT_MS'
  | 'YNAB_TRANSACTIONS_PAGE_SIZE'
  | 'YNAB_UPDATE_CHUNK_SIZE'
  | 'YNAB_BUDGET_LIST_CACHE_MS'
  | 'OUTBOUND_ALLOW_LIST'
  | 'OUTBOUND_MAX_REDIRECTS'
  | 'OUTBOUND_RESPONSE_MAX_BYTES'
  | 'OUTBOUND_TIMEOUT_MS'
>;

export interface BudgetProviders {
  /** The adapter's name ("ynab", "sample"), as stored with a synced budget. */
  readonly name: string;
  /** The provider of the tenant's budgets; ProviderConnectionMissingError when it has no credentials. */
  forTenant(tenantId: string): Promise<BudgetProvider>;
}

/** Most tenants whose providers one process keeps; the least recently used goes first (a YNAB one is made again on demand). */
const TENANTS_KEPT = 1000;

export function createBudgetProviders(config: BudgetProviderConfig, connections: ProviderConnections): BudgetProviders {
  if (config.BUDGET_PROVIDER === 'sample') return new SampleBudgetProviders();
  return new YnabBudgetProviders(ynabProviderOptions(config), connections);
}

/** The YNAB adapter's settings from the configuration; the token is each tenant's. */
export function ynabProviderOptions(config: BudgetProviderConfig): Omit<YnabProviderOptions, 'accessToken'> {
  return {
    apiUrl: config.YNAB_API_URL,
    fetch: createOutboundFetch(outboundOptions(config)),
    timeoutMs: config.YNAB_TIMEOUT_MS,
    retries: config.YNAB_RETRIES,
    retryBaseDelayMs: config.YNAB_RETRY_BASE_DELAY_MS,
    rateLimitRetries: config.YNAB_RATE_LIMIT_RETRIES,
    rateLimitMaxWaitMs: config.YNAB_RATE_LIMIT_MAX_WAIT_MS,
    transactionsPageSize: config.YNAB_TRANSACTIONS_PAGE_SIZE,
    updateChunkSize: config.YNAB_UPDATE_CHUNK_SIZE,
    budgetListCacheMs: config.YNAB_BUDGET_LIST_CACHE_MS,
  };
}

/** Every tenant its own sample budget, in this process's memory (never evicted: that would lose its writes). */
export class SampleBudgetProviders implements BudgetProviders {
  readonly name = 'sample';
  readonly #byTenant = new Map<string, SampleBudgetProvider>();

  async forTenant(tenantId: string): Promise<BudgetProvider> {
    let provider = this.#byTenant.get(tenantId);
    if (!provider) this.#byTenant.set(tenantId, (provider = new SampleBudgetProvider()));
    return provider;
  }
}

export class YnabBudgetProviders implements BudgetProviders {
  readonly name = 'ynab';
  readonly #byTenant = new Map<string, { credentialId: string; provider: YnabProvider }>();

  constructor(
    private readonly options: Omit<YnabProviderOptions, 'accessToken'>,
    private readonly connections: ProviderConnections,
  ) {}

  async forTenant(tenantId: string): Promise<BudgetProvider> {
    const credential = await this.connections.ynab(tenantId);
    const kept = this.#byTenant.get(tenantId);
    this.#byTenant.delete(tenantId);
    if (!credential) throw this.connections.missing(ConnectionProvider.YNAB);
    const entry = kept?.credentialId === credential.credentialId ? kept : { credentialId: credential.credentialId, provider: new YnabProvider({ ...this.options, accessToken: credential.secret.token }) };
    // Re-inserted: the Map's order is the order of use.
    this.#byTenant.set(tenantId, entry);
    if (this.#byTenant.size > TENANTS_KEPT) this.#byTenant.delete(this.#byTenant.keys().next().value!);
    return entry.provider;
  }
}
