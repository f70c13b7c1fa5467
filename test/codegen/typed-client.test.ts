// The typed client: `jobwire codegen --out <dir>` (the real CLI) writes types
// for the registered job types; tsc passes a correct use of it and fails a
// payload of the wrong type, naming the property; the client runs against
// the service.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { runCli } from '../support/cli.ts';
import { startTestApp } from '../support/app.ts';
import { createTestRegistry } from '../support/test-handlers.ts';
import { createKey } from '../../src/cli/keys.ts';
import { toJsonSchema } from '../../src/registry/json-schema.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
let db: TestDatabase;
let dir: string;

const shipPayload = z.object({ orderId: z.number().int(), amount: z.number().positive(), note: z.string().optional(), mode: z.enum(['post', 'courier']) });
const shipResult = z.object({ shipped: z.number(), trackingCode: z.string().nullable() });

beforeAll(async () => {
  db = await createTestDatabase();
  // What a worker serving these types registers: the schemas src/registry/json-schema.ts prints.
  await db.pool.query(
    `insert into job_type (name, description, payload_schema, result_schema) values
       ('test.ship_order', 'Ships an order.', $1, $2),
       ('billing.send_invoice', 'Sends an invoice.', $3, null)`,
    [
      JSON.stringify(toJsonSchema(shipPayload)),
      JSON.stringify(toJsonSchema(shipResult)),
      JSON.stringify(toJsonSchema(z.object({ invoiceId: z.string(), copies: z.number().int().min(1).default(1) }))),
    ],
  );
  dir = await mkdtemp(path.join(os.tmpdir(), 'jobwire-codegen-'));
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  await writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, lib: ['es2022', 'dom'] },
    }),
  );
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs tsc on one file with the folder's tsconfig; answers its exit status and output. */
function tsc(file: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(dir, 'tsconfig.json')], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.replaceAll(dir + path.sep, '') + ` (${file})` };
}

/** The tsconfig compiles only `file` (and what it imports). */
async function only(file: string) {
  const config = JSON.parse(await readFile(path.join(dir, 'tsconfig.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ ...config, files: [file] }));
}

it('jobwire codegen writes the client; tsc passes a correct use and fails a wrong payload by name', async () => {
  const out = path.join(dir, 'jobwire-client');
  const cli = await runCli(['codegen', '--out', out], { DATABASE_URL: db.url });
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(0);
  expect(cli.stdout).toContain(path.join(out, 'job-types.ts'));
  const types = await readFile(path.join(out, 'job-types.ts'), 'utf8');
  expect(types).toContain('export interface TestShipOrderPayload');
  expect(types).toContain('export interface JobPayloads');

  // docs/typed-clients.md's fetch and TypedDocumentNode snippets, as an app writes them.
  await writeFile(
    path.join(dir, 'correct.ts'),
    `import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createJob, getJob, TypedCreateJobDocument, typedJobResultDocument, type TypedCreateJobInput } from './jobwire-client/index.js';

const endpoint = { url: 'http://localhost:4000/graphql', headers: { authorization: 'Bearer jw_...' } };

export async function ship() {
  const answer = await createJob(endpoint, { jobType: 'test.ship_order', payload: { orderId: 42, amount: 9.5, mode: 'courier' }, priority: 5 });
  if (answer.__typename !== 'MutationCreateJobSuccess') throw new Error(answer.message);
  const job = await getJob(endpoint, 'test.ship_order', answer.data.id);
  // The result is typed by the job type's result schema.
  const shipped: number | undefined = job?.result?.shipped;
  const tracking: string | null | undefined = job?.result?.trackingCode;
  return { shipped, tracking };
}

// Apollo's useMutation / client.mutate and urql's useMutation infer their
// variables from a TypedDocumentNode like this stand-in does.
declare function mutate<Result, Variables>(document: TypedDocumentNode<Result, Variables>, variables: Variables): Promise<Result>;
export const viaDocument = mutate(TypedCreateJobDocument, { input: { jobType: 'billing.send_invoice', payload: { invoiceId: 'inv-1' } } });
export const resultDocument = typedJobResultDocument('test.ship_order');
export const input: TypedCreateJobInput = { jobType: 'billing.send_invoice', payload: { invoiceId: 'inv-2', copies: 2 } };
`,
  );
  await only('correct.ts');
  const correct = tsc('correct.ts');
  expect(correct.output).toBe(' (correct.ts)');
  expect(correct.status).toBe(0);

  await writeFile(
    path.join(dir, 'wrong.ts'),
    `import { createJob } from './jobwire-client/index.js';

export const answer = createJob({ url: 'http://localhost:4000/graphql' }, {
  jobType: 'test.ship_order',
  payload: { orderId: 'forty-two', amount: 9.5, mode: 'courier' },
});
`,
  );
  await only('wrong.ts');
  const wrong = tsc('wrong.ts');
  expect(wrong.status).not.toBe(0);
  expect(wrong.output).toMatch(/^wrong\.ts\(5,\d+\): error TS2322: Type 'string' is not assignable to type 'number'\./m);

  // Another type's payload under this jobType fails too (the pairing, not just the shapes).
  await writeFile(
    path.join(dir, 'swapped.ts'),
    `import type { TypedCreateJobInput } from './jobwire-client/index.js';

export const input: TypedCreateJobInput = { jobType: 'test.ship_order', payload: { invoiceId: 'inv-1' } };
`,
  );
  await only('swapped.ts');
  const swapped = tsc('swapped.ts');
  expect(swapped.status).not.toBe(0);
  expect(swapped.output).toMatch(/^swapped\.ts\(3,\d+\): error TS2\d+: .*invoiceId/m);
}, 120_000);

it('refuses to write a client when no job type is registered, naming why', async () => {
  const empty = await createTestDatabase();
  const cli = await runCli(['codegen', '--out', path.join(dir, 'empty')], { DATABASE_URL: empty.url });
  expect(cli.code).toBe(2);
  expect(cli.stderr).toContain('no job types are registered: start a worker that serves them first');
});

it('--endpoint reads the types from a running service (its jobTypes query), with the caller\'s token', async () => {
  const served = await createTestDatabase();
  // The service's worker registers the job types it serves (system.noop, system.sleep, ...).
  const service = await startTestApp(served.url, { registry: createTestRegistry(), env: { AUTH_ENABLED: 'true' } });
  const { key } = await createKey(served.url, { name: 'codegen', tenant: 'default', scopes: 'jobs:read' });
  const out = path.join(dir, 'from-endpoint');
  const refused = await runCli(['codegen', '--out', out, '--endpoint', service.client.url]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('answered 200: Query.jobTypes needs a token');
  const cli = await runCli(['codegen', '--out', out, '--endpoint', service.client.url, '--token', key]);
  expect(cli.stderr).toBe('');
  expect(cli.code).toBe(0);
  const types = await readFile(path.join(out, 'job-types.ts'), 'utf8');
  expect(types).toContain('export interface SystemSleepPayload');
  expect(types).toMatch(/"system\.sleep": SystemSleepPayload;/);
});
