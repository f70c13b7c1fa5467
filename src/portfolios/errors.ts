// Expected failures of portfolio imports (GraphQL error types in schema.ts).
import { JobwireError } from '../core/errors.ts';
import type { DateInterval } from './interval.ts';

/** Another active import of the portfolio covers part of the interval (exclusion constraint). */
export class PortfolioImportOverlapError extends JobwireError {
  override name = 'PortfolioImportOverlapError';
  constructor(
    readonly portfolioId: string,
    readonly existingJobId: string,
    readonly existingInterval: DateInterval,
  ) {
    super(
      `portfolio ${portfolioId} already has an active import (job ${existingJobId}) for ${existingInterval.start}..${existingInterval.end}, which overlaps the requested interval`,
    );
  }
}
