// The candle providers on their own: CSV rows that are not candles are rejected
// with their line, http-csv bounds requests in flight, gives up on a slow server
// after its timeout, and does not retry answers that retrying cannot fix.
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../support/http-server.ts';
import { parseCandleCsv } from '../../src/collections/candles.ts';
import { HttpCsvProvider, type HttpCsvOptions } from '../../src/collections/http-csv-provider.ts';

const range = { from: new Date('2025-01-01T00:00:00Z'), to: new Date('2025-12-31T00:00:00Z') };
const signal = new AbortController().signal;

describe('parseCandleCsv', () => {
  it('keeps valid candles in range, oldest first, and rejects bad rows with their line', () => {
    const csv = [
      'Date,Open,High,Low,Close,Volume',
      '2025-01-03,10,12,9,11,100',
      '2025-01-02,10,12,9,11,100',
      '2024-12-31,10,12,9,11,100', // out of range: skipped, not an error
      '2025-01-04,10,12,9,11', // too few fields
      '2025-01-05,10,8,9,11,100', // low above high
      '2025-01-06,13,12,9,11,100', // open outside low..high
      '2025-01-07,10,12,9,11,-1', // negative volume
      'yesterday,10,12,9,11,100',
      '2025-01-02,10,12,9,11,100', // repeated date
    ].join('\n');
    const { candles, rejectedRows } = parseCandleCsv(csv, range);
    expect(candles.map((c) => c.ts.toISOString().slice(0, 10))).toEqual(['2025-01-02', '2025-01-03']);
    expect(rejectedRows.map((r) => r.line)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(rejectedRows[0]!.reason).toMatch(/expected 6 fields, got 5/);
    expect(rejectedRows[5]!.reason).toMatch(/appears twice/);
  });

  it('fails the whole file when the header is not Date,Open,High,Low,Close,Volume', () => {
    expect(() => parseCandleCsv('<html>rate limited</html>\n', range)).toThrow(/expected the CSV header/);
  });
});

describe('http-csv', () => {
  let base: string;
  let inFlight = 0;
  let maxInFlight = 0;
  const waiting: Array<() => void> = [];
  const hits = new Map<string, number>();

  beforeAll(async () => {
    ({ url: base } = await startHttpServer(async (request, response) => {
      const symbol = new URL(request.url!, 'http://x').searchParams.get('s')!;
      hits.set(symbol, (hits.get(symbol) ?? 0) + 1);
      if (symbol.startsWith('OK')) {
        // Answer in batches of 3: a limiter that lets more through shows as maxInFlight > 3.
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        const batchFull = new Promise<void>((resolve) => waiting.push(resolve));
        if (inFlight >= 3) waiting.splice(0).forEach((resolve) => resolve());
        await batchFull;
        inFlight--;
      }
      if (symbol === 'SLOW') return; // never answers
      if (symbol === 'FORBIDDEN') return void response.writeHead(403).end();
      response.writeHead(200).end('Date,Open,High,Low,Close,Volume\n2025-01-02,10,12,9,11,100\n');
    }));
  });

  const provider = (options: Partial<HttpCsvOptions> = {}) =>
    new HttpCsvProvider({ urlTemplate: `${base}/?s={symbol}&tf={timeframe}`, timeoutMs: 5000, concurrency: 3, retries: 2, retryBaseDelayMs: 1, ...options });

  it('keeps at most `concurrency` requests in flight', async () => {
    const candles = provider();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => candles.fetchCandles(`OK${i}`, '1d', range, signal)));
    expect(results.every((r) => r.candles.length === 1)).toBe(true);
    expect(maxInFlight).toBe(3);
  });

  it('gives up on a server that does not answer within the timeout, after its retries', async () => {
    await expect(provider({ timeoutMs: 50, retries: 1 }).fetchCandles('SLOW', '1d', range, signal)).rejects.toThrow(
      /timed out after 50 ms \(after 2 attempts\)/,
    );
    expect(hits.get('SLOW')).toBe(2);
  });

  it('does not retry a 4xx other than 429', async () => {
    await expect(provider().fetchCandles('FORBIDDEN', '1d', range, signal)).rejects.toThrow(/HTTP 403/);
    expect(hits.get('FORBIDDEN')).toBe(1);
  });

  it('stops at once when aborted', async () => {
    const controller = new AbortController();
    const pending = provider().fetchCandles('SLOW', '1d', range, controller.signal);
    controller.abort('cancelled');
    await expect(pending).rejects.toBe('cancelled');
  });
});
