// Expected failures of collection jobs, per symbol: a failed symbol is recorded
// (collection_failed_symbol) and the job goes on with the others.
import { JobwireError } from '../core/errors.ts';

/** A symbol a provider was asked for but does not have (not worth retrying). */
export class SymbolNotFoundError extends JobwireError {
  override name = 'SymbolNotFoundError';
}

/** A provider request that may succeed when sent again (network error, 5xx, 429). */
export class RetriableProviderError extends JobwireError {
  override name = 'RetriableProviderError';
}
