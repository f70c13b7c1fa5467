// The layers of src/, bottom first: a file may import its own layer and the
// layers below it, never one above. docs/life-of-a-job.md draws them;
// `npm run lint:layers` checks them (.ci/run, after the type check) and
// test/architecture/layers.test.ts runs the same rules. Type-only imports
// count: a type is a dependency too.
// Paths are relative to the working directory (`src/...`), so the test can
// run the same rules on a fixture tree laid out like src/.
const LAYERS = [
  // Shared types and errors (the handler port and registry, job errors, input
  // validation, flow options), logging, outbound and inbound network rules,
  // the generated Prisma client.
  ['core', ['core/', 'generated/', 'net/', '(logger|startup-errors|v8-flags)\\.ts$']],
  // Spans of jobs and the trace context they carry (docs/tracing.md), over @opentelemetry/api.
  ['tracing', ['tracing/']],
  // The core's settings (each kind's own join them in service-config.ts, at the top).
  ['config', ['config\\.ts$']],
  ['db', ['db/']],
  // Principals, tenants, API keys, JWTs.
  ['auth', ['auth/']],
  // Each tenant's provider credentials, shared by the kinds that reach a provider.
  ['connections', ['connections/']],
  // The only writer of job status, queue entries and the event log's rows.
  ['job-state', ['job-state/']],
  // The job types workers register (their payload schemas), and routing by type and queue.
  ['registry', ['registry/']],
  ['metrics', ['metrics/']],
  // Gates, timeouts, idempotency, dependencies, pause and rate limits.
  ['flow', ['flow/']],
  // Creating, listing, bulk actions, schedules, retention and live events of jobs.
  ['jobs', ['jobs/']],
  // graphile-worker, the run-job task, liveness, orphans.
  ['worker', ['worker/']],
  // Workers outside jobwire's processes: the HTTP protocol's leases over job-state.
  ['remote-workers', ['remote-workers/']],
  ['health', ['health\\.ts$']],
  // What a kind is to the service (its descriptor).
  ['kind-port', ['kind-descriptor\\.ts$']],
  // The Pothos builder, the GraphQL context, and the GraphQL of jobs, flow and connections.
  ['graphql', ['graphql/']],
  // Job kinds and their handlers; a kind imports no other kind.
  ['kinds', ['(budgets|collections|imports|portfolios|system|webhooks)/']],
  // HTTP: the assembled schema, the API server, websockets, health routes, metrics, the dashboard.
  ['http', ['http/']],
  // Wiring: the list of kinds, the whole configuration, the app, the CLI, test
  // servers, and the package an app imports (sdk/: its own job types and worker;
  // enqueue/: add_job in the app's transaction; codegen/: its typed client).
  ['app', ['(app|handlers|kinds|main|service-config|service-schema)\\.ts$', 'cli/', 'testing/', 'sdk/', 'codegen/', 'enqueue/']],
];

const KINDS = ['budgets', 'collections', 'imports', 'portfolios', 'system', 'webhooks'];

function layerRules(root) {
  const at = (paths) => `^${root}/(${paths.join('|')})`;
  const all = at(LAYERS.flatMap(([, paths]) => paths));
  const upward = LAYERS.slice(0, -1).map(([name, paths], index) => ({
    name: `${name}-imports-upward`,
    comment: `${name} may import only ${LAYERS.slice(0, index + 1).map(([below]) => below).join(', ')} (.dependency-cruiser.cjs lists the layers, bottom first)`,
    severity: 'error',
    from: { path: at(paths) },
    to: { path: at(LAYERS.slice(index + 1).flatMap(([, above]) => above)) },
  }));
  return [
    ...upward,
    {
      name: 'kind-imports-kind',
      comment: 'a kind is self-contained: what two kinds share moves down a layer',
      severity: 'error',
      from: { path: `^${root}/(${KINDS.join('|')})/` },
      to: { path: `^${root}/(${KINDS.join('|')})/`, pathNot: `^${root}/$1/` },
    },
    {
      name: 'no-layer',
      comment: `every file under ${root}/ belongs to a layer: add its folder to LAYERS in .dependency-cruiser.cjs`,
      severity: 'error',
      from: { path: `^${root}/`, pathNot: all },
      to: {},
    },
    {
      name: 'no-layer-target',
      comment: `every file under ${root}/ belongs to a layer: add its folder to LAYERS in .dependency-cruiser.cjs`,
      severity: 'error',
      from: { path: `^${root}/` },
      to: { path: `^${root}/`, pathNot: all },
    },
    {
      name: 'no-cycle',
      comment: 'files import one way: no file reaches itself through its imports',
      severity: 'error',
      from: { path: `^${root}/` },
      to: { circular: true },
    },
  ];
}

module.exports = {
  forbidden: layerRules('src'),
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/generated/prisma/' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
