// The OTLP exporter of jobwire's own processes (docs/tracing.md): a spawned
// `serve` and a spawned `work`, with OTEL_EXPORTER_OTLP_ENDPOINT naming a
// local HTTP receiver, POST their spans there (OTLP/HTTP, JSON): the API its
// createJob span, the worker the job's attempt span, its child, in the
// caller's trace. Which variables switch tracing on, and the refusals.
import { describe, expect, it } from 'vitest';
import { StartupError } from '../../src/startup-errors.ts';
import { startTracing, tracesExporters } from '../../src/tracing/setup.ts';
import { createLogger } from '../../src/logger.ts';
import { uuidOf } from '../../src/testing/global-id.ts';
import { spawnApi, spawnWorker } from '../support/app.ts';
import { createTestDatabase } from '../support/database.ts';
import { startHttpServer } from '../support/http-server.ts';
import { newTraceparent } from '../support/spans.ts';
import { deferred } from '../support/wait.ts';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Array<{ key: string; value: { stringValue?: string; intValue?: string | number } }>;
}
interface ReceivedSpan extends OtlpSpan {
  path: string;
  serviceName: string | undefined;
}

/** A stand-in OTLP collector: every span POSTed to it, with the request's path and the resource's service.name. */
async function startReceiver() {
  const received: ReceivedSpan[] = [];
  const waiters = new Set<{ match: (span: ReceivedSpan) => boolean; resolve: (span: ReceivedSpan) => void }>();
  const { url } = await startHttpServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: Array<{ resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      for (const resourceSpans of body.resourceSpans) {
        const serviceName = resourceSpans.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
        for (const span of resourceSpans.scopeSpans.flatMap((scope) => scope.spans)) {
          const seen = { ...span, path: request.url ?? '', serviceName };
          received.push(seen);
          for (const waiter of waiters) if (waiter.match(seen)) waiter.resolve(seen);
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  return {
    url,
    received,
    async waitFor(what: string, match: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
      const seen = received.find(match);
      if (seen) return seen;
      const wait = deferred<ReceivedSpan>(`${what} (received: ${received.map((span) => span.name).join(', ')})`, 60_000);
      const waiter = { match, resolve: wait.resolve };
      waiters.add(waiter);
      try {
        return await wait.promise;
      } finally {
        waiters.delete(waiter);
      }
    },
  };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

it('serve and work export their spans to OTEL_EXPORTER_OTLP_ENDPOINT: createJob, then the attempt as its child', async () => {
  const receiver = await startReceiver();
  const db = await createTestDatabase();
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: 'jobwire-test' };
  const api = await spawnApi(db.url, env);
  await spawnWorker(db.url, env);
  expect(api.logs.some((line) => line.msg === 'tracing on')).toBe(true);

  const caller = newTraceparent();
  const response = await fetch(api.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: caller.traceparent },
    body: JSON.stringify({ query: 'mutation { createJob(input: { jobType: "system.noop" }) { ... on MutationCreateJobSuccess { data { id } } } }' }),
  });
  const jobId = uuidOf(((await response.json()) as { data: { createJob: { data: { id: string } } } }).data.createJob.data.id);

  const create = await receiver.waitFor('the createJob span from serve', (span) => span.name === 'createJob' && span.traceId === caller.traceId);
  expect(create).toMatchObject({ path: '/v1/traces', parentSpanId: caller.spanId, serviceName: 'jobwire-test' });
  expect(attribute(create, 'jobwire.job.id')).toBe(jobId);

  const attempt = await receiver.waitFor('the attempt span from work', (span) => span.name === 'job.attempt' && span.traceId === caller.traceId);
  expect(attempt).toMatchObject({ path: '/v1/traces', parentSpanId: create.spanId, serviceName: 'jobwire-test' });
  expect([attribute(attempt, 'jobwire.job.id'), attribute(attempt, 'jobwire.job.type'), attribute(attempt, 'jobwire.job.outcome')]).toEqual([
    jobId,
    'system.noop',
    'COMPLETED',
  ]);
}, 120_000);

describe('what switches tracing on', () => {
  it('is off by default, on with an OTLP endpoint or OTEL_TRACES_EXPORTER, off again with none or OTEL_SDK_DISABLED', () => {
    expect(tracesExporters({})).toEqual([]);
    expect(tracesExporters({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual(['otlp']);
    expect(tracesExporters({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toEqual(['otlp']);
    expect(tracesExporters({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual(['otlp']);
    expect(tracesExporters({ OTEL_TRACES_EXPORTER: 'otlp, console' })).toEqual(['otlp', 'console']);
    expect(tracesExporters({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual([]);
    expect(tracesExporters({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toEqual([]);
  });

  const logger = createLogger('silent');

  it('refuses an exporter it does not know, and an OTLP protocol other than http/json, naming the variable', async () => {
    const refusal = (() => {
      try {
        tracesExporters({ OTEL_TRACES_EXPORTER: 'zipkin' });
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(StartupError);
    expect(refusal).toMatchObject({ message: 'OTEL_TRACES_EXPORTER: unknown exporter "zipkin"; jobwire knows otlp, console, none', exitCode: 2 });
    await expect(startTracing(logger, { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).rejects.toThrow(
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc: jobwire exports traces over OTLP/HTTP with JSON bodies; set http/json or leave it unset',
    );
    expect(await startTracing(logger, {})).toBeNull();
  });
});
