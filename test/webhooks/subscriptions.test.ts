// Webhook subscriptions end to end, against a real local HTTP receiver: an
// event is delivered once to a receiver that fails twice (500) then answers
// 200, every attempt with the same webhook-id, and its signature verifies by
// the recipe of docs/webhooks.md; private addresses are refused at create
// time and at delivery unless allowed; another tenant can neither see nor
// delete a subscription, nor does its jobs' events reach it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { spawnWorker, startTestApp, type GraphQLTestClient, type TestApp } from '../support/app.ts';
import { eventually } from '../support/wait.ts';
import { startReceiver } from './receiver.ts';

// The receiver's side, exactly as docs/webhooks.md gives it (Node).
function verifyWebhook(secret: string, headers: IncomingHttpHeaders, rawBody: string, toleranceSeconds = 300): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

const ENCRYPTION_KEY = randomBytes(32).toString('base64');
const WEBHOOK_ENV = { CONNECTIONS_ENCRYPTION_KEY: ENCRYPTION_KEY, WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_POLL_INTERVAL_MS: '50', WEBHOOK_TIMEOUT_MS: '5000' };

const CREATE = `mutation($input: CreateWebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) {
    __typename
    ... on MutationCreateWebhookSubscriptionSuccess { data { secret subscription { id url statuses queueNames jobTypes } } }
    ... on Error { message }
  }
}`;
const LIST = '{ webhookSubscriptions { id url statuses queueNames } }';
const DELETE = 'mutation($id: ID!) { deleteWebhookSubscription(id: $id) { __typename ... on MutationDeleteWebhookSubscriptionSuccess { data { id } } ... on Error { message } } }';
const DELIVERIES = `query($id: ID!) {
  webhookDeliveries(subscriptionId: $id) {
    __typename
    ... on QueryWebhookDeliveriesSuccess { data { id eventType jobId status attemptCount responseStatus lastError deliveredAt } }
    ... on Error { message }
  }
}`;

async function createSubscription(client: GraphQLTestClient, input: Record<string, unknown>) {
  const { body } = await client.send(CREATE, { input });
  return (body.data as any)?.createWebhookSubscription ?? body;
}

async function createJob(client: GraphQLTestClient, input: Record<string, unknown>): Promise<string> {
  const { body } = await client.send(`mutation($input: CreateJobInput!) { createJob(input: $input) { ... on MutationCreateJobSuccess { data { id } } ... on Error { message } } }`, { input });
  const id = (body.data as any)?.createJob?.data?.id;
  if (!id) throw new Error(`createJob failed: ${JSON.stringify(body)}`);
  return uuidOf(id);
}

const deadLetter = (queueName: string) => ({ jobType: 'system.fail', queueName, maxRetries: 0, payload: { message: 'boom' } });

async function jobStatus(db: TestDatabase, jobId: string): Promise<string> {
  return (await db.pool.query<{ status: string }>('select status from job where id = $1', [jobId])).rows[0]!.status;
}

async function subscriptionCount(db: TestDatabase): Promise<number> {
  return (await db.pool.query<{ n: number }>('select count(*)::int as n from webhook_subscription')).rows[0]!.n;
}

