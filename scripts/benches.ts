// The benches: every bench/*.ts but support.ts, each run by its `bench:<name>`
// script. `npm run bench` (scripts/bench-all.ts), `npm run bench:smoke` and
// test/readme.test.ts read this list, so a new bench is a file and a script.
import { readdirSync } from 'node:fs';

export function benchNames(directory = 'bench'): string[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.ts') && file !== 'support.ts')
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();
}
