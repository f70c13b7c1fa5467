// http-csv: candles as CSV from a URL template such as
// https://host/q/d/l/?s={symbol}&i=d. Bounded by a timeout per request and a
// limit on requests in flight; network errors, 5xx and 429 are retried with
// exponential backoff, other 4xx answers fail the symbol at once. An answer
// longer than OUTBOUND_RESPONSE_MAX_BYTES fails the symbol (src/net/outbound.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { OutboundLimitError, OutboundRefusedError, type OutboundFetch } from '../net/outbound.ts';
import { SYMBOL_FORMAT, parseCandleCsv, type CandleProvider } from './candles.ts';
import { RetriableProviderError, SymbolNotFoundError } from './errors.ts';

export interface HttpCsvOptions {
  /** `{symbol}` and `{timeframe}` are replaced (URL-encoded). */
  urlTemplate: string;
  /** Per request, in ms. */
  timeoutMs: number;
  /** Requests in flight at once, across all symbols this provider serves. */
  concurrency: number;
  /** Retries after the first attempt of one symbol. */
  retries: number;
  /** First backoff; doubles per retry (with jitter). */
  retryBaseDelayMs: number;
  /** Outbound HTTP with the address checks (src/net/outbound.ts). */
  fetch: OutboundFetch;
}

/** A counting semaphore: at most `limit` holders at once, first come first served. */
class Limiter {
  #active = 0;
  readonly #waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}

export class HttpCsvProvider implements CandleProvider {
  readonly #limiter: Limiter;

  constructor(readonly options: HttpCsvOptions) {
    this.#limiter = new Limiter(options.concurrency);
  }

  async fetchCandles(symbol: string, timeframe: string, range: { from: Date; to: Date }, signal: AbortSignal) {
    if (!SYMBOL_FORMAT.test(symbol)) throw new SymbolNotFoundError(`"${symbol}" is not a symbol`);
    const url = this.options.urlTemplate
      .replaceAll('{symbol}', encodeURIComponent(symbol))
      .replaceAll('{timeframe}', encodeURIComponent(timeframe));
    for (let attempt = 0; ; attempt++) {
      try {
        const text = await this.#limiter.run(() => this.#get(url, signal));
        return parseCandleCsv(text, range);
      } catch (error) {
        const retriable = error instanceof RetriableProviderError && !signal.aborted;
        if (!retriable || attempt >= this.options.retries) {
          if (error instanceof RetriableProviderError && attempt > 0) {
            throw new Error(`${error.message} (after ${attempt + 1} attempts)`);
          }
          throw error;
        }
        const delay = this.options.retryBaseDelayMs * 2 ** attempt;
        await sleep(delay / 2 + Math.random() * (delay / 2), undefined, { signal });
      }
    }
  }

  async #get(url: string, signal: AbortSignal): Promise<string> {
    signal.throwIfAborted();
    let response: Response;
    try {
      response = await this.options.fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]) });
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof OutboundRefusedError) throw new Error(`GET ${url} ${error.message}`);
      const reason = (error as Error).name === 'TimeoutError' ? `timed out after ${this.options.timeoutMs} ms (COLLECTION_HTTP_TIMEOUT_MS)` : (error as Error).message;
      throw new RetriableProviderError(`GET ${url} failed: ${reason}`);
    }
    if (response.ok) {
      try {
        return await response.text();
      } catch (error) {
        if (signal.aborted) throw error;
        // Too long an answer stays too long: not retried (OUTBOUND_RESPONSE_MAX_BYTES).
        if (error instanceof OutboundLimitError && error.setting === 'OUTBOUND_RESPONSE_MAX_BYTES') throw new Error(`GET ${url} failed: ${error.message}`);
        const reason = (error as Error).name === 'TimeoutError' ? `timed out after ${this.options.timeoutMs} ms (COLLECTION_HTTP_TIMEOUT_MS)` : (error as Error).message;
        throw new RetriableProviderError(`GET ${url} failed while reading the body: ${reason}`);
      }
    }
    await response.body?.cancel();
    const message = `GET ${url} answered HTTP ${response.status}`;
    if (response.status >= 500 || response.status === 429) throw new RetriableProviderError(message);
    if (response.status === 404) throw new SymbolNotFoundError(message);
    throw new Error(message);
  }
}