describe('with the receiver allowed (OUTBOUND_ALLOW_LIST=127.0.0.1)', () => {
  let db: TestDatabase;
  let service: TestApp;
  let alice: GraphQLTestClient;
  let bob: GraphQLTestClient;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    db = await createTestDatabase();
    service = await startTestApp(db.url, { env: { ...WEBHOOK_ENV, AUTH_ENABLED: 'true', AUTH_API_KEY_CACHE_MS: '0', OUTBOUND_ALLOW_LIST: '127.0.0.1' } });
    const key = async (tenantId: string) => (await createApiKey(db.pool, { name: tenantId, tenantId, scopes: ['jobs:read', 'jobs:write'] })).key;
    alice = service.client.as(await key('tenant-a'));
    bob = service.client.as(await key('tenant-b'));
  }, 60_000);
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  it('a receiver that fails twice then succeeds gets the event once after retries, every attempt with the same webhook-id and a valid signature; other events and other tenants do not reach it', async () => {
    const created = await createSubscription(alice, { url: `${receiver.url}/hooks/a?token=s3cret`, statuses: ['DEAD_LETTER'], queueNames: ['hooks'] });
    expect(created.__typename).toBe('MutationCreateWebhookSubscriptionSuccess');
    const { secret, subscription } = created.data;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    // The path and query may be a secret: read back as the origin only.
    expect(subscription).toMatchObject({ url: `${receiver.url}/[redacted]`, statuses: ['DEAD_LETTER'], queueNames: ['hooks'], jobTypes: null });
    // Nothing answers the secret again.
    expect(JSON.stringify((await alice.send(LIST)).body)).not.toContain(secret.slice(6, 20));

    receiver.answerNext(500, 500);
    // Not delivered: another queue's dead letter, and a completed job of the queue.
    const otherQueue = await createJob(alice, deadLetter('elsewhere'));
    const completed = await createJob(alice, { jobType: 'system.noop', queueName: 'hooks' });
    const jobId = await createJob(alice, deadLetter('hooks'));

    const requests = await receiver.waitFor('the event answered 200', (all) => all.some((request) => request.answered === 200));
    expect(requests.map((request) => request.answered)).toEqual([500, 500, 200]);
    // The retries carried the same id and the same body: a receiver deduplicating by webhook-id sees one event.
    expect(new Set(requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    expect(new Set(requests.map((request) => request.body)).size).toBe(1);
    for (const request of requests) {
      expect(request.path).toBe('/hooks/a?token=s3cret');
      expect(request.headers['content-type']).toBe('application/json');
      expect(verifyWebhook(secret, request.headers, request.body)).toBe(true);
    }
    // A changed body, or another secret, does not verify.
    const [first] = requests;
    expect(verifyWebhook(secret, first!.headers, first!.body.replace('DEAD_LETTER', 'COMPLETED'))).toBe(false);
    expect(verifyWebhook(`whsec_${randomBytes(32).toString('base64')}`, first!.headers, first!.body)).toBe(false);
    const body = JSON.parse(first!.body);
    expect(body).toMatchObject({ type: 'job.event', data: { jobId, status: 'DEAD_LETTER', previousStatus: 'RUNNING', queueName: 'hooks', jobType: 'system.fail' } });

    // The delivery log: one delivery, three attempts, the last answer.
    const log = await eventually('the delivery recorded as DELIVERED', async () => {
      const { body: answer } = await alice.send(DELIVERIES, { id: subscription.id });
      const deliveries = (answer.data as any).webhookDeliveries.data;
      return deliveries[0]?.status === 'DELIVERED' ? deliveries : undefined;
    });
    expect(log).toEqual([
      { id: first!.headers['webhook-id'], eventType: 'job.event', jobId, status: 'DELIVERED', attemptCount: 3, responseStatus: 200, lastError: null, deliveredAt: expect.any(String) },
    ]);

    // Tenant B's dead letter in the same queue never becomes A's delivery; a later event of A's comes after it, and once.
    const bobsJob = await createJob(bob, deadLetter('hooks'));
    await eventually("B's job to be DEAD_LETTER", async () => ((await jobStatus(db, bobsJob)) === 'DEAD_LETTER' ? true : undefined));
    const sentinel = await createJob(alice, deadLetter('hooks'));
    const all = await receiver.waitFor('the later event', (seen) => seen.some((request) => JSON.parse(request.body).data.jobId === sentinel));
    const jobIds = all.map((request) => JSON.parse(request.body).data.jobId);
    expect(jobIds).toEqual([jobId, jobId, jobId, sentinel]);
    expect(jobIds).not.toContain(bobsJob);
    expect(jobIds).not.toContain(otherQueue);
    expect(jobIds).not.toContain(completed);
    expect(new Set(all.map((request) => request.headers['webhook-id'])).size).toBe(2);
    const rows = await db.pool.query('select job_id from webhook_delivery order by created_at');
    expect(rows.rows.map((row) => row.job_id)).toEqual([jobId, sentinel]);
  });

  it("tenant B can neither see nor delete A's subscriptions, nor read their deliveries: answered as for a missing id", async () => {
    const created = await createSubscription(alice, { url: `${receiver.url}/hooks/b`, statuses: ['FAILED'] });
    const id = created.data.subscription.id;
    expect((await bob.send(LIST)).body).toEqual({ data: { webhookSubscriptions: [] } });
    const missing = '00000000-0000-4000-8000-000000000000';
    const deleteOthers = await bob.send(DELETE, { id });
    const deleteMissing = await bob.send(DELETE, { id: missing });
    expect(JSON.stringify(deleteOthers.body).replace(id, '<id>')).toBe(JSON.stringify(deleteMissing.body).replace(missing, '<id>'));
    expect((deleteOthers.body.data as any).deleteWebhookSubscription).toEqual({ __typename: 'WebhookSubscriptionNotFoundError', message: `no webhook subscription with id ${id}` });
    const readOthers = await bob.send(DELIVERIES, { id });
    expect((readOthers.body.data as any).webhookDeliveries.__typename).toBe('WebhookSubscriptionNotFoundError');
    expect((await alice.send(LIST)).body.data).toMatchObject({ webhookSubscriptions: expect.arrayContaining([expect.objectContaining({ id })]) });
    // Its owner deletes it: gone from the list, a second delete finds nothing.
    expect((await alice.send(DELETE, { id })).body.data).toEqual({ deleteWebhookSubscription: { __typename: 'MutationDeleteWebhookSubscriptionSuccess', data: { id } } });
    expect(JSON.stringify((await alice.send(LIST)).body)).not.toContain(id);
    expect(((await alice.send(DELETE, { id })).body.data as any).deleteWebhookSubscription.__typename).toBe('WebhookSubscriptionNotFoundError');
  });

  it('bad input is refused naming the field, and changes nothing', async () => {
    const before = await subscriptionCount(db);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ url: 'ftp://example.com/x', statuses: ['FAILED'] }, /^url: must be http or https/],
      [{ url: 'not a url', statuses: ['FAILED'] }, /^url: is not a URL/],
      [{ url: `${receiver.url}/x`, statuses: [] }, /^statuses: name at least one job status/],
      [{ url: `${receiver.url}/x`, statuses: ['FAILED'], queueNames: [''] }, /^queueNames\.0: must be a name/],
    ];
    for (const [input, message] of cases) {
      const answer = await createSubscription(alice, input);
      expect(answer).toMatchObject({ __typename: 'ValidationError' });
      expect(answer.message).toMatch(message);
    }
    expect(await subscriptionCount(db)).toBe(before);
  });
});

