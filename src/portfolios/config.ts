// The portfolio kind's settings (environment variables), validated with the rest of the
// configuration by loadConfig (src/config.ts reads them from src/kinds.ts).
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const portfolioConfig = {
  /** IBKR Flex Web Service token; with IBKR_FLEX_QUERY_ID, a job without an uploaded statement fetches one. */
  IBKR_FLEX_TOKEN: z.string().min(1).optional(),
  /** The Flex Query to run. */
  IBKR_FLEX_QUERY_ID: z.string().min(1).optional(),
  /** Where SendRequest / GetStatement live. */
  IBKR_FLEX_BASE_URL: z.url().default('https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService'),
  /** How often GetStatement is polled. */
  IBKR_FLEX_POLL_INTERVAL_MS: int(10, 600_000).default(5000),
  /** Polls before the attempt fails (and retries). */
  IBKR_FLEX_MAX_POLLS: int(1, 1000).default(60),
};
