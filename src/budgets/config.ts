// The budget kind's settings (environment variables), validated with the rest of the
// configuration by loadConfig (src/service-config.ts reads them from src/kinds.ts).
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const budgetConfig = {
  /** Budget provider of BudgetJobs: `sample` (a budget shipped in the repository, offline) or `ynab` (the YNAB API). */
  BUDGET_PROVIDER: z.enum(['sample', 'ynab']).default('sample'),
  /** Base URL of the YNAB API (a local server in tests; allow it with OUTBOUND_ALLOW_LIST). */
  YNAB_API_URL: z.string().url().default('https://api.ynab.com/v1'),
  /**
   * The YNAB personal access token of PROVIDER_CREDENTIALS=server (one tenant's, from the
   * environment); sent as a Bearer header only, never logged or stored. With per-tenant
   * connections (the default) each tenant saves its own (src/connections).
   */
  YNAB_ACCESS_TOKEN: z.string().min(1).optional(),
  /**
   * How long the budget list a YNAB connection answers (GET /budgets) is reused, per
   * connection and process: creates check their budget against it, so a loop of creates
   * does not spend the token's hourly quota. A budget made at YNAB meanwhile is found
   * once it expires.
   */
  YNAB_BUDGET_LIST_CACHE_MS: int(0, 86_400_000).default(300_000),
  /** Time limit of one YNAB request until its answer is read (an export: until its headers arrive). */
  YNAB_TIMEOUT_MS: int(1, 600_000).default(30_000),
  /** Retries of one YNAB request after a network error or a 5xx, with exponential backoff and jitter. */
  YNAB_RETRIES: int(0, 20).default(3),
  /** First backoff between those retries; doubles per retry. */
  YNAB_RETRY_BASE_DELAY_MS: int(0, 600_000).default(500),
  /** Times one YNAB request waits out a 429's Retry-After before failing RATE_LIMITED (retriable). */
  YNAB_RATE_LIMIT_RETRIES: int(0, 20).default(3),
  /** Longest wait for one Retry-After (a longer one is cut to this). */
  YNAB_RATE_LIMIT_MAX_WAIT_MS: int(0, 3_600_000).default(120_000),
  /** Transactions per page (the local server's per_page extension; real YNAB answers one page). */
  YNAB_TRANSACTIONS_PAGE_SIZE: int(1, 100_000).default(1000),
  /** Transactions per bulk update request (PATCH /budgets/{id}/transactions). */
  YNAB_UPDATE_CHUNK_SIZE: int(1, 10_000).default(500),
};
