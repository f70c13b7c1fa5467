// jobTypes per tenant: a tenant's remote worker serves that tenant only, so
// another tenant sees neither that worker (its hostname and pid) nor a type
// only it serves; workers serving every tenant, and the API's own types, are
// seen by all; an admin sees everything.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { CreateRegistryJob, JobTypesWithWorkers } from '../support/operations-registry.ts';
import { spawnRemoteWorkerApi, type RemoteWorkerApi } from '../support/remote-workers.ts';

let db: TestDatabase;
let api: RemoteWorkerApi;
const keys: Record<'workerA' | 'workerB' | 'readerA' | 'readerB' | 'writerB' | 'admin', string> = {} as never;
const payloadSchema = { type: 'object' };

beforeAll(async () => {
  db = await createTestDatabase();
  api = await spawnRemoteWorkerApi(db.url, { AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0' });
  const key = async (tenantId: string, scopes: Array<'worker' | 'jobs:read' | 'jobs:write' | 'admin'>) =>
    (await createApiKey(db.pool, { name: `${tenantId} ${scopes.join(' ')}`, tenantId, scopes })).key;
  keys.workerA = await key('tenant-a', ['worker']);
  keys.workerB = await key('tenant-b', ['worker']);
  keys.readerA = await key('tenant-a', ['jobs:read']);
  keys.readerB = await key('tenant-b', ['jobs:read']);
  keys.writerB = await key('tenant-b', ['jobs:read', 'jobs:write']);
  keys.admin = await key('ops', ['admin']);
  const register = async (body: unknown, token: string) => {
    const response = await fetch(`${api.baseUrl}/workers/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
  };
  await register({ workerId: 'payroll', jobTypes: [{ name: 'acme.payroll', payloadSchema }, { name: 'shared.resize', payloadSchema }] }, keys.workerA);
  await register({ workerId: 'resizer', jobTypes: [{ name: 'shared.resize', payloadSchema }] }, keys.workerB);
  await register({ workerId: 'ops', jobTypes: [{ name: 'ops.report', payloadSchema }] }, keys.admin);
}, 90_000);

afterAll(async () => {
  await api?.stop();
});

async function seen(token: string) {
  const { jobTypes } = await api.client.as(token).request(JobTypesWithWorkers, {});
  return Object.fromEntries(
    jobTypes
      .filter((type) => !type.hosted)
      .map((type) => [type.jobType, type.workers.map((worker) => worker.workerId).sort()]),
  );
}

it("a tenant sees its own remote workers and those serving every tenant, never another tenant's", async () => {
  expect(await seen(keys.readerA)).toEqual({
    'acme.payroll': ['remote:tenant-a:payroll'],
    'ops.report': ['remote:*:ops'],
    'shared.resize': ['remote:tenant-a:payroll'],
  });
  expect(await seen(keys.readerB)).toEqual({
    'ops.report': ['remote:*:ops'],
    'shared.resize': ['remote:tenant-b:resizer'],
  });
  expect(await seen(keys.admin)).toEqual({
    'acme.payroll': ['remote:tenant-a:payroll'],
    'ops.report': ['remote:*:ops'],
    'shared.resize': ['remote:tenant-a:payroll', 'remote:tenant-b:resizer'],
  });
  // The API's own (hosted) types are everyone's.
  const hosted = async (token: string) => (await api.client.as(token).request(JobTypesWithWorkers, {})).jobTypes.filter((t) => t.hosted).map((t) => t.jobType);
  expect(await hosted(keys.readerB)).toEqual(await hosted(keys.admin));
  expect((await hosted(keys.readerB)).length).toBeGreaterThan(0);
});

it("an unknown job type's error lists the types the tenant may see", async () => {
  const knownTo = async (token: string) => {
    const { createJob } = await api.client.as(token).request(CreateRegistryJob, { input: { jobType: 'nobody.serves' } });
    if (createJob.__typename !== 'UnknownJobTypeError') throw new Error(JSON.stringify(createJob));
    return createJob.knownJobTypes.filter((name) => /^(acme|shared|ops)\./.test(name));
  };
  expect(await knownTo(keys.writerB)).toEqual(['ops.report', 'shared.resize']);
  expect(await knownTo(keys.admin)).toEqual(['acme.payroll', 'ops.report', 'shared.resize']);
});
