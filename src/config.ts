// Environment → typed configuration, validated once at start. A bad value
// stops the start with a message naming the variable.
import { parseRetentionRules } from './core/retention-rules.ts';
import { z } from 'zod';
import { allowedHostEntry } from './net/host-check.ts';
import { DEFAULT_RESPONSE_MAX_BYTES, DEFAULT_TIMEOUT_MS } from './net/outbound.ts';

/**
 * What configuration reads of a kind (src/kind-descriptor.ts's KindDescriptor
 * has these members): declared here, so that configuration depends on no kind.
 */
export interface KindSettings {
  name: string;
  config: z.ZodRawShape;
  checkConfig?(config: any): string[];
}

/** Default of METRICS_LABEL_VALUES_MAX (src/metrics/metrics.ts bounds its labels with it). */
export const DEFAULT_LABEL_VALUES_MAX = 100;
/** CREATE_COALESCE_MAX_JOBS' default (callers of createJobs that pass no setting get it too). */
export const CREATE_COALESCE_MAX_JOBS_DEFAULT = 200;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');
const commaList = (value: string) => value.split(',').map((item) => item.trim()).filter(Boolean);

/** An AES-256 key as the settings take it: 32 bytes in base64. */
function checkEncryptionKey(value: string | undefined, ctx: z.RefinementCtx, which = 'the key') {
  if (value === undefined) return;
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? Buffer.from(value, 'base64').length : -1;
  if (bytes !== 32) {
    ctx.addIssue({
      code: 'custom',
      message: `${which} must be 32 bytes in base64, e.g. from \`openssl rand -base64 32\` (${bytes < 0 ? 'not base64' : `got ${bytes} bytes`})`,
    });
  }
}

