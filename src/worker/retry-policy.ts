// When a failed attempt runs again (JOB_RETRY_BASE_DELAY_MS, JOB_RETRY_MAX_DELAY_MS).
/** Exponential backoff with jitter: base·2^retry, capped, then between half and all of it. */
export function retryDelayMs(retryCount: number, baseMs: number, maxMs: number): number {
  const delay = Math.min(maxMs, baseMs * 2 ** retryCount);
  return Math.round(delay / 2 + (Math.random() * delay) / 2);
}
