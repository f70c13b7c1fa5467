// Tracing in jobwire's own processes (serve, work, start): off unless the
// standard OpenTelemetry environment variables ask for an exporter
// (docs/tracing.md). Then an SDK tracer provider is registered globally and
// the spans of src/tracing/job-spans.ts go to it; otherwise nothing is loaded
// and the API's no-op tracer makes every span free. An app that runs jobwire's
// worker in its own process (the sdk's runWorker) registers its own provider.
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { Logger } from '../logger.ts';
import { EXIT_USAGE, StartupError } from '../startup-errors.ts';

export type TracesExporter = 'otlp' | 'console';

/** The standard variables jobwire reads itself (docs/configuration.md); the SDK reads the other OTEL_* ones (docs/tracing.md). */
export interface TracingEnv {
  OTEL_SDK_DISABLED: string | undefined;
  OTEL_TRACES_EXPORTER: string | undefined;
  OTEL_EXPORTER_OTLP_ENDPOINT: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: string | undefined;
  OTEL_EXPORTER_OTLP_PROTOCOL: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: string | undefined;
}
const EXPORTERS: readonly string[] = ['otlp', 'console', 'none'];

/**
 * The exporters the environment names; none: tracing off. OTEL_TRACES_EXPORTER
 * decides (a comma-separated list of otlp, console, none); unset, an OTLP
 * endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
 * switches on otlp. OTEL_SDK_DISABLED=true keeps it off whatever else is set.
 */
export function tracesExporters(env: Partial<TracingEnv> = process.env): TracesExporter[] {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return [];
  const named = env.OTEL_TRACES_EXPORTER?.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (named?.length) {
    const unknown = named.find((name) => !EXPORTERS.includes(name));
    if (unknown) throw new StartupError(`OTEL_TRACES_EXPORTER: unknown exporter "${unknown}"; jobwire knows ${EXPORTERS.join(', ')}`, EXIT_USAGE);
    return named.includes('none') ? [] : [...new Set(named as TracesExporter[])];
  }
  return env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ? ['otlp'] : [];
}

/** The OTLP exporter sends JSON over HTTP: another protocol asked for is refused, not silently changed. */
function checkProtocol(env: Partial<TracingEnv>): void {
  for (const name of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const) {
    const value = env[name]?.trim();
    if (value && value !== 'http/json') {
      throw new StartupError(`${name}=${value}: jobwire exports traces over OTLP/HTTP with JSON bodies; set http/json or leave it unset`, EXIT_USAGE);
    }
  }
}

export interface Tracing {
  readonly exporters: readonly TracesExporter[];
  /** Exports what is left and stops (at shutdown). */
  shutdown(): Promise<void>;
}

/** Registers a tracer provider when the environment asks for one; null (nothing loaded, nothing registered) otherwise. */
export async function startTracing(logger: Logger, env: Partial<TracingEnv> = process.env): Promise<Tracing | null> {
  const exporters = tracesExporters(env);
  if (exporters.length === 0) return null;
  if (exporters.includes('otlp')) checkProtocol(env);
  const [{ NodeTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, ConsoleSpanExporter }, { OTLPTraceExporter }, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  // The SDK's own troubles (an unreachable collector, a dropped batch) go to the log.
  const log = logger.child({ component: 'tracing' });
  diag.setLogger(
    {
      error: (message, ...args) => log.error({ args }, message),
      warn: (message, ...args) => log.warn({ args }, message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
  // service.name is jobwire unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise.
  const resource = resources
    .resourceFromAttributes({ 'service.name': 'jobwire' })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: exporters.map((name) =>
      // The OTLP exporter reads its endpoint, headers, timeout and compression from OTEL_EXPORTER_OTLP_*;
      // the batch processor its delays and sizes from OTEL_BSP_*; the sampler comes from OTEL_TRACES_SAMPLER.
      name === 'otlp' ? new BatchSpanProcessor(new OTLPTraceExporter()) : new SimpleSpanProcessor(new ConsoleSpanExporter()),
    ),
  });
  provider.register();
  log.info({ exporters }, 'tracing on');
  return {
    exporters,
    shutdown: () => provider.shutdown(),
  };
}
