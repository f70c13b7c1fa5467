// Metrics: Prometheus text on METRICS_PORT, counted by the worker and the API,
// readable with the admin scope only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiKey } from '../../src/auth/api-keys.ts';
import { sleepHandler, noopHandler } from '../../src/system/handlers.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { NonRetriableError } from '../../src/core/handler.ts';
import { HandlerRegistry } from '../../src/core/registry.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { createJob } from '../support/jobs.ts';
import { CancelJob, JobUpdated } from '../support/operations.ts';
import { eventually } from '../support/wait.ts';

/** Prometheus text → samples, e.g. { name, labels: { queue: 'default' }, value }. */
function parseMetrics(text: string) {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a Prometheus sample: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      return { name: match[1]!, labels: labels as Record<string, string>, value: Number(match[3]) };
    });
}

type Samples = ReturnType<typeof parseMetrics>;
const value = (samples: Samples, name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

describe('metrics', () => {
  let db: TestDatabase;
  let service: TestApp;
  let flakyAttempts = 0;
  const scrape = async () => {
    const response = await fetch(service.app.metricsServer!.url);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return parseMetrics(await response.text());
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    const registry = new HandlerRegistry()
      .register(noopHandler)
      .register(sleepHandler)
      .register({
        jobType: 'test.flaky',
        description: 'fails its first attempt',
        payload: z.object({}),
        async handle() {
          if (++flakyAttempts === 1) throw new Error('first attempt fails');
          return { success: true };
        },
      })
      .register({
        jobType: 'test.broken',
        description: 'fails for good',
        payload: z.object({}),
        async handle() {
          throw new NonRetriableError('broken for good');
        },
      });
    service = await startTestApp(db.url, { registry, env: { METRICS_PORT: '0', METRICS_JOB_COUNTS_MAX_AGE_MS: '0' } });
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  it('are served on the metrics port only, not the API; without authentication (loopback) a scrape needs no token', async () => {
    expect(service.app.metricsServer!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect((await fetch(service.app.metricsServer!.url)).status).toBe(200);
    expect((await fetch(service.app.api!.url.replace('/graphql', '/metrics'))).status).toBe(404);
  });

  it('count jobs started, completed, retried, failed and cancelled, with run times, by queue and job type; job counts match the database', async () => {
    const created = [
      ...(await Promise.all([1, 2, 3].map(() => createJob(service.client, { jobType: 'system.noop', queueName: 'metrics' })))),
      await createJob(service.client, { jobType: 'test.flaky', queueName: 'metrics' }),
      await createJob(service.client, { jobType: 'test.broken', queueName: 'metrics' }),
    ];
    const sleeper = await createJob(service.client, { jobType: 'system.sleep', queueName: 'metrics', payload: { ms: 60_000, ticks: 600 } });
    const updates = service.client.subscribe(JobUpdated, { id: sleeper.id });
    await updates.waitFor('the sleeper running', (r) => r.some((u) => u.jobUpdated.status === 'RUNNING'));
    await service.client.request(CancelJob, { id: sleeper.id });
    await updates.waitFor('the sleeper cancelled', (r) => r.some((u) => u.jobUpdated.status === 'CANCELLED'));
    updates.close();
    const finishedAt = await eventually('every job finished', async () => {
      const { rows } = await db.pool.query(`select count(*)::int as n from job where id = any($1) and status in ('COMPLETED', 'FAILED')`, [created.map((job) => uuidOf(job.id))]);
      return rows[0].n === created.length ? Date.now() : undefined;
    });

    // The count of jobs by status is taken in the background: wait for one started after the jobs finished.
    const samples = await eventually('a job count taken after the jobs finished', async () => {
      const samples = await scrape();
      return value(samples, 'jobwire_jobs_counted_at_seconds')! * 1000 >= finishedAt ? samples : undefined;
    });
    const job = (jobType: string) => ({ queue: 'metrics', job_type: jobType });
    expect(value(samples, 'jobwire_jobs_started_total', job('system.noop'))).toBe(3);
    expect(value(samples, 'jobwire_jobs_completed_total', job('system.noop'))).toBe(3);
    expect(value(samples, 'jobwire_jobs_started_total', job('test.flaky'))).toBe(2);
    expect(value(samples, 'jobwire_jobs_retried_total', job('test.flaky'))).toBe(1);
    expect(value(samples, 'jobwire_jobs_completed_total', job('test.flaky'))).toBe(1);
    expect(value(samples, 'jobwire_jobs_failed_total', { ...job('test.broken'), status: 'FAILED' })).toBe(1);
    expect(value(samples, 'jobwire_jobs_cancelled_total', job('system.sleep'))).toBe(1);
    expect(value(samples, 'jobwire_job_run_seconds_count', { job_type: 'system.noop', status: 'COMPLETED' })).toBe(3);
    expect(value(samples, 'jobwire_job_run_seconds_bucket', { job_type: 'system.noop', status: 'COMPLETED', le: '+Inf' })).toBe(3);

    const { rows } = await db.pool.query<{ status: string; n: number }>(`select status, count(*)::int as n from job where queue_name = 'metrics' group by status`);
    const inDatabase = Object.fromEntries(rows.map((row) => [row.status, row.n]));
    expect(inDatabase).toEqual({ COMPLETED: 4, FAILED: 1, CANCELLED: 1 });
    for (const status of ['PENDING', 'SCHEDULED', 'RUNNING', 'RETRYING', 'COMPLETED', 'FAILED', 'DEAD_LETTER', 'CANCELLED']) {
      expect(value(samples, 'jobwire_jobs', { queue: 'metrics', status }), status).toBe(inDatabase[status] ?? 0);
    }
    // Every status change, read from the event log by the API.
    const events = await db.pool.query<{ n: number }>(`select count(*)::int as n from job_event where status = 'COMPLETED'`);
    await eventually('the API to publish every COMPLETED event', async () =>
      value(await scrape(), 'jobwire_job_events_total', { status: 'COMPLETED' }) === events.rows[0]!.n ? true : undefined,
    );
    // GraphQL operation timings (yoga's Prometheus plugin).
    expect(value(samples, 'graphql_envelop_request_duration_count', { operationName: 'CreateJob', operationType: 'mutation' })).toBeGreaterThanOrEqual(6);
    expect(value(samples, 'graphql_envelop_phase_execute_count', { operationName: 'CancelJob' })).toBe(1);
  });

  it('show live subscribers and websocket connections, worker heartbeat ages and LISTEN reconnects', async () => {
    const job = await createJob(service.client, { jobType: 'system.sleep', queueName: 'metrics', payload: { ms: 60_000, ticks: 600 } });
    const updates = service.client.subscribe(JobUpdated, { id: job.id });
    await updates.waitFor('the job', (r) => r.length > 0);
    let samples = await scrape();
    expect(value(samples, 'jobwire_subscribers', { subscription: 'job' })).toBe(1);
    expect(value(samples, 'jobwire_websocket_connections')).toBe(1);
    expect(value(samples, 'jobwire_worker_heartbeat_age_seconds', { worker_id: service.app.worker!.workerId })).toBeGreaterThanOrEqual(0);
    await service.client.request(CancelJob, { id: job.id });
    updates.close();

    expect(value(samples, 'jobwire_listen_reconnects_total')).toBe(0);
    await db.pool.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'jobwire-listener' and datname = current_database()`);
    samples = await eventually('a LISTEN reconnect counted', async () => {
      const samples = await scrape();
      return value(samples, 'jobwire_listen_reconnects_total') === 1 ? samples : undefined;
    });
    expect(value(samples, 'jobwire_subscribers', { subscription: 'job' })).toBe(0);
  });
});

describe('metrics access', () => {
  let db: TestDatabase;
  let service: TestApp;
  const scrape = (token?: string) => fetch(service.app.metricsServer!.url, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  beforeAll(async () => {
    db = await createTestDatabase();
    service = await startTestApp(db.url, { roles: { api: false, worker: true }, env: { AUTH_ENABLED: 'true', METRICS_PORT: '0' } });
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  it('with authentication on, need a token with the metrics:read (or admin) scope: none 401, another scope 403, metrics:read and admin 200', async () => {
    const key = async (scopes: Array<'jobs:read' | 'jobs:write' | 'metrics:read' | 'admin'>) =>
      (await createApiKey(db.pool, { name: scopes.join(' '), tenantId: 'team-a', scopes })).key;

    const anonymous = await scrape();
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expect(await anonymous.text()).toContain('metrics need a token');

    const forged = await scrape('jw_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(forged.status).toBe(401);
    expect((await forged.text()).trim()).toBe('invalid API key');

    const member = await scrape(await key(['jobs:read', 'jobs:write']));
    expect(member.status).toBe(403);
    expect((await member.text()).trim()).toBe('metrics need the scope metrics:read (or admin)');

    const scraper = await scrape(await key(['metrics:read']));
    expect(scraper.status).toBe(200);
    expect(parseMetrics(await scraper.text()).some((sample) => sample.name === 'jobwire_jobs_counted_at_seconds')).toBe(true);

    const admin = await scrape(await key(['admin']));
    expect(admin.status).toBe(200);
    expect(parseMetrics(await admin.text()).some((sample) => sample.name === 'jobwire_jobs_counted_at_seconds')).toBe(true);
  });

  it('a metrics:read key reaches nothing of the API: every query, mutation and subscription refuses it', async () => {
    const api = await startTestApp(db.url, { roles: { api: true, worker: false }, env: { AUTH_ENABLED: 'true' } });
    try {
      const scraper = api.client.as((await createApiKey(db.pool, { name: 'prometheus', tenantId: 'ops', scopes: ['metrics:read'] })).key);
      const query = await scraper.send('{ jobs { totalCount } queues { queueName } }');
      expect(query.body.errors?.[0]?.message).toBe('Query.jobs needs the scope jobs:read');
      expect(query.body.data ?? null).toBeNull();
      const mutation = await scraper.send('mutation { createJob(input: { jobType: "system.noop" }) { __typename } }');
      expect(mutation.body.errors?.[0]?.message).toBe('Mutation.createJob needs the scope jobs:write');
      expect(await db.pool.query('select 1 from job')).toMatchObject({ rowCount: 0 });
      const subscription = scraper.subscribe(JobUpdated, { id: '00000000-0000-0000-0000-000000000000' });
      await expect(subscription.waitFor('a refusal', () => false)).rejects.toThrow(/Subscription.jobUpdated needs the scope jobs:read/);
    } finally {
      await api.stop();
    }
  });

  it("a work process (no API port) answers /health/live and /health/ready on the metrics port without a token, its worker's checks included", async () => {
    const worker = await startTestApp(db.url, { roles: { api: false, worker: true }, env: { METRICS_PORT: '0', AUTH_ENABLED: 'true' } });
    try {
      const base = worker.app.metricsServer!.url.replace('/metrics', '');
      expect((await fetch(worker.app.metricsServer!.url)).status).toBe(401);
      const live = await fetch(`${base}/health/live`);
      expect([live.status, await live.json()]).toEqual([200, { live: true }]);
      const ready = await fetch(`${base}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        ready: true,
        checks: { database: { ok: true }, migrations: { ok: true }, listen: { ok: true }, workerHeartbeat: { ok: true }, workerSession: { ok: true }, workerTakesJobs: { ok: true } },
      });
      expect((await fetch(`${base}/graphql`)).status).toBe(404);
    } finally {
      await worker.stop();
    }
  });

  it('without authentication, a non-loopback METRICS_HOST stops the start, naming the settings', async () => {
    const refused = startTestApp(db.url, { roles: { api: false, worker: true }, env: { METRICS_PORT: '0', METRICS_HOST: '0.0.0.0' } });
    await expect(refused).rejects.toThrow(
      'refusing to serve metrics on 0.0.0.0 without authentication: set AUTH_ENABLED=true (and scrape with a metrics:read API key), or use a loopback METRICS_HOST, or set AUTH_DISABLED_ALLOW_NON_LOOPBACK=true to allow it anyway',
    );
    const allowed = await startTestApp(db.url, {
      roles: { api: false, worker: true },
      env: { METRICS_PORT: '0', METRICS_HOST: '0.0.0.0', AUTH_DISABLED_ALLOW_NON_LOOPBACK: 'true' },
    });
    try {
      expect((await fetch(allowed.app.metricsServer!.url.replace('0.0.0.0', '127.0.0.1'))).status).toBe(200);
    } finally {
      await allowed.stop();
    }
  });
});