/** The core's settings; each kind adds its own (its descriptor's `config`). */
const coreConfigSchema = z.object({
  /** Postgres to use. Unset: an embedded Postgres under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  /** Where the embedded Postgres keeps its data (kept across restarts). */
  DATA_DIR: z.string().min(1).default('./.data'),
  /** Port of the embedded Postgres. */
  EMBEDDED_POSTGRES_PORT: int(1, 65535).default(5439),
  /** HTTP host and port of the API (GraphiQL and graphql-ws at /graphql). */
  HOST: z.string().min(1).default('localhost'),
  PORT: int(0, 65535).default(4000),
  /**
   * Port of the Prometheus endpoint (GET /metrics), served apart from the API so
   * that it is not public with it. Unset: no metrics endpoint; 0: any free port.
   */
  METRICS_PORT: int(0, 65535).optional(),
  /** Host of the metrics endpoint; loopback unless the scraper runs elsewhere. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Jobs by queue and status are counted by one grouped query, at most this often
   * (a scrape serves the last count and starts a fresh one when it is older).
   */
  METRICS_JOB_COUNTS_MAX_AGE_MS: int(0, 3_600_000).default(5000),
  /**
   * Values a label chosen by callers (queue, GraphQL operation name, error path) keeps
   * per process; later ones are reported as `other`, so nobody can make series without end.
   */
  METRICS_LABEL_VALUES_MAX: int(1, 100_000).default(DEFAULT_LABEL_VALUES_MAX),
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Size of each Postgres pool of a process (`start` has two: the API's and the worker's). */
  DATABASE_POOL_SIZE: int(2, 200).default(10),
  /** Postgres cancels a statement of the API's pool that runs longer than this (0: never). Workers and migrations have none. */
  DATABASE_STATEMENT_TIMEOUT_MS: int(0, 86_400_000).default(30_000),
  /** A request waiting this long for a free connection of the API's pool is answered DATABASE_UNAVAILABLE (0: it waits). */
  DATABASE_POOL_ACQUIRE_TIMEOUT_MS: int(0, 600_000).default(10_000),
  /** Jobs one worker process runs at once. */
  WORKER_CONCURRENCY: int(1, 1000).default(4),
  /** How often an idle worker looks for due jobs (new jobs arrive by NOTIFY at once). */
  WORKER_POLL_INTERVAL_MS: int(50, 60_000).default(2000),
  /**
   * graphile-worker's local queue: jobs fetched ahead per batch (0: off, each slot fetches one at a time).
   * A batch pays get_job's walk past the entries a held MVCC horizon keeps once rather than per job, but
   * comes back in graphile-worker's update order, not the take order turns rely on (docs/performance.md).
   */
  WORKER_LOCAL_QUEUE_SIZE: int(0, 10_000).default(0),
  /** Batch job completions for this long (ms; -1: complete each job at once). */
  WORKER_COMPLETE_BATCH_DELAY_MS: int(-1, 1000).default(-1),
  /**
   * How long a job runs before its worker writes RUNNING (0: before the handler
   * starts). A job done sooner is written once, queued → COMPLETED, with its
   * RUNNING event dated when it started; progress and steps write RUNNING at once.
   */
  WORKER_RUNNING_WRITE_DELAY_MS: int(0, 60_000).default(50),
  /** How often a worker process records that it is alive. */
  WORKER_HEARTBEAT_INTERVAL_MS: int(100, 60_000).default(5000),
  /** A worker silent for this long is dead: a live worker releases its jobs. */
  WORKER_DEAD_AFTER_MS: int(500, 3_600_000).default(30_000),
  /** How often a worker checks its own database session and the session locks of the others (ms). */
  WORKER_LIVENESS_INTERVAL_MS: int(100, 60_000).default(1000),
  /** A worker whose session lock has been free this long is dead: a live worker releases its jobs at once. */
  WORKER_TAKE_OVER_AFTER_MS: int(0, 3_600_000).default(2000),
  /**
   * A worker with a slot free this long while jobs have been due this long, untaken, is stalled:
   * /health/ready answers 503 naming it (src/worker/stall-watchdog.ts).
   */
  WORKER_STALL_AFTER_MS: int(1000, 3_600_000).default(30_000),
  /** A stall this long ends the worker process with one line (code 1), for its supervisor to restart it. */
  WORKER_STALL_EXIT_AFTER_MS: int(0, 3_600_000).default(30_000),
  /**
   * The queues this worker takes jobs from (comma-separated); unset: every queue.
   * Routing (docs/job-type-registry.md): a worker takes only jobs of the types it hosts, in these queues.
   */
  WORKER_QUEUES: z
    .string()
    .optional()
    .transform((value) => (value === undefined ? undefined : commaList(value)))
    .refine((queues) => queues === undefined || queues.length > 0, { message: 'must name at least one queue (unset it to serve every queue)' }),
  /**
   * Whether createJob accepts a job type that no worker has registered (it then waits with
   * NO_WORKER, its payload unchecked); by default such a create is an UnknownJobTypeError.
   */
  ALLOW_UNKNOWN_JOB_TYPES: bool.default(false),
  /**
   * A process without its database this long exits with one line (code 1) so that a supervisor
   * restarts it: at start (an unreachable DATABASE_URL) and while running; 0: never while running.
   */
  DATABASE_UNAVAILABLE_EXIT_AFTER_MS: int(0, 86_400_000).default(60_000),
  /** Delay before the first automatic retry; doubles per retry, with jitter. */
  JOB_RETRY_BASE_DELAY_MS: int(0, 3_600_000).default(1000),
  /** Upper bound of the retry delay. */
  JOB_RETRY_MAX_DELAY_MS: int(0, 86_400_000).default(3_600_000),
  /**
   * Aging (docs/fairness.md): a due job that has waited this long is taken as if its priority were one higher,
   * and one more for each further step, up to the best priority due (0: no aging).
   */
  JOB_AGING_STEP_MS: int(0, 86_400_000).default(10_000),
  /** Minimum time between two progress writes of one job. */
  JOB_PROGRESS_THROTTLE_MS: int(0, 60_000).default(250),
  /** Terminal jobs older than this are purged daily, with their steps and events. */
  JOB_RETENTION_DAYS: int(1, 36_500).default(30),
  /**
   * Per status and queue, overriding JOB_RETENTION_DAYS: `COMPLETED=1d,FAILED=90d,reports/COMPLETED=7d`
   * (src/core/retention-rules.ts). Empty: every finished job is kept JOB_RETENTION_DAYS.
   */
  JOB_RETENTION: z
    .string()
    .default('')
    .transform((text, context) => {
      try {
        return parseRetentionRules(text);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  /** Pause between two purge batches (1,000 jobs each), so the purge leaves the database to running work. */
  JOB_RETENTION_PAUSE_MS: int(0, 60_000).default(100),
  /** Largest accepted payload or metadata, in bytes of JSON. */
  JOB_PAYLOAD_MAX_BYTES: int(1, 10_000_000).default(256 * 1024),
  /** Most jobs one createJobs call may create. */
  CREATE_JOBS_MAX: int(1, 100_000).default(1000),
  /**
   * Most jobs one statement writes for concurrent one-statement creates
   * (jobs/create-coalescer.ts: group commit); 1 writes each create alone.
   */
  CREATE_COALESCE_MAX_JOBS: int(1, 100_000).default(CREATE_COALESCE_MAX_JOBS_DEFAULT),
  /** How often a worker process looks for due schedule ticks (jobs/schedules.ts). */
  SCHEDULE_POLL_INTERVAL_MS: int(50, 60_000).default(1000),
  /** A schedule tick found this much later than due counts as missed (its schedule's missedTickPolicy applies). */
  SCHEDULE_MISSED_AFTER_MS: int(0, 86_400_000).default(60_000),
  /** Most jobs one bulk cancel or retry (retryJobs, cancelJobs) acts on. */
  BULK_JOBS_MAX: int(1, 100_000).default(1000),
  /** Largest page (first or last) of any connection; a larger one is refused, naming this bound. */
  PAGE_SIZE_MAX: int(1, 10_000).default(100),
  /**
   * Deepest nesting of an input value (a JSON payload included), in variables or
   * in the query text; deeper input is refused before anything recurses into it.
   * At most 200: graphql-js parses a document recursively.
   */
  INPUT_MAX_DEPTH: int(2, 200).default(100),
  // Provider connections (src/connections). See docs/security.md.
  /**
   * Whose credentials jobs reach providers (YNAB, the Flex Web Service) with: `tenant` (each
   * tenant's own saved connection) or `server` (YNAB_ACCESS_TOKEN and IBKR_FLEX_* from the
   * environment, for the one tenant PROVIDER_CREDENTIALS_TENANT; other tenants have none).
   */
  PROVIDER_CREDENTIALS: z.enum(['tenant', 'server']).default('tenant'),
  /** PROVIDER_CREDENTIALS=server: the tenant the environment's credentials belong to (required with AUTH_ENABLED). */
  PROVIDER_CREDENTIALS_TENANT: z.string().min(1).optional(),
  /** AES-256-GCM key that seals saved provider connections: 32 random bytes in base64 (`openssl rand -base64 32`). */
  CONNECTIONS_ENCRYPTION_KEY: z.string().min(1).optional().superRefine(checkEncryptionKey),
  /** Comma-separated earlier keys (base64), accepted to open connections until `jobwire connections rotate` re-seals them. */
  CONNECTIONS_ENCRYPTION_KEYS: z
    .string()
    .default('')
    .transform(commaList)
    .superRefine((keys, ctx) => keys.forEach((key, index) => checkEncryptionKey(key, ctx, `key ${index + 1}`))),

  // Security (src/auth, src/net, graphql/limits.ts). See docs/security.md.
  /** Require a token (API key or JWT) on every request. Off: every caller is the local admin, on loopback only. */
  AUTH_ENABLED: bool.default(false),
  /** With AUTH_ENABLED off, allow HOST to be a non-loopback address anyway (anyone who reaches it is admin). */
  AUTH_DISABLED_ALLOW_NON_LOOPBACK: bool.default(false),
  /**
   * With AUTH_ENABLED off, Host names (or addresses) answered besides loopback ones, comma-separated,
   * without port: the names this machine is reached by when AUTH_DISABLED_ALLOW_NON_LOOPBACK is set.
   */
  AUTH_DISABLED_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform(commaList)
    .transform((entries, context) =>
      entries.map((entry) => {
        const name = allowedHostEntry(entry);
        if (name === null) context.addIssue({ code: 'custom', message: `"${entry}" is not a host name or address without a port (e.g. myhost.lan, 192.168.1.5)` });
        return name ?? entry;
      }),
    ),
  /** HS256 secret of JWTs (at least 32 characters); or use AUTH_JWKS_URL. */
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** JWKS URL of the identity provider whose JWTs are accepted (RS256/ES256...). */
  AUTH_JWKS_URL: z.string().url().optional(),
  /** Required `iss` of JWTs (required when JWTs are configured). */
  AUTH_JWT_ISSUER: z.string().min(1).optional(),
  /** Required `aud` of JWTs (required when JWTs are configured). */
  AUTH_JWT_AUDIENCE: z.string().min(1).optional(),
  /** JWT claim naming the principal. */
  AUTH_JWT_PRINCIPAL_CLAIM: z.string().min(1).default('sub'),
  /** JWT claim naming the tenant. */
  AUTH_JWT_TENANT_CLAIM: z.string().min(1).default('tenant'),
  /** JWT claim with the scopes (space-separated string or array). */
  AUTH_JWT_SCOPES_CLAIM: z.string().min(1).default('scope'),
  /** How long a verified API key is trusted before it is looked up again (a revocation takes effect within this). */
  AUTH_API_KEY_CACHE_MS: int(0, 600_000).default(5000),
  /** Comma-separated origins (e.g. https://app.example.com) that browsers may call the API from; empty: same origin only. */
  CORS_ALLOWED_ORIGINS: z.string().default('').transform(commaList),
  /** Comma-separated CIDRs or host names that outbound HTTP (webhooks, http-csv, Flex) may reach although private or loopback. */
  OUTBOUND_ALLOW_LIST: z.string().default('').transform(commaList),
  /** Redirects one outbound request follows (each one checked again). */
  OUTBOUND_MAX_REDIRECTS: int(0, 20).default(5),
  /** Largest answer body an outbound request reads; past it reading stops and the request fails naming this bound. */
  OUTBOUND_RESPONSE_MAX_BYTES: int(1024, 4 * 1024 * 1024 * 1024).default(DEFAULT_RESPONSE_MAX_BYTES),
  /** Time for one whole outbound request, its answer read included (callers may have shorter limits of their own). */
  OUTBOUND_TIMEOUT_MS: int(100, 86_400_000).default(DEFAULT_TIMEOUT_MS),
  /** Attempts of one webhook delivery before it is FAILED (docs/webhooks.md). */
  WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(8),
  /** Wait before a webhook delivery's second attempt; doubled for each further one, at most an hour. */
  WEBHOOK_RETRY_BASE_MS: int(1, 3_600_000).default(10_000),
  /** Time for one webhook attempt (connect, send, answer); a process killed mid-attempt leaves its delivery to another after it. */
  WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  /** How often a worker process looks for webhook deliveries that are due (new job events also wake it at once). */
  WEBHOOK_POLL_INTERVAL_MS: int(10, 600_000).default(1000),
  /** Delivered and failed webhook deliveries (and resolved operator alerts) older than this many days are deleted. */
  WEBHOOK_DELIVERY_RETENTION_DAYS: int(1, 3650).default(30),
  /** Operator alerts are POSTed here, signed like webhooks (unset: no alert rules run). */
  ALERT_WEBHOOK_URL: z.string().url().optional(),
  /** The secret that signs operator alerts: whsec_ and at least 24 random bytes in base64 (`echo whsec_$(openssl rand -base64 32)`). */
  ALERT_WEBHOOK_SECRET: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/, 'must be whsec_ followed by at least 24 random bytes in base64, e.g. `echo whsec_$(openssl rand -base64 32)`')
    .optional(),
  /** Alert when a queue has more than this many PENDING jobs (for ALERT_BACKLOG_MINUTES); unset: no backlog alerts. */
  ALERT_BACKLOG_THRESHOLD: int(0, 1_000_000_000).optional(),
  /** How long a backlog must last before its alert fires, in minutes (0: at the first evaluation that sees it). */
  ALERT_BACKLOG_MINUTES: int(0, 10_080).default(5),
  /** Alert when a worker's heartbeat is older than this (ms); unset: no stalled-worker alerts. */
  ALERT_WORKER_STALLED_AFTER_MS: int(1000, 86_400_000).optional(),
  /** Alert when more than this many jobs reached DEAD_LETTER in the last hour; unset: no dead-letter alerts. */
  ALERT_DEAD_LETTERS_PER_HOUR: int(0, 1_000_000_000).optional(),
  /** How often the alert rules are evaluated (by one process at a time). */
  ALERT_EVALUATE_INTERVAL_MS: int(100, 3_600_000).default(30_000),
  /** GraphQL introspection; default: on unless NODE_ENV=production. */
  GRAPHQL_INTROSPECTION: bool.optional(),
  /** GraphiQL at /graphql; default: on unless NODE_ENV=production. */
  GRAPHIQL_ENABLED: bool.optional(),
  /** Deepest selection a query may nest. */
  GRAPHQL_MAX_DEPTH: int(1, 1000).default(12),
  /** Most aliases in one document. */
  GRAPHQL_MAX_ALIASES: int(0, 10_000).default(30),
  /** Most tokens in one document (parsing stops at the limit). */
  GRAPHQL_MAX_TOKENS: int(10, 1_000_000).default(5000),
  /** Highest estimated cost of one operation (each field 1, its sub-selection times first/last or 10 for a list). */
  GRAPHQL_MAX_COST: int(1, 100_000_000).default(50_000),
  /** Largest JSON request body, in bytes (uploads have IMPORT_UPLOAD_MAX_BYTES). */
  REQUEST_JSON_MAX_BYTES: int(1, 100_000_000).default(1024 * 1024),
  /** Subscriptions one websocket may have open at once. */
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET: int(1, 100_000).default(100),
  /** Websockets one principal may have open at once; default: 50 with authentication, none without (see socketsPerPrincipalCap). */
  WS_MAX_SOCKETS_PER_PRINCIPAL: int(1, 100_000).optional(),
  /** Largest websocket message before connection_ack (the connection_init with its token), in bytes; after it, REQUEST_JSON_MAX_BYTES. */
  WS_INIT_MAX_BYTES: int(1024, 100_000_000).default(64 * 1024),
  /** Events that may wait for one jobEvents subscription's client; past it, the rest is read from the log as the client takes them. */
  WS_SUBSCRIPTION_QUEUE_MAX: int(1, 1_000_000).default(1000),
  /** How often the API keys and token expiries of open websockets are checked again (a revoked key's sockets close within this; `keys revoke` closes them at once). */
  WS_AUTH_RECHECK_INTERVAL_MS: int(100, 600_000).default(5000),
  /** Mutations one principal may run per minute (0: no limit). */
  MUTATION_RATE_LIMIT_PER_MINUTE: int(0, 10_000_000).default(6000),
});

/**
 * The core's settings: what every layer below the kinds may read. A kind reads
 * its own through KindConfig (src/kind-descriptor.ts); the service's whole
 * configuration, every built-in kind's settings included, is ServiceConfig
 * (src/service-config.ts).
 */
export type Config = z.infer<typeof coreConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** One schema per list of kinds . */
const schemas = new WeakMap<readonly KindSettings[], z.ZodType>();

function configSchema(kinds: readonly KindSettings[]): z.ZodType {
  let schema = schemas.get(kinds);
  if (!schema) {
    const shape: Record<string, z.ZodType> = {};
    for (const kind of kinds) {
      for (const [key, value] of Object.entries(kind.config)) {
        if (key in coreConfigSchema.shape || key in shape) throw new Error(`setting ${key} of kind "${kind.name}" is declared twice`);
        shape[key] = value as z.ZodType;
      }
    }
    schemas.set(kinds, (schema = coreConfigSchema.extend(shape)));
  }
  return schema;
}

/** The configuration from the environment, with the settings of `kinds` (src/service-config.ts passes every built-in one). */
export function parseConfig(env: NodeJS.ProcessEnv, kinds: readonly KindSettings[]): Config {
  const parsed = configSchema(kinds).safeParse(
    Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')),
  );
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const config = parsed.data as Config;
  const jwt = config.AUTH_JWT_SECRET || config.AUTH_JWKS_URL;
  const problems: string[] = [];
  if (config.AUTH_JWT_SECRET && config.AUTH_JWKS_URL) problems.push('AUTH_JWT_SECRET and AUTH_JWKS_URL: set one, not both');
  if (jwt && !config.AUTH_JWT_ISSUER) problems.push('AUTH_JWT_ISSUER: required when JWTs are configured');
  if (jwt && !config.AUTH_JWT_AUDIENCE) problems.push('AUTH_JWT_AUDIENCE: required when JWTs are configured');
  if (jwt && !config.AUTH_ENABLED) problems.push('AUTH_ENABLED: must be true when JWTs are configured');
  if (config.PROVIDER_CREDENTIALS === 'server') {
    // With authentication on there are tenants: the environment's credentials are one tenant's, named.
    if (config.AUTH_ENABLED && !config.PROVIDER_CREDENTIALS_TENANT) {
      problems.push('PROVIDER_CREDENTIALS_TENANT: required when PROVIDER_CREDENTIALS is server and AUTH_ENABLED is true (the one tenant whose jobs use the credentials of the environment)');
    }
  }
  if (config.ALERT_WEBHOOK_URL && !config.ALERT_WEBHOOK_SECRET) problems.push('ALERT_WEBHOOK_SECRET: required when ALERT_WEBHOOK_URL is set (alerts are signed with it)');
  if (!config.ALERT_WEBHOOK_URL && (config.ALERT_BACKLOG_THRESHOLD !== undefined || config.ALERT_WORKER_STALLED_AFTER_MS !== undefined || config.ALERT_DEAD_LETTERS_PER_HOUR !== undefined)) {
    problems.push('ALERT_WEBHOOK_URL: required when an alert rule (ALERT_BACKLOG_THRESHOLD, ALERT_WORKER_STALLED_AFTER_MS, ALERT_DEAD_LETTERS_PER_HOUR) is set (where the alerts go)');
  }
  // Each kind checks its own settings, its server-wide credentials among them (serverOnlySettingProblems, below).
  for (const kind of kinds) problems.push(...(kind.checkConfig?.(config) ?? []));
  problems.push(...serverOnlySettingProblems(config, ['PROVIDER_CREDENTIALS_TENANT']));
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return config;
}

// The settings of PROVIDER_CREDENTIALS=server (one tenant's credentials from the
// environment). Each kind names its own (YNAB_ACCESS_TOKEN, IBKR_FLEX_*) in its
// checkConfig; with per-tenant connections they are refused rather than ignored,
// as they served every tenant before connections existed.

/** A problem per named setting that is set while PROVIDER_CREDENTIALS is not server. */
export function serverOnlySettingProblems(config: { PROVIDER_CREDENTIALS: 'tenant' | 'server' }, names: readonly string[]): string[] {
  if (config.PROVIDER_CREDENTIALS === 'server') return [];
  const values = config as unknown as Record<string, unknown>;
  return names
    .filter((name) => values[name])
    .map(
      (name) =>
        `${name}: only used with PROVIDER_CREDENTIALS=server (one tenant's credentials from the environment); with per-tenant connections (PROVIDER_CREDENTIALS=tenant, the default) unset it and save each tenant's credentials (saveProviderConnection or \`jobwire connections set\`)`,
    );
}
