// Rewrites the `--! Previous` and `--! Hash` headers of migrations/committed/*.sql
// in file-name order, as graphile-migrate's `commit` would. Branches that each
// add a migration number theirs in merge order and run this once merged; the
// hashes of migrations already applied somewhere must not change (the script
// says which files it rewrote). Once it rewrote any, it refreshes db/schema.sql
// (npm run db:dump), which the merged migrations change; --no-dump skips that.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const folder = path.resolve(fileURLToPath(import.meta.url), '../../migrations/committed');
const hash = (body, previous) =>
  'sha1:' + createHash('sha1').update(((previous || '') + '\n' + body.trim()).trim() + '\n').digest('hex');

let previous = null;
let rewrote = 0;
for (const name of (await readdir(folder)).filter((file) => file.endsWith('.sql')).sort()) {
  const file = path.join(folder, name);
  const contents = await readFile(file, 'utf8');
  const lines = contents.split('\n');
  const headers = [];
  while (/^--! [A-Z]/.test(lines[headers.length] ?? '')) headers.push(lines[headers.length]);
  const body = lines.slice(headers.length).join('\n').trim() + '\n';
  const message = headers.find((line) => line.startsWith('--! Message:'));
  const next = hash(body, previous);
  const rewritten = [`--! Previous: ${previous ?? '-'}`, `--! Hash: ${next}`, ...(message ? [message] : []), '', body].join('\n');
  if (rewritten !== contents) {
    await writeFile(file, rewritten);
    console.log(`rewrote ${name}`);
    rewrote++;
  }
  previous = next;
}

if (rewrote > 0 && !process.argv.includes('--no-dump')) {
  const dump = spawnSync('npm', ['run', '--silent', 'db:dump'], { cwd: path.resolve(folder, '../..'), stdio: 'inherit' });
  if (dump.status !== 0) {
    console.error('chain-migrations: npm run db:dump failed; db/schema.sql is not refreshed');
    process.exit(dump.status ?? 1);
  }
}