describe('without OUTBOUND_ALLOW_LIST', () => {
  let db: TestDatabase;
  let api: TestApp;
  let worker: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    db = await createTestDatabase();
    // The API allows the receiver (so the subscription can be saved); the worker that delivers does not.
    api = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { ...WEBHOOK_ENV, OUTBOUND_ALLOW_LIST: '127.0.0.1' } });
    worker = await startTestApp(db.url, { roles: { api: false, worker: true }, env: WEBHOOK_ENV });
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await api?.stop();
    await db?.drop();
  });

  it('a private, loopback or metadata address is refused at create time, naming the rule and the setting; nothing is saved', async () => {
    const strict = await startTestApp(db.url, { roles: { api: true, worker: false }, env: WEBHOOK_ENV });
    try {
      const before = await subscriptionCount(db);
      for (const [url, rule] of [
        [`${receiver.url}/x`, 'loopback'],
        ['http://10.1.2.3/hook', 'private'],
        ['http://[::1]:8080/hook', 'loopback'],
        ['http://169.254.169.254/latest', 'cloud metadata'],
        ['http://localhost:9/hook', 'loopback'],
      ]) {
        const answer = await createSubscription(strict.client, { url, statuses: ['DEAD_LETTER'] });
        expect(answer.__typename, url).toBe('ValidationError');
        expect(answer.message).toMatch(new RegExp(`^url: refused: .* is a ${rule} address, which webhooks may not reach \\(the operator allows chosen ones with OUTBOUND_ALLOW_LIST\\)$`));
      }
      expect(await subscriptionCount(db)).toBe(before);
    } finally {
      await strict.stop();
    }
  });

  it('a delivery to a refused address fails at once (no retries), with the reason in the delivery log; the receiver gets nothing', async () => {
    const created = await createSubscription(api.client, { url: `${receiver.url}/private`, statuses: ['DEAD_LETTER'] });
    expect(created.__typename).toBe('MutationCreateWebhookSubscriptionSuccess');
    const jobId = await createJob(api.client, deadLetter('default'));
    const [delivery] = await eventually('the delivery to fail', async () => {
      const { body } = await api.client.send(DELIVERIES, { id: created.data.subscription.id });
      const deliveries = (body.data as any).webhookDeliveries.data;
      return deliveries[0]?.status === 'FAILED' ? deliveries : undefined;
    });
    expect(delivery).toMatchObject({ jobId, status: 'FAILED', attemptCount: 1, responseStatus: null, deliveredAt: null });
    expect(delivery.lastError).toMatch(/^POST http:\/\/127\.0\.0\.1:\d+: refused to connect to 127\.0\.0\.1: loopback addresses are not reachable/);
    expect(receiver.received).toEqual([]);
  });
});

