// GraphQL operation timings and errors (yoga's Prometheus plugin, on the
// process's registry, served by http/metrics-server.ts). The plugin's own labels
// include the client's operation name, the raw request URL and the error's
// response path (aliases included): all chosen by whoever sends a request, so
// unbounded series from anyone. Here every metric is defined with its labels
// filled by us: operation names and error paths go through LabelValues (the
// first METRICS_LABEL_VALUES_MAX, then `other`), list indices in a path read `*`,
// and the URL is not a label.
import {
  createCounter,
  createHistogram,
  createSummary,
  usePrometheus,
  type PrometheusTracingPluginConfig,
} from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import { LabelValues, type Metrics } from './metrics.ts';

type Params = { operationName?: string; operationType?: string; errorPhase?: string; error?: { path?: ReadonlyArray<string | number> } };

export function graphqlMetrics(metrics: Metrics): Plugin {
  const registry = metrics.registry;
  const operations = new LabelValues(metrics.labelValuesMax);
  const paths = new LabelValues(metrics.labelValuesMax);
  const operation = (params: Params) => ({
    operationName: operations.of(params.operationName ?? 'Anonymous'),
    operationType: params.operationType ?? 'unknown',
  });
  const OPERATION = ['operationType', 'operationName'];
  const histogram = (name: string, help: string, phases: string[]) =>
    createHistogram({ registry, histogram: { name, help, labelNames: OPERATION }, fillLabelsFn: operation, phases } as never) as never;

  const config: PrometheusTracingPluginConfig = {
    registry,
    endpoint: false,
    metrics: {
      graphql_envelop_phase_parse: histogram('graphql_envelop_phase_parse', 'Time spent on running GraphQL "parse" function', ['parse']),
      graphql_envelop_phase_validate: histogram('graphql_envelop_phase_validate', 'Time spent on running GraphQL "validate" function', ['validate']),
      graphql_envelop_phase_context: histogram('graphql_envelop_phase_context', 'Time spent on building the GraphQL context', ['context']),
      graphql_envelop_phase_execute: histogram('graphql_envelop_phase_execute', 'Time spent on running the GraphQL "execute" function', ['execute']),
      graphql_envelop_phase_subscribe: histogram('graphql_envelop_phase_subscribe', 'Time spent on running the GraphQL "subscribe" function', ['subscribe']),
      graphql_envelop_request_duration: histogram(
        'graphql_envelop_request_duration',
        'Time spent on running the GraphQL operation from parse to execute',
        ['execute', 'subscribe'],
      ),
      graphql_envelop_request_time_summary: createSummary({
        registry,
        summary: { name: 'graphql_envelop_request_time_summary', help: 'Summary to measure the time to complete GraphQL operations', labelNames: OPERATION },
        fillLabelsFn: operation,
        phases: ['execute', 'subscribe'],
      } as never),
      graphql_envelop_request: createCounter({
        registry,
        counter: { name: 'graphql_envelop_request', help: 'Counts the amount of GraphQL requests executed through Envelop', labelNames: OPERATION },
        fillLabelsFn: operation,
        phases: ['execute', 'subscribe'],
      } as never),
      graphql_envelop_error_result: createCounter({
        registry,
        counter: { name: 'graphql_envelop_error_result', help: 'Counts the amount of errors reported from all phases', labelNames: [...OPERATION, 'path', 'phase'] },
        fillLabelsFn: (params: Params) => ({
          ...operation(params),
          phase: params.errorPhase ?? 'unknown',
          ...(params.error?.path ? { path: paths.of(params.error.path.map((key) => (typeof key === 'number' ? '*' : key)).join('.')) } : {}),
        }),
        phases: ['parse', 'validate', 'context', 'execute', 'subscribe'],
      } as never),
      graphql_envelop_deprecated_field: createCounter({
        registry,
        counter: {
          name: 'graphql_envelop_deprecated_field',
          help: 'Counts the amount of deprecated fields used in selection sets',
          labelNames: [...OPERATION, 'fieldName', 'typeName'],
        },
        // Field and type names come from the schema: bounded.
        fillLabelsFn: (params: Params & { deprecationInfo?: { fieldName?: string; typeName?: string } }) => ({
          ...operation(params),
          fieldName: params.deprecationInfo?.fieldName,
          typeName: params.deprecationInfo?.typeName,
        }),
        phases: ['parse'],
      } as never),
      graphql_envelop_schema_change: true,
      graphql_envelop_execute_resolver: false,
      // Method and status come from a bounded set once the request reached GraphQL parsing.
      graphql_yoga_http_duration: createHistogram({
        registry,
        histogram: { name: 'graphql_yoga_http_duration', help: 'Time spent on HTTP connection', labelNames: [...OPERATION, 'method', 'statusCode'] },
        fillLabelsFn: (params: Params, context: { request: Request; response: Response }) => ({
          ...operation(params),
          method: context.request.method,
          statusCode: context.response.status,
        }),
        phases: ['request'],
      } as never),
    },
  };
  return usePrometheus(config);
}
