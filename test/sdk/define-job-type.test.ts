// defineJobType takes an app's zod schemas, also from another copy of zod 4 (an
// app that does not share jobwire's), and createJob's interim acceptance of job
// types the API does not host (ALLOW_UNKNOWN_JOB_TYPES).
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { z as Zod } from 'zod';
import { loadConfig } from '../../src/service-config.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { prepareJob } from '../../src/jobs/create.ts';
import { defineJobType, NonRetriableError, type JobContext, type RunningJob } from '../../src/sdk/index.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';

let copy: string;
let otherZod: typeof Zod;

beforeAll(async () => {
  // A second copy of zod on disk: its schemas are not instances of jobwire's classes.
  copy = await mkdtemp(path.join(os.tmpdir(), 'jobwire-zod-copy-'));
  await cp(path.resolve('node_modules/zod'), path.join(copy, 'zod'), { recursive: true });
  ({ z: otherZod } = (await import(pathToFileURL(path.join(copy, 'zod/index.js')).href)) as { z: typeof Zod });
});
afterAll(() => rm(copy, { recursive: true, force: true }));

const job = <P>(payload: P) => ({ id: '00000000-0000-4000-8000-000000000000', payload }) as RunningJob<P>;
const ctx = {} as JobContext;

it('takes schemas of another copy of zod: payloads are checked and the result is checked, naming the field', async () => {
  const { z: ours } = await import('zod');
  // Another module instance (zod 4's own instanceof checks traits, so it answers true across copies).
  expect(otherZod.ZodType, 'the copy is another instance').not.toBe(ours.ZodType);
  const type = defineJobType({
    jobType: 'app.resize',
    payload: otherZod.object({ width: otherZod.number().int() }),
    result: otherZod.object({ bytes: otherZod.number() }),
    async handle(running) {
      return { success: true, resultData: { bytes: running.payload.width === 1 ? 'many' : running.payload.width } } as never;
    },
  });
  expect(type.payload.safeParse({ width: 'wide' }).error?.issues[0]?.path).toEqual(['width']);
  expect(await type.handle(job({ width: 3 }), ctx)).toEqual({ success: true, resultData: { bytes: 3 } });
  const bad = await type.handle(job({ width: 1 }), ctx);
  expect(bad.success).toBe(false);
  expect(bad.error).toBeInstanceOf(NonRetriableError);
  expect(bad.error?.message).toMatch(/^result\.bytes: /);
  // The service's registry takes it like a built-in handler, and createJob validates with it.
  const registry = new HandlerRegistry().register(type);
  const config = loadConfig({}, []);
  const caller = { principalId: 'user:test', tenantId: 'default' } as never;
  expect(() => prepareJob({ registry, config }, caller, { jobType: 'app.resize', payload: { width: 'wide' } })).toThrow(
    new ValidationError('payload.width', 'Invalid input: expected number, received string'),
  );
});

it('refuses a payload that is not a zod schema, naming the job type', () => {
  expect(() => defineJobType({ jobType: 'app.bad', payload: { parse() {} } as never, handle: async () => ({ success: true }) })).toThrow(
    'job type "app.bad": payload must be a zod 4 schema',
  );
});