describe('without CONNECTIONS_ENCRYPTION_KEY', () => {
  it('a subscription is refused naming the setting (its secret would be stored in clear)', async () => {
    const db = await createTestDatabase();
    const api = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { OUTBOUND_ALLOW_LIST: '127.0.0.1' } });
    try {
      const answer = await createSubscription(api.client, { url: 'http://127.0.0.1:9/x', statuses: ['FAILED'] });
      expect(answer).toMatchObject({ __typename: 'ConnectionStorageUnavailableError', message: expect.stringMatching(/^webhook subscriptions cannot be saved: .*CONNECTIONS_ENCRYPTION_KEY/) });
      expect(await subscriptionCount(db)).toBe(0);
    } finally {
      await api.stop();
      await db.drop();
    }
  });
});

describe('a worker process killed mid-delivery', () => {
  it('leaves the delivery to another process once its claim runs out: sent again with the same webhook-id and body, delivered once', async () => {
    const receiver = await startReceiver();
    const db = await createTestDatabase();
    const env = { ...WEBHOOK_ENV, OUTBOUND_ALLOW_LIST: '127.0.0.1', WEBHOOK_TIMEOUT_MS: '3000' };
    const api = await startTestApp(db.url, { roles: { api: true, worker: false }, env });
    let second: Awaited<ReturnType<typeof spawnWorker>> | undefined;
    try {
      const created = await createSubscription(api.client, { url: `${receiver.url}/killed`, statuses: ['DEAD_LETTER'] });
      // The first attempt is never answered: its worker is killed while it waits.
      receiver.answerNext('hold');
      const first = await spawnWorker(db.url, env);
      const jobId = await createJob(api.client, deadLetter('default'));
      await receiver.waitFor('the first attempt', (requests) => requests.length === 1);
      first.process.kill('SIGKILL');
      await first.exited;
      second = await spawnWorker(db.url, env);
      const requests = await receiver.waitFor('the attempt of the second worker', (all) => all.some((request) => request.answered === 200));
      expect(requests.map((request) => request.answered)).toEqual([0, 200]);
      expect(requests[1]!.headers['webhook-id']).toBe(requests[0]!.headers['webhook-id']);
      expect(requests[1]!.body).toBe(requests[0]!.body);
      expect(verifyWebhook(created.data.secret, requests[1]!.headers, requests[1]!.body)).toBe(true);
      const [delivery] = await eventually('the delivery recorded as DELIVERED', async () => {
        const { body } = await api.client.send(DELIVERIES, { id: created.data.subscription.id });
        const deliveries = (body.data as any).webhookDeliveries.data;
        return deliveries[0]?.status === 'DELIVERED' ? deliveries : undefined;
      });
      expect(delivery).toMatchObject({ id: requests[0]!.headers['webhook-id'], jobId, status: 'DELIVERED', attemptCount: 2, responseStatus: 200 });
    } finally {
      second?.process.kill('SIGTERM');
      await second?.exited;
      await api.stop();
      await db.drop();
    }
  }, 60_000);
});
