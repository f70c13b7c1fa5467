#!/usr/bin/env node
// Generates the Prisma client (and Pothos' Prisma types) offline, then the
// typed GraphQL operations the tests use, then builds the dashboard (a few
// seconds). Runs on `npm install` and `npm ci` and before `npm pack` (the `prepare`
// script), never where the packed package is installed.
//
// Prisma's CLI wants a schema-engine binary it downloads on first use; our
// machines reach only the npm registry. `generate` never runs that engine, so
// where it is absent we point PRISMA_SCHEMA_ENGINE_BINARY at an existing file.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
// Generators (prisma-pothos-types) are found on PATH, as under `npx`.
const bin = path.resolve('node_modules/.bin');
const env = {
  ...process.env,
  PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
};
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
}

function run(bin, args) {
  const result = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

run(require.resolve('prisma/build/index.js'), ['generate']);

// codegen is a dev dependency: skip it in production installs.
const codegen = path.resolve('node_modules/@graphql-codegen/cli/esm/bin.js');
if (existsSync(codegen) && existsSync('codegen.ts')) run(codegen, ['--config', 'codegen.ts', '--silent']);

// The dashboard (dashboard/ → dashboard/dist, served at /dashboard). Vite is a
// dev dependency: a production install without it serves a note instead.
const vite = path.resolve('node_modules/vite/bin/vite.js');
if (existsSync(vite) && existsSync('dashboard/vite.config.ts')) run(vite, ['build', '--config', 'dashboard/vite.config.ts']);
