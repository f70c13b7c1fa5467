// csv-dir: candles from <SYMBOL>.csv files in one directory (works offline;
// the project ships data/candles/ as a sample).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SYMBOL_FORMAT, parseCandleCsv, type CandleProvider } from './candles.ts';
import { SymbolNotFoundError } from './errors.ts';

export class CsvDirProvider implements CandleProvider {
  constructor(readonly directory: string) {}

  async fetchCandles(symbol: string, _timeframe: string, range: { from: Date; to: Date }, signal: AbortSignal) {
    if (!SYMBOL_FORMAT.test(symbol)) throw new SymbolNotFoundError(`"${symbol}" is not a symbol`);
    const file = path.join(this.directory, `${symbol}.csv`);
    let text: string;
    try {
      text = await readFile(file, { encoding: 'utf8', signal });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new SymbolNotFoundError(`no file ${symbol}.csv in ${this.directory}`);
      throw error;
    }
    return parseCandleCsv(text, range);
  }
}
