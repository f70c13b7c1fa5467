// What the README and docs/ say about the repository stays true: the layout
// line names every folder, `npm run bench` runs every benchmark the
// benchmarks page lists, every relative link reaches a file (and its heading),
// every `npm run` script named exists, and the configuration page documents
// exactly the environment variables the service reads.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { expect, it } from 'vitest';
import { defaultKinds } from '../src/kinds.ts';

const read = (path: string) => readFileSync(path, 'utf8');
const docs = readdirSync('docs')
  .filter((file) => file.endsWith('.md'))
  .map((file) => `docs/${file}`);
const pages = ['README.md', ...docs];
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
const folders = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules')
    .map((entry) => entry.name);

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
const anchors = (path: string) => new Set([...read(path).matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchor(match[1]!)));
/** Markdown links outside code blocks: [text](target). */
const links = (path: string) => [...read(path).replace(/^```[\s\S]*?^```/gm, '').matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!);

it('the layout line of docs/development.md lists every folder of the repository and of src/', () => {
  const layout = /^Layout: [\s\S]*?\.$/m.exec(read('docs/development.md'))?.[0] ?? '';
  const missing = [...folders('.').map((name) => `\`${name}/\``), ...folders('src').map((name) => `\`src/${name}\``)].filter(
    (name) => !layout.includes(name),
  );
  expect(missing, 'folders the layout line does not name').toEqual([]);
});

it('npm run bench runs every scenario in bench/, each listed in docs/benchmarks.md', () => {
  const scenarios = readdirSync('bench')
    .filter((file) => file.endsWith('.ts') && file !== 'support.ts')
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();
  for (const scenario of scenarios) expect(scripts[`bench:${scenario}`]).toBe(`tsx bench/${scenario}.ts`);
  // `npm run bench` is the runner (scripts/bench-all.ts); what it would run, asked without running it.
  expect(scripts.bench).toBe('tsx scripts/bench-all.ts');
  const planned = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bench-all.ts', '--dry-run'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => /npm run bench:([\w-]+)$/.exec(line)?.[1] ?? line);
  expect(planned.sort()).toEqual(scenarios);
  const listed = [...read('docs/benchmarks.md').matchAll(/^\| `npm run bench:([\w-]+)` \|/gm)].map((match) => match[1]).sort();
  expect(listed).toEqual(scenarios);
});

it('every relative link of README.md and docs/ reaches a file, and a heading of it when it names one', () => {
  const broken: string[] = [];
  for (const page of pages) {
    for (const target of links(page)) {
      if (/^[a-z]+:/i.test(target)) continue;
      const [file, hash] = target.split('#') as [string, string | undefined];
      const path = file === '' ? page : normalize(join(dirname(page), file));
      if (!existsSync(path)) broken.push(`${page}: ${target} (no file ${path})`);
      else if (hash !== undefined && path.endsWith('.md') && !anchors(path).has(hash)) broken.push(`${page}: ${target} (no heading #${hash} in ${path})`);
    }
  }
  expect(broken).toEqual([]);
});

it('every page of docs/ is linked from the README', () => {
  const linked = new Set(links('README.md').map((target) => normalize(target.split('#')[0]!)));
  expect(docs.filter((page) => !linked.has(page))).toEqual([]);
});

it('every `npm run X` the README and docs/ name is a script of package.json', () => {
  const named = pages.flatMap((page) => [...read(page).matchAll(/npm run ([\w:-]+)/g)].map((match) => `${page}: ${match[1]}`));
  expect(named.length).toBeGreaterThan(10);
  expect(named.filter((entry) => !(entry.split(': ')[1]! in scripts))).toEqual([]);
});

it('docs/configuration.md documents every setting the service reads, and names none it does not read', () => {
  const page = read('docs/configuration.md');
  // The first column of each table: `NAME` or `NAME` / `OTHER`.
  const documented = new Set(
    [...page.matchAll(/^\| ((?:`[A-Z][A-Z0-9_]*`(?: \/ )?)+) \|/gm)].flatMap((match) => [...match[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((name) => name[1]!)),
  );
  const sources = (dir: string, skip: string[]): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? skip.includes(entry.name) ? [] : sources(join(dir, entry.name), skip)
        : entry.name.endsWith('.ts') ? [read(join(dir, entry.name))] : [],
    );
  const src = sources('src', ['generated']).join('\n');

  const core = [...read('src/config.ts').matchAll(/^ {2}([A-Z][A-Z0-9_]+): /gm)].map((match) => match[1]!);
  const ofKinds = defaultKinds.flatMap((kind) => Object.keys(kind.config));
  // Read straight from the environment by the service (src/testing serves tests and benchmarks only).
  const direct = [...sources('src', ['generated', 'testing']).join('\n').matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]!);
  expect(core.length).toBeGreaterThan(50);
  expect(ofKinds.length).toBeGreaterThan(20);
  expect(direct).toContain('NODE_ENV');
  expect([...new Set([...core, ...ofKinds, ...direct])].filter((name) => !documented.has(name)), 'settings the configuration page leaves out').toEqual([]);
  // Read: a key of a zod settings shape, or process.env.NAME.
  const isRead = (name: string) => new RegExp(`^\\s+${name}: |process\\.env\\.${name}\\b`, 'm').test(src);
  // Named: documented in a table's first column, or set in the text (`NAME=value`); error codes such as
  // `DATABASE_UNAVAILABLE` are not variables.
  const named = new Set([...documented, ...[...page.matchAll(/`([A-Z][A-Z0-9_]+)=[^`]*`/g)].map((match) => match[1]!)]);
  expect([...named].filter((name) => !isRead(name)), 'variables the configuration page names that src/ never reads').toEqual([]);
});
