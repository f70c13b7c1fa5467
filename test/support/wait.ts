import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `check` until it returns a value other than undefined, or fails the test
 * with `what` after `timeoutMs`. For state reached in the database by other
 * processes, where there is no event in this process to await.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await delay(25);
  }
}

/** A promise resolved from outside, that fails with a message after a timeout. */
export function deferred<T>(what: string, timeoutMs = 20_000) {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  promise.finally(() => clearTimeout(timer)).catch(() => undefined);
  return { promise, resolve, reject };
}
