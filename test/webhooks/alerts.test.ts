// Operator alert rules: a backlog over N for M minutes, a stalled worker and
// dead letters over N an hour each fire once per episode and resolve once,
// delivered signed to the operator's URL; a breach that ends before it has
// lasted fires nothing; one process evaluates at a time. Evaluations are run
// at chosen times (no waiting for minutes to pass).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { ConnectionKeyring } from '../../src/connections/encryption.ts';
import { createOutboundFetch } from '../../src/net/outbound.ts';
import { loadConfig } from '../../src/service-config.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { evaluateAlerts, type AlertRules } from '../../src/webhooks/alerts.ts';
import { deliverDue } from '../../src/webhooks/deliveries.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
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

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const RULES: AlertRules = { backlogThreshold: 2, backlogMinutes: 5, workerStalledAfterMs: 60_000, deadLettersPerHour: 0 };
const minutes = (n: number) => n * 60_000;

let db: TestDatabase;
let api: TestApp;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

beforeAll(async () => {
  receiver = await startReceiver();
  db = await createTestDatabase();
  // API only: created jobs stay PENDING (a backlog).
  api = await startTestApp(db.url, { roles: { api: true, worker: false } });
}, 60_000);
afterAll(async () => {
  await api?.stop();
  await db?.drop();
});

async function createJobs(queueName: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { body } = await api.client.send(`mutation($input: CreateJobInput!) { createJob(input: $input) { ... on MutationCreateJobSuccess { data { id } } } }`, {
      input: { jobType: 'system.noop', queueName },
    });
    ids.push(uuidOf((body.data as any).createJob.data.id));
  }
  return ids;
}

async function cancel(ids: string[]) {
  for (const id of ids) await api.client.send('mutation($id: ID!) { cancelJob(id: $id) { __typename } }', { id });
}

const summary = (changes: Awaited<ReturnType<typeof evaluateAlerts>>) => changes?.map((change) => `${change.type} ${change.rule} ${change.subject}`);

it('each rule fires once per episode and resolves once, delivered signed to ALERT_WEBHOOK_URL', async () => {
  const t0 = Date.now() + minutes(2);
  const at = (offset: number) => new Date(t0 + offset);
  const backlog = await createJobs('backlog', 3);

  expect(summary(await evaluateAlerts(db.pool, RULES, at(0)))).toEqual([]);
  expect(summary(await evaluateAlerts(db.pool, RULES, at(minutes(4))))).toEqual([]);
  // A backlog that ends before it has lasted ALERT_BACKLOG_MINUTES says nothing.
  const brief = await createJobs('brief', 3);
  expect(summary(await evaluateAlerts(db.pool, RULES, at(minutes(5))))).toEqual(['alert.fired BACKLOG backlog']);
  await cancel(brief);
  expect(summary(await evaluateAlerts(db.pool, RULES, at(minutes(6))))).toEqual([]);

  // A worker silent for 10 minutes, and a job that reached DEAD_LETTER.
  await db.pool.query(`insert into worker (id, hostname, pid, last_heartbeat_at) values ('worker-1', 'host', 1, $1)`, [at(-minutes(10))]);
  const [dead] = await createJobs('dead', 1);
  await db.pool.query(`update job set status = 'RUNNING', started_at = now() where id = $1`, [dead]);
  await db.pool.query(`update job set status = 'DEAD_LETTER', failed_at = now(), error_message = 'boom' where id = $1`, [dead]);
  expect(summary(await evaluateAlerts(db.pool, RULES, at(minutes(7))))).toEqual(['alert.fired WORKER_STALLED worker-1', 'alert.fired DEAD_LETTERS ']);
  expect(summary(await evaluateAlerts(db.pool, RULES, at(minutes(7) + 1000)))).toEqual([]);

  // The backlog drains and the worker is gone; an hour later the dead letter is out of the window.
  await cancel(backlog);
  await db.pool.query(`delete from worker where id = 'worker-1'`);
  expect(summary(await evaluateAlerts(db.pool, RULES, at(minutes(8))))).toEqual(['alert.resolved BACKLOG backlog', 'alert.resolved WORKER_STALLED worker-1']);
  expect(summary(await evaluateAlerts(db.pool, RULES, at(minutes(80))))).toEqual(['alert.resolved DEAD_LETTERS ']);
  expect(summary(await evaluateAlerts(db.pool, RULES, at(minutes(81))))).toEqual([]);

  // Delivered the way tenants' webhooks are: signed, one webhook-id each.
  const sent = await deliverDue({
    pool: db.pool,
    keyring: new ConnectionKeyring(null),
    outbound: createOutboundFetch({ allowList: ['127.0.0.1'], maxRedirects: 0 }),
    maxAttempts: 3,
    retryBaseMs: 20,
    timeoutMs: 5000,
    operatorTarget: { url: `${receiver.url}/alerts`, secret: SECRET },
  });
  expect(sent).toBe(6);
  const bodies = receiver.received.map((request) => {
    expect(request.path).toBe('/alerts');
    expect(verifyWebhook(SECRET, request.headers, request.body)).toBe(true);
    return JSON.parse(request.body);
  });
  expect(new Set(receiver.received.map((request) => request.headers['webhook-id'])).size).toBe(6);
  expect(bodies.map((body) => `${body.type} ${body.data.rule} ${body.data.subject}`).sort()).toEqual(
    [
      'alert.fired BACKLOG backlog',
      'alert.fired WORKER_STALLED worker-1',
      'alert.fired DEAD_LETTERS ',
      'alert.resolved BACKLOG backlog',
      'alert.resolved WORKER_STALLED worker-1',
      'alert.resolved DEAD_LETTERS ',
    ].sort(),
  );
  const fired = bodies.find((body) => body.type === 'alert.fired' && body.data.rule === 'BACKLOG');
  expect(fired.data).toMatchObject({ value: 3, threshold: 2, summary: 'queue backlog has 3 PENDING jobs (more than 2) for 5 minutes or more', firedAt: at(minutes(5)).toISOString() });
  const resolved = bodies.find((body) => body.type === 'alert.resolved' && body.data.rule === 'BACKLOG');
  expect(resolved.data).toMatchObject({ alertId: fired.data.alertId, resolvedAt: at(minutes(8)).toISOString() });
  const deadLetters = bodies.find((body) => body.type === 'alert.fired' && body.data.rule === 'DEAD_LETTERS');
  expect(deadLetters.data.summary).toBe('1 jobs reached DEAD_LETTER in the last hour (more than 0)');
  const { rows } = await db.pool.query(`select status, count(*)::int as n from webhook_delivery group by status`);
  expect(rows).toEqual([{ status: 'DELIVERED', n: 6 }]);
});

