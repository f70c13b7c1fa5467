// The candle providers on their own: CSV rows that are not candles are rejected
// with their line, http-csv bounds requests in flight, gives up on a slow server
// after its timeout, and does not retry answers that retrying cannot fix.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../support/http-server.ts';
import { parseCandleCsv } from '../../src/collections/candles.ts';
import { HttpCsvProvider, type HttpCsvOptions } from '../../src/collections/http-csv-provider.ts';
import { createOutboundFetch } from '../../src/net/outbound.ts';

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
    expect(rejectedRows[0]!.reason).toMatch(/expected 6 fields as in the header, got 5/);
    expect(rejectedRows[5]!.reason).toMatch(/appears twice/);
  });

  it('fails the whole file when the header lacks a price column, naming what is missing', () => {
    expect(() => parseCandleCsv('<html>rate limited</html>\n', range)).toThrow(/missing date, open, high, low, close/);
    expect(() => parseCandleCsv('Date,Open,High,Close,Volume\n2025-01-02,1,2,1,5\n', range)).toThrow(/missing low;/);
  });

  it('finds columns by name in any order and case, and rejects null or empty prices per row with their line', () => {
    // Yahoo writes null for every value of a day it has no prices for.
    const csv = [
      'volume,CLOSE,adj close,Low,high,Open,date',
      '100,11,10.5,9,12,10,2025-01-02',
      'null,null,null,null,null,null,2025-01-03',
      '100,11,10.5,,12,10,2025-01-06',
      '200,12,11.5,10,13,11,2025-01-07',
    ].join('\r\n');
    const { candles, rejectedRows } = parseCandleCsv(csv, range);
    expect(candles).toEqual([
      { ts: new Date('2025-01-02T00:00:00Z'), open: 10, high: 12, low: 9, close: 11, volume: 100 },
      { ts: new Date('2025-01-07T00:00:00Z'), open: 11, high: 13, low: 10, close: 12, volume: 200 },
    ]);
    expect(rejectedRows).toEqual([
      { line: 3, reason: 'open is missing ("null")' },
      { line: 4, reason: 'low is missing ("")' },
    ]);
  });

  it("reads stooq's bulk layout (<DATE> as YYYYMMDD, <TIME>) and date-times in UTC", () => {
    const stooq = [
      '<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>',
      'AAPL.US,D,20250102,000000,248.93,249.10,241.82,243.85,55740731,0',
      'AAPL.US,5,20250102,153500,244.1,244.3,243.9,244.2,120000,0',
    ].join('\n');
    expect(parseCandleCsv(stooq, range).candles.map((c) => [c.ts.toISOString(), c.close, c.volume])).toEqual([
      ['2025-01-02T00:00:00.000Z', 243.85, 55740731],
      ['2025-01-02T15:35:00.000Z', 244.2, 120000],
    ]);
    const dateTimes = 'Datetime,Open,High,Low,Close\n2025-01-02 09:30:00,1,2,1,2\n2025-01-02T09:31:00+01:00,1,2,1,2\n';
    expect(parseCandleCsv(dateTimes, range).candles.map((c) => [c.ts.toISOString(), c.volume])).toEqual([
      ['2025-01-02T08:31:00.000Z', 0],
      ['2025-01-02T09:30:00.000Z', 0],
    ]);
  });
});

describe('real candle files (test/fixtures/README.md)', () => {
  const all = { from: new Date('2000-01-01T00:00:00Z'), to: new Date('2030-01-01T00:00:00Z') };
  const read = (name: string) => readFileSync(`test/fixtures/candles/${name}`, 'utf8');
  /** Data lines of the file (after the header, not empty), counted without the parser. */
  const dataLines = (text: string) => text.split(/\r?\n/).slice(1).filter((line) => line.trim() !== '');

  it.each([
    ['ORCL.csv', 'Yahoo (Date,Open,High,Low,Close,Adj Close,Volume)', 61, '2014-01-02', { open: 37.779999, close: 37.84, volume: 18162100 }],
    ['SPY.csv', 'stooq (Date,Open,High,Low,Close,Volume)', 60, '2018-02-26', { open: 245.63, close: 247.373, volume: 96911825 }],
    ['BTIDX.csv', 'a vendor with OpenInterest and indicator columns', 60, '2006-01-02', { open: 3578.73, close: 3604.33, volume: 0 }],
  ])('%s, %s: every row a candle, the first as written', (name, _layout, rows, firstDay, first) => {
    const text = read(name);
    expect(dataLines(text)).toHaveLength(rows);
    const { candles, rejectedRows } = parseCandleCsv(text, all);
    expect(rejectedRows).toEqual([]);
    expect(candles).toHaveLength(rows);
    expect(candles[0]).toMatchObject({ ts: new Date(`${firstDay}T00:00:00Z`), ...first });
  });

  it("keeps Yahoo's Close, not its Adj Close", () => {
    // ORCL 2014-01-02: Close 37.840000, Adj Close 35.166069.
    expect(parseCandleCsv(read('ORCL.csv'), all).candles[0]!.close).toBe(37.84);
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

  // The test server listens on loopback, which outbound HTTP refuses unless allow-listed.
  const loopbackAllowed = createOutboundFetch({ allowList: ['127.0.0.1'], maxRedirects: 0 });
  const provider = (options: Partial<HttpCsvOptions> = {}) =>
    new HttpCsvProvider({ urlTemplate: `${base}/?s={symbol}&tf={timeframe}`, timeoutMs: 5000, concurrency: 3, retries: 2, retryBaseDelayMs: 1, fetch: loopbackAllowed, ...options });

  it('keeps at most `concurrency` requests in flight', async () => {
    const candles = provider();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => candles.fetchCandles(`OK${i}`, '1d', range, signal)));
    expect(results.every((r) => r.candles.length === 1)).toBe(true);
    expect(maxInFlight).toBe(3);
  });

  it('gives up on a server that does not answer within the timeout, after its retries', async () => {
    await expect(provider({ timeoutMs: 50, retries: 1 }).fetchCandles('SLOW', '1d', range, signal)).rejects.toThrow(
      /timed out after 50 ms \(COLLECTION_HTTP_TIMEOUT_MS\) \(after 2 attempts\)/,
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
