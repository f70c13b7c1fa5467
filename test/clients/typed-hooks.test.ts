// The hooks typed by the generated client (docs/end-user-live-jobs.md#typed-by-your-job-types):
// an app registers the JobResults of `jobwire codegen`'s client with
// @jobwire/react (as built for the package: its dist declarations), and
// useJob<'import.file'> then types the job's result. tsc passes a correct
// page (React and Preact entries) and fails a wrong result field by name, and
// a job type that is not registered.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { generateTypedClient, SCHEMA_FILE, writeTypedClient } from '../../src/codegen/typed-client.ts';
import { toJsonSchema } from '../../src/registry/json-schema.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'jobwire-typed-hooks-'));
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  // The package as published: its build's declarations (clients/react's `npm run build`, into this folder).
  const built = spawnSync(process.execPath, [TSC, '-p', path.join(ROOT, 'clients/react/tsconfig.json'), '--outDir', path.join(dir, 'jobwire-react/dist')], { encoding: 'utf8' });
  expect(`${built.stdout}${built.stderr}`).toBe('');
  // The client `jobwire codegen` writes for these registered types (test/codegen/typed-client.test.ts runs the CLI itself).
  const files = await generateTypedClient(
    [
      {
        name: 'import.file',
        description: 'Imports a file.',
        payloadSchema: toJsonSchema(z.object({ url: z.string() })) as Record<string, unknown>,
        resultSchema: toJsonSchema(z.object({ rowCount: z.number().int(), skipped: z.array(z.string()) })) as Record<string, unknown>,
      },
      { name: 'billing.send_invoice', description: 'Sends an invoice.', payloadSchema: toJsonSchema(z.object({ invoiceId: z.string() })) as Record<string, unknown>, resultSchema: null },
    ],
    await readFile(SCHEMA_FILE, 'utf8'),
  );
  await writeTypedClient(path.join(dir, 'jobwire-client'), files);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Compiles `file` alone (with what it imports); '@jobwire/react' is the built package. */
async function tsc(file: string, contents: string): Promise<{ status: number | null; output: string }> {
  await writeFile(path.join(dir, file), contents);
  await writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        lib: ['es2022', 'dom'],
        types: [],
        paths: { '@jobwire/react': ['./jobwire-react/dist/index.d.ts'], '@jobwire/react/preact': ['./jobwire-react/dist/preact.d.ts'] },
      },
      files: [file],
    }),
  );
  const result = spawnSync(process.execPath, [TSC, '-p', path.join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.replaceAll(dir + path.sep, '') };
}

/** What docs/end-user-live-jobs.md shows an app writing once. */
const REGISTER = `// The augmented module must be imported by this file (a Preact app too: a type-only import loads no React).
import type {} from '@jobwire/react';
import type { JobResults } from './jobwire-client/index.js';

declare module '@jobwire/react' {
  interface Register {
    jobResults: JobResults;
  }
}
`;

it("useJob<'import.file'> types the job's result by the generated client; React and Preact entries alike", async () => {
  const correct = await tsc(
    'correct.ts',
    `${REGISTER}
import { createJobwireClient, useJob, type Job } from '@jobwire/react';
import { useJob as usePreactJob } from '@jobwire/react/preact';

const client = createJobwireClient({ url: 'wss://jobs.example.com/graphql', token: 'jwv_...' });

export function rowsOf(id: string): number | undefined {
  const job = useJob<'import.file'>(client, id);
  const type: 'import.file' | undefined = job.data?.jobType;
  const skipped: string[] | undefined = job.data?.result?.skipped;
  void type, skipped;
  return job.data?.result?.rowCount;
}

export function preactRowsOf(id: string): number | undefined {
  return usePreactJob<'import.file'>(client, id).data?.result?.rowCount;
}

// A type without a result schema: any JSON object; without a type: any registered type's result.
export const invoice: Record<string, unknown> | null | undefined = useJob<'billing.send_invoice'>(client, 'id').data?.result;
export const anyJob: Job | null = useJob(client, 'id').data;
`,
  );
  expect(correct.output).toBe('');
  expect(correct.status).toBe(0);

  const wrongField = await tsc(
    'wrong-field.ts',
    `${REGISTER}
import { createJobwireClient, useJob } from '@jobwire/react';

const client = createJobwireClient({ url: 'wss://jobs.example.com/graphql', token: 'jwv_...' });
export const rows = useJob<'import.file'>(client, 'id').data?.result?.rowCont;
`,
  );
  expect(wrongField.status).not.toBe(0);
  expect(wrongField.output).toMatch(/^wrong-field\.ts\(\d+,\d+\): error TS2551: Property 'rowCont' does not exist on type 'ImportFileResult'\. Did you mean 'rowCount'\?/m);

  const wrongType = await tsc(
    'wrong-type.ts',
    `${REGISTER}
import { createJobwireClient, useJob } from '@jobwire/react/preact';

const client = createJobwireClient({ url: 'wss://jobs.example.com/graphql', token: 'jwv_...' });
export const job = useJob<'import.fil'>(client, 'id');
`,
  );
  expect(wrongType.status).not.toBe(0);
  expect(wrongType.output).toMatch(/^wrong-type\.ts\(\d+,\d+\): error TS2344: Type '"import.fil"' does not satisfy the constraint/m);
}, 120_000);
