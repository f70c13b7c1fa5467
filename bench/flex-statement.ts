// Prints how fast an IBKR Flex statement is parsed and cut to an interval.
// Usage: npx tsx bench/flex-statement.ts [trades=20000]
import { performance } from 'node:perf_hooks';
import { parseFlexStatement } from '../src/portfolios/ibkr/flex-statement.ts';
import { median, report } from './support.ts';

const trades = Number(process.argv[2] ?? 20_000);
const rows: string[] = [];
for (let index = 0; index < trades; index++) {
  const day = String((index % 28) + 1).padStart(2, '0');
  rows.push(
    `<Trade accountId="U1" currency="USD" assetCategory="STK" symbol="S${index % 500}" conid="${index % 500}" tradeID="T${index}" tradeDate="202601${day}" quantity="${(index % 7) + 1}" tradePrice="101.25" proceeds="-101.25" ibCommission="-1" buySell="BUY" />`,
  );
}
const xml = `<FlexQueryResponse><FlexStatements count="1"><FlexStatement accountId="U1" fromDate="20260101" toDate="20260131"><Trades>${rows.join('\n')}</Trades></FlexStatement></FlexStatements></FlexQueryResponse>`;

const runs = 5;
const times: number[] = [];
let kept = 0;
for (let run = 0; run < runs; run++) {
  const started = performance.now();
  kept = parseFlexStatement(xml, 'U1', { start: '2026-01-08', end: '2026-01-21' }).trades.length;
  times.push(performance.now() - started);
}
const medianMs = median(times);
await report('flex-statement', [
  { trades, 'statement bytes': Buffer.byteLength(xml), 'kept in interval': kept, 'median ms': Math.round(medianMs), 'trades/s': Math.round((trades / medianMs) * 1000) },
], { runs });
