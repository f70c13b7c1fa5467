// What the README says about the repository's shape stays true: its layout
// line names every folder, and `npm run bench` runs every benchmark scenario
// that its table lists.
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const readme = readFileSync('README.md', 'utf8');
const folders = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && entry.name !== 'node_modules')
    .map((entry) => entry.name);

it("the README's layout line lists every folder of the repository and of src/", () => {
  const layout = /^Layout: [\s\S]*?\.$/m.exec(readme)?.[0] ?? '';
  const missing = [...folders('.').map((name) => `\`${name}/\``), ...folders('src').map((name) => `\`src/${name}\``)].filter(
    (name) => !layout.includes(name),
  );
  expect(missing, 'folders the README layout line does not name').toEqual([]);
});

it('npm run bench runs every scenario in bench/, each listed in the README', () => {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  const scenarios = readdirSync('bench')
    .filter((file) => file.endsWith('.ts') && file !== 'support.ts')
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();
  for (const scenario of scenarios) expect(scripts[`bench:${scenario}`]).toBe(`tsx bench/${scenario}.ts`);
  expect(scripts.bench!.split(' && ').sort()).toEqual(scenarios.map((scenario) => `npm run bench:${scenario}`).sort());
  const listed = [...readme.matchAll(/^\| `npm run bench:([\w-]+)` \|/gm)].map((match) => match[1]).sort();
  expect(listed).toEqual(scenarios);
});
