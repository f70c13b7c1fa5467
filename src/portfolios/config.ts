// The portfolio kind's settings (environment variables), validated with the rest of the
// configuration by loadConfig (src/service-config.ts reads them from src/kinds.ts).
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const portfolioConfig = {
  /** The IBKR Flex Web Service token and query id of PROVIDER_CREDENTIALS=server (one tenant's, from the environment). */
  IBKR_FLEX_TOKEN: z.string().min(1).optional(),
  IBKR_FLEX_QUERY_ID: z.string().min(1).optional(),
  /** Where the Flex Web Service's SendRequest and GetStatement live. */
  IBKR_FLEX_BASE_URL: z.string().url().default('https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService'),
  /** Wait between two GetStatement polls. */
  IBKR_FLEX_POLL_INTERVAL_MS: int(10, 600_000).default(5000),
  /** GetStatement polls before the attempt fails (and the job retries). */
  IBKR_FLEX_MAX_POLLS: int(1, 1000).default(60),
};
