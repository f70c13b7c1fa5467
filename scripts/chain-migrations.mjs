// Rewrites the `--! Previous` and `--! Hash` headers of migrations/committed/*.sql
// in file-name order, as graphile-migrate's `commit` would. Branches that each
// add a migration number theirs in merge order and run this once merged; the
// hashes of migrations already applied somewhere must not change (the script
// says which files it rewrote).
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const folder = path.resolve(fileURLToPath(import.meta.url), '../../migrations/committed');
const hash = (body, previous) =>
  'sha1:' + createHash('sha1').update(((previous || '') + '\n' + body.trim()).trim() + '\n').digest('hex');

let previous = null;
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
  }
  previous = next;
}
