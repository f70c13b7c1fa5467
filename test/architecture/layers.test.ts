// The layer check of CI (npm run lint:layers, .dependency-cruiser.cjs) passes
// on src/, and the same rules report a planted upward import by name.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules/.bin/depcruise');

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

/** dependency-cruiser's verdict on `cwd`/src with the repository's rules (it exits non-zero on a violation). */
async function cruise(cwd: string): Promise<{ violations: Violation[]; modules: number }> {
  const run = promisify(execFile)(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'json'], { cwd, maxBuffer: 256 * 1024 * 1024 });
  const stdout = await run.then(
    (done) => done.stdout,
    (failed: { stdout?: string }) => failed.stdout ?? '',
  );
  const { summary } = JSON.parse(stdout) as { summary: { violations: Violation[]; totalCruised: number } };
  return { violations: summary.violations, modules: summary.totalCruised };
}

it('src/ imports one way: no upward import, no file without a layer, no cycle', async () => {
  const { violations, modules } = await cruise(ROOT);
  expect(modules).toBeGreaterThan(200);
  expect(violations.map(({ rule, from, to }) => `${rule.name}: ${from} → ${to}`)).toEqual([]);
});

it('the same rules report an upward import planted in a tree laid out like src/', async () => {
  const { violations, modules } = await cruise(path.join(ROOT, 'test/fixtures/layers'));
  expect(modules).toBe(3);
  expect(violations).toEqual([
    expect.objectContaining({
      from: 'src/job-state/insert.ts',
      to: 'src/jobs/create.ts',
      rule: { name: 'job-state-imports-upward', severity: 'error' },
    }),
  ]);
});
