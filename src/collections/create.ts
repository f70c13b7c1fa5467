// Creating a CollectionJob: validate the request at the edge, then insert the
// job, its collection_job row, one collection_symbol row per symbol and the
// queue entry in one transaction. Bad input changes nothing.
import { createKindJob, type Caller, type CreateJobsDeps, type IdempotencyInput } from '../jobs/create.ts';
import type { CreatedJob } from '../flow/create.ts';
import { ValidationError } from '../core/errors.ts';
import { JobKind } from '../generated/prisma/enums.ts';
import { SYMBOL_FORMAT } from './candles.ts';
import { PROVIDER_NAMES, type CollectionConfig } from './providers.ts';
import { COLLECTION_JOB_TYPE, TIMEFRAMES } from './kind.ts';

export interface CreateCollectionJobInput extends IdempotencyInput {
  symbols: readonly string[];
  timeframe: string;
  rangeFrom: Date;
  rangeTo: Date;
  provider: string;
  maxRetries?: number | null;
  priority?: number | null;
}

const DAY_MS = 86_400_000;

/** Throws a ValidationError naming the first bad field. */
export function validateCollectionRequest(config: CollectionConfig, input: CreateCollectionJobInput): void {
  if (input.symbols.length === 0) throw new ValidationError('symbols', 'must contain at least one symbol');
  if (input.symbols.length > config.COLLECTION_SYMBOLS_MAX) {
    throw new ValidationError('symbols', `must contain at most ${config.COLLECTION_SYMBOLS_MAX} symbols (got ${input.symbols.length})`);
  }
  const seen = new Set<string>();
  input.symbols.forEach((symbol, index) => {
    if (!SYMBOL_FORMAT.test(symbol)) {
      throw new ValidationError(`symbols.${index}`, `"${symbol}" is not a symbol: 1-32 letters, digits or . - ^ = _`);
    }
    if (seen.has(symbol)) throw new ValidationError(`symbols.${index}`, `"${symbol}" appears twice`);
    seen.add(symbol);
  });
  if (!(TIMEFRAMES as readonly string[]).includes(input.timeframe)) {
    throw new ValidationError('timeframe', `unknown timeframe "${input.timeframe}"; known: ${TIMEFRAMES.join(', ')}`);
  }
  if (!(PROVIDER_NAMES as readonly string[]).includes(input.provider)) {
    throw new ValidationError('provider', `unknown provider "${input.provider}"; known: ${PROVIDER_NAMES.join(', ')}`);
  }
  if (input.rangeFrom.getTime() > input.rangeTo.getTime()) throw new ValidationError('rangeFrom', 'must not be after rangeTo');
  const days = (input.rangeTo.getTime() - input.rangeFrom.getTime()) / DAY_MS;
  if (days > config.COLLECTION_MAX_RANGE_DAYS) {
    throw new ValidationError('rangeTo', `the range rangeFrom..rangeTo must span at most ${config.COLLECTION_MAX_RANGE_DAYS} days (got ${Math.ceil(days)})`);
  }
}

/** Creates and queues one CollectionJob (or finds the one its idempotency key names). */
export async function createCollectionJob(
  deps: CreateJobsDeps & { config: CollectionConfig },
  caller: Caller,
  input: CreateCollectionJobInput,
): Promise<CreatedJob> {
  validateCollectionRequest(deps.config, input);
  const { priority, maxRetries, idempotencyKey, idempotencyKeyFreeAfterMs } = input;
  const kindJob = { kind: JobKind.COLLECTION, jobType: COLLECTION_JOB_TYPE, priority, maxRetries, idempotencyKey, idempotencyKeyFreeAfterMs };
  return createKindJob(deps, caller, kindJob, async (client, job) => {
    await client.query(
      `insert into collection_job (job_id, symbols, timeframe, range_from, range_to, provider)
       values ($1, $2, $3, $4, $5, $6)`,
      [job.id, input.symbols, input.timeframe, input.rangeFrom, input.rangeTo, input.provider],
    );
    await client.query(
      `insert into collection_symbol (job_id, symbol) select $1, unnest($2::text[])`,
      [job.id, input.symbols],
    );
  });
}
