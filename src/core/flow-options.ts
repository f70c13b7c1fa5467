// The flow-control options of a new job (idempotency key, dependencies,
// timeout, concurrency key), validated at the edge with the rest of its input.
import { z } from 'zod';
import { parseInput } from './validation.ts';

export const DEPENDS_ON_MAX = 100;

/** What a dependent does when a job it depends on ends FAILED, DEAD_LETTER or CANCELLED. */
export const DependencyFailure = { CANCEL: 'CANCEL', RUN: 'RUN' } as const;
export type DependencyFailure = (typeof DependencyFailure)[keyof typeof DependencyFailure];

export interface FlowOptions {
  idempotencyKey: string | null;
  /** null: the key stays taken while its job exists; 0: free once it finished; n: free n ms after. */
  idempotencyKeyFreeAfterMs: number | null;
  /** Job ids (UUIDs) this job waits for. */
  dependsOn: string[];
  dependencyFailure: DependencyFailure;
  timeoutMs: number | null;
  concurrencyKey: string | null;
  concurrencyLimit: number | null;
  /** At most maxStarts starts of the tenant's jobs with this key per intervalMs (src/flow/gates.ts). */
  rateLimit: RateLimitOption | null;
  /** One unstarted job per key (src/flow/debounce.ts). */
  debounce: DebounceOption | null;
}

export interface DebounceOption {
  key: string;
  delayMs: number;
  /** null: no cap. */
  maxWaitMs: number | null;
}

export interface RateLimitOption {
  key: string;
  maxStarts: number;
  intervalMs: number;
}

export const NO_FLOW_OPTIONS: FlowOptions = {
  idempotencyKey: null,
  idempotencyKeyFreeAfterMs: null,
  dependsOn: [],
  dependencyFailure: DependencyFailure.CANCEL,
  timeoutMs: null,
  concurrencyKey: null,
  concurrencyLimit: null,
  rateLimit: null,
  debounce: null,
};

const flowOptionsSchema = z
  .object({
    idempotencyKey: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').nullish(),
    idempotencyKeyFreeAfterMs: z.number().int().min(0, 'must not be negative').nullish(),
    dependsOn: z.array(z.string()).max(DEPENDS_ON_MAX, `must name at most ${DEPENDS_ON_MAX} jobs`).nullish(),
    dependencyFailure: z.enum(['CANCEL', 'RUN']).nullish(),
    timeoutMs: z.number().int().min(1, 'must be at least 1').max(86_400_000, 'must be at most 86400000 (a day)').nullish(),
    concurrencyKey: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').nullish(),
    concurrencyLimit: z.number().int().min(1, 'must be at least 1').max(10_000, 'must be at most 10000').nullish(),
    // The bounds of a queue's rate limit (flow/rate-limit.ts).
    rateLimit: z
      .object({
        key: z.string({ error: 'is required' }).min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
        maxStarts: z.number({ error: 'is required' }).int().min(1, 'must be at least 1').max(100_000, 'must be at most 100000'),
        intervalMs: z.number({ error: 'is required' }).int().min(1, 'must be at least 1').max(86_400_000, 'must be at most 86400000 (a day)'),
      })
      .nullish(),
    debounce: z
      .object({
        key: z.string({ error: 'is required' }).min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
        delayMs: z.number({ error: 'is required' }).int().min(1, 'must be at least 1').max(86_400_000, 'must be at most 86400000 (a day)'),
        maxWaitMs: z.number().int().min(1, 'must be at least 1').max(604_800_000, 'must be at most 604800000 (a week)').nullish(),
      })
      .refine((d) => d.maxWaitMs == null || d.maxWaitMs >= d.delayMs, { path: ['maxWaitMs'], message: 'must be at least delayMs' })
      .nullish(),
  })
  .refine((o) => o.debounce == null || (o.idempotencyKey == null && (o.dependsOn ?? []).length === 0), {
    path: ['debounce'],
    message: 'cannot be combined with idempotencyKey or dependsOn',
  })
  .refine((o) => o.idempotencyKeyFreeAfterMs == null || o.idempotencyKey != null, {
    path: ['idempotencyKeyFreeAfterMs'],
    message: 'needs an idempotencyKey',
  })
  .refine((o) => o.concurrencyLimit == null || o.concurrencyKey != null, {
    path: ['concurrencyLimit'],
    message: 'needs a concurrencyKey',
  });

export type FlowInput = z.input<typeof flowOptionsSchema>;

/**
 * The flow options of one create input. `dependsOn` ids must already be UUIDs
 * (the GraphQL layer decodes global ids); defaults come from the job type.
 */
export function parseFlowOptions(
  input: FlowInput,
  path: (string | number)[],
  defaults: { timeoutMs?: number; concurrencyLimit?: number } = {},
): FlowOptions {
  const parsed = parseInput(flowOptionsSchema, input, path);
  const concurrencyKey = parsed.concurrencyKey ?? null;
  return {
    idempotencyKey: parsed.idempotencyKey ?? null,
    idempotencyKeyFreeAfterMs: parsed.idempotencyKeyFreeAfterMs ?? null,
    dependsOn: [...new Set(parsed.dependsOn ?? [])],
    dependencyFailure: parsed.dependencyFailure ?? DependencyFailure.CANCEL,
    timeoutMs: parsed.timeoutMs ?? defaults.timeoutMs ?? null,
    concurrencyKey,
    concurrencyLimit: concurrencyKey === null ? null : (parsed.concurrencyLimit ?? defaults.concurrencyLimit ?? 1),
    rateLimit: parsed.rateLimit ?? null,
    debounce: parsed.debounce ? { ...parsed.debounce, maxWaitMs: parsed.debounce.maxWaitMs ?? null } : null,
  };
}