describe('metric labels a caller chooses', () => {
  let db: TestDatabase;
  let service: TestApp;
  const N = 1000;
  const MAX = 10;

  beforeAll(async () => {
    db = await createTestDatabase();
    service = await startTestApp(db.url, {
      env: { METRICS_PORT: '0', METRICS_JOB_COUNTS_MAX_AGE_MS: '0', METRICS_LABEL_VALUES_MAX: String(MAX), WORKER_CONCURRENCY: '20', WORKER_RUNNING_WRITE_DELAY_MS: '0' },
    });
  });
  afterAll(async () => {
    await service?.stop();
    await db?.drop();
  });

  /** The distinct values of one label of one metric family (its _bucket, _sum, _count samples included). */
  const valuesOf = (samples: Samples, family: string, label: string) =>
    new Set(samples.filter((s) => s.name === family || s.name.startsWith(`${family}_`)).map((s) => s.labels[label]).filter((v) => v !== undefined));

  it(`1,000 operation names, URLs and queue names make at most METRICS_LABEL_VALUES_MAX (${MAX}) values each, the rest counted as "other"`, async () => {
    // 1,000 operation names, each sent to its own URL (a query string the API ignores).
    for (let start = 0; start < N; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, offset) => {
          const i = start + offset;
          const response = await fetch(`${service.app.api!.url}?n=${i}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ query: `query Probe${i} { __typename }`, operationName: `Probe${i}` }),
          });
          expect(response.status).toBe(200);
          await response.arrayBuffer();
        }),
      );
    }
    // 1,000 jobs, each in its own queue, run to the end.
    const created = await service.client.send(`mutation($jobs: [CreateJobInput!]!) { createJobs(jobs: $jobs) { __typename } }`, {
      jobs: Array.from({ length: N }, (_, i) => ({ jobType: 'system.noop', queueName: `queue-${i}` })),
    });
    expect(created.body.errors).toBeUndefined();
    await eventually('every job to complete', async () => {
      const { rows } = await db.pool.query(`select count(*)::int as n from job where status = 'COMPLETED'`);
      return rows[0].n === N ? true : undefined;
    }, 60_000);

    const response = await fetch(service.app.metricsServer!.url);
    const text = await response.text();
    const samples = parseMetrics(text);
    expect(text).not.toMatch(/url="/);
    for (const family of ['graphql_yoga_http_duration', 'graphql_envelop_request_duration', 'graphql_envelop_phase_parse', 'graphql_envelop_request']) {
      const names = valuesOf(samples, family, 'operationName');
      expect(names.size, family).toBeLessThanOrEqual(MAX + 1);
      expect(names.has('other'), family).toBe(true);
    }
    for (const family of ['jobwire_jobs_started_total', 'jobwire_jobs_completed_total', 'jobwire_jobs']) {
      const queues = valuesOf(samples, family, 'queue');
      expect(queues.size, family).toBeLessThanOrEqual(MAX + 1);
      expect(queues.has('other'), family).toBe(true);
    }
    // Nothing is lost: the jobs counted under "other" and the named queues add up.
    const completed = samples.filter((s) => s.name === 'jobwire_jobs_completed_total').reduce((sum, s) => sum + s.value, 0);
    expect(completed).toBe(N);
    const stored = samples.filter((s) => s.name === 'jobwire_jobs' && s.labels.status === 'COMPLETED').reduce((sum, s) => sum + s.value, 0);
    expect(stored).toBe(N);
    console.log(`series in one scrape: ${samples.length}`);
  });
});