it('one process evaluates at a time: while another holds the lock, an evaluation does nothing', async () => {
  const other = await db.pool.connect();
  try {
    await other.query('begin');
    await other.query('select pg_advisory_xact_lock($1, $2)', [0x6a77, 0x616c]);
    await createJobs('held', 3);
    expect(await evaluateAlerts(db.pool, { backlogThreshold: 2, backlogMinutes: 0 })).toBeNull();
    await other.query('rollback');
    expect(summary(await evaluateAlerts(db.pool, { backlogThreshold: 2, backlogMinutes: 0 }))).toEqual(['alert.fired BACKLOG held']);
  } finally {
    other.release();
  }
});

it('alert settings are checked together: a rule needs ALERT_WEBHOOK_URL, which needs ALERT_WEBHOOK_SECRET', () => {
  expect(() => loadConfig({ ALERT_BACKLOG_THRESHOLD: '10' })).toThrow(/ALERT_WEBHOOK_URL: required when an alert rule/);
  expect(() => loadConfig({ ALERT_WEBHOOK_URL: 'https://ops.example.com/alerts' })).toThrow(/ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URL is set/);
  expect(() => loadConfig({ ALERT_WEBHOOK_URL: 'https://ops.example.com/alerts', ALERT_WEBHOOK_SECRET: 'short' })).toThrow(ConfigError);
  expect(loadConfig({ ALERT_WEBHOOK_URL: 'https://ops.example.com/alerts', ALERT_WEBHOOK_SECRET: SECRET, ALERT_DEAD_LETTERS_PER_HOUR: '5' }).ALERT_DEAD_LETTERS_PER_HOUR).toBe(5);
});

it('a worker process evaluates the rules every ALERT_EVALUATE_INTERVAL_MS and delivers them: a stalled worker fires, and resolves once it is gone', async () => {
  const alerts = await startReceiver();
  const db2 = await createTestDatabase();
  const service = await startTestApp(db2.url, {
    env: {
      OUTBOUND_ALLOW_LIST: '127.0.0.1',
      ALERT_WEBHOOK_URL: `${alerts.url}/ops`,
      ALERT_WEBHOOK_SECRET: SECRET,
      // Silence counts from the server's start at the earliest (a few seconds ago here): a short bound.
      ALERT_WORKER_STALLED_AFTER_MS: '1000',
      ALERT_EVALUATE_INTERVAL_MS: '100',
      WEBHOOK_POLL_INTERVAL_MS: '50',
      // The silent worker below is not released as dead meanwhile.
      WORKER_DEAD_AFTER_MS: '600000',
    },
  });
  try {
    await db2.pool.query(`insert into worker (id, hostname, pid, last_heartbeat_at) values ('silent', 'host', 1, now() - interval '5 minutes')`);
    const ofSilent = (requests: typeof alerts.received) => requests.map((request) => JSON.parse(request.body)).filter((body) => body.data.subject === 'silent');
    await alerts.waitFor('the stalled worker alert', (requests) => ofSilent(requests).length === 1);
    await db2.pool.query(`delete from worker where id = 'silent'`);
    const bodies = ofSilent(await alerts.waitFor('its resolution', (requests) => ofSilent(requests).length === 2));
    expect(bodies.map((body) => `${body.type} ${body.data.rule}`)).toEqual(['alert.fired WORKER_STALLED', 'alert.resolved WORKER_STALLED']);
    expect(bodies[0].data.summary).toMatch(/^worker silent has not sent a heartbeat for \d+ s \(more than 1 s\)$/);
    for (const request of alerts.received) expect(verifyWebhook(SECRET, request.headers, request.body)).toBe(true);
  } finally {
    await service.stop();
    await db2.drop();
  }
}, 60_000);
