// `jobwire jobs ...`: list, show, cancel, retry (one job, or every job matching
// a filter) and watch jobs, working on the database directly with the same
// service functions as the API (job-state/cancel.ts, job-state/retry.ts).
// An operator tool: it needs the database's credentials (DATABASE_URL) and acts
// as an admin, across tenants (--tenant narrows to some); no API key is involved.
// Apps and tenants use the GraphQL API, with their key's scopes and tenant.
import os from 'node:os';
import { createInterface } from 'node:readline/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type pg from 'pg';
import { embeddedConnectionString } from '../db/embedded.ts';
import { createPool } from '../db/pool.ts';
import { createPrisma, type PrismaClient } from '../db/prisma.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { JobKind } from '../generated/prisma/enums.ts';
import { BULK_ACTION_STATUSES, bulkJobAction, countBulkTargets, type JobSelection } from '../jobs/bulk.ts';
import { checkSearchFields, needsSqlSearch, searchJobIds, type JobSearch } from '../jobs/search.ts';
import { cancelJob } from '../job-state/cancel.ts';
import { DEFAULT_TENANT, type Principal } from '../auth/principal.ts';
import { JobwireError } from '../core/errors.ts';
import { retryJob } from '../job-state/retry.ts';
import { JobStatus } from '../job-state/statuses.ts';
import { createLogger } from '../logger.ts';
import { addSettingFlags, configFromFlags } from './config.ts';
import { CliError } from './errors.ts';
import { formatTable, toJson } from './format.ts';
import { watchJob } from './watch.ts';
import { isUuid } from '../core/validation.ts';

interface Database {
  pool: pg.Pool;
  /** The most jobs one bulk cancel or retry acts on (BULK_JOBS_MAX). */
  bulkMax: number;
  prisma: PrismaClient;
  close(): Promise<void>;
}

/** DATABASE_URL (or --database-url); unset: the embedded Postgres a running `jobwire start` keeps. */
async function openDatabase(options: { databaseUrl?: string }): Promise<Database> {
  const config = configFromFlags(options);
  const url = config.DATABASE_URL ?? embeddedConnectionString(config.DATA_DIR, config.EMBEDDED_POSTGRES_PORT, 'jobwire');
  const pool = createPool(url, 4, createLogger('silent'));
  try {
    await pool.query('select 1 from job limit 1');
  } catch (error) {
    await pool.end();
    const where = config.DATABASE_URL ? 'DATABASE_URL' : `the embedded Postgres on port ${config.EMBEDDED_POSTGRES_PORT} (is \`jobwire start\` running? or pass --database-url)`;
    throw new CliError(`cannot read jobs from ${where}: ${(error as Error).message}`);
  }
  const prisma = createPrisma(pool);
  return {
    pool,
    bulkMax: config.BULK_JOBS_MAX,
    prisma,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/** Who the CLI acts as: an admin (every tenant), recorded in job histories as cli:<user>. */
const operator = (): Principal => ({
  principalId: `cli:${os.userInfo().username}`,
  tenantId: DEFAULT_TENANT,
  scopes: new Set(['admin', 'jobs:read', 'jobs:write']),
  expiresAt: null,
});

function collect(parse: (value: string) => string) {
  return (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((part) => parse(part.trim()))];
}

function enumValue<T extends string>(name: string, values: readonly T[]) {
  return (value: string): T => {
    const upper = value.toUpperCase().replaceAll('-', '_') as T;
    if (!values.includes(upper)) throw new InvalidArgumentError(`unknown ${name} "${value}"; one of ${values.join(', ')}`);
    return upper;
  };
}

/** An ISO date, or a duration back from now: 90s, 30m, 2h, 7d. */
export function parseSince(value: string): Date {
  const relative = /^(\d+)\s*(s|m|h|d)$/.exec(value.trim());
  if (relative) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(Date.now() - Number(relative[1]) * unit);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError(`"${value}" is neither a date (2026-01-31, 2026-01-31T12:00:00Z) nor a duration (90s, 30m, 2h, 7d)`);
  return date;
}

function positiveInt(max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`must be a whole number from 1 to ${max}`);
    return n;
  };
}

interface FilterOptions {
  status?: JobStatus[];
  queue?: string[];
  jobType?: string[];
  kind?: JobKind[];
  since?: Date;
  tenant?: string[];
  createdBy?: string[];
  tag?: string[];
  metadata?: Record<string, unknown>;
  payload?: Record<string, unknown>;
  error?: string;
}

/** A JSON object flag (--metadata, --payload). */
function jsonObjectFlag(name: string) {
  return (value: string): Record<string, unknown> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new InvalidArgumentError(`${name} must be a JSON object, e.g. '{"customer":"acme"}'; got ${value}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError(`${name} must be a JSON object, e.g. '{"customer":"acme"}'; got ${value}`);
    return parsed as Record<string, unknown>;
  };
}

/** The search of the filter flags (src/jobs/search.ts), its search fields checked as the API checks them. */
function searchOf(filter: FilterOptions, statuses?: readonly JobStatus[]): JobSearch {
  const checked = checkSearchFields({ tags: filter.tag, metadataContains: filter.metadata, payloadContains: filter.payload, errorContains: filter.error }, []);
  return {
    statuses: statuses ?? null,
    queueNames: filter.queue,
    jobTypes: filter.jobType,
    kinds: filter.kind,
    createdAfter: filter.since,
    tenantIds: filter.tenant,
    createdBy: filter.createdBy,
    ...checked,
  };
}

function addFilterOptions(command: Command): Command {
  return command
    .addOption(new Option('--status <status>', `only jobs in this status (repeat or comma-separate: ${Object.values(JobStatus).join(', ')})`).argParser(collect(enumValue('status', Object.values(JobStatus)))))
    .addOption(new Option('--queue <name>', 'only jobs of this queue (repeatable)').argParser(collect((value) => value)))
    .addOption(new Option('--job-type <type>', 'only jobs of this job type (repeatable)').argParser(collect((value) => value)))
    .addOption(new Option('--kind <kind>', `only jobs of this kind (${Object.values(JobKind).join(', ')})`).argParser(collect(enumValue('kind', Object.values(JobKind)))))
    .addOption(new Option('--since <when>', 'only jobs created since: a date, or a duration back from now (30m, 2h, 7d)').argParser(parseSince))
    .addOption(new Option('--tenant <tenant>', 'only jobs of this tenant (repeatable; default: every tenant)').argParser(collect((value) => value)))
    .addOption(new Option('--created-by <principal>', 'only jobs created by this principal, as `jobs show` gives it (repeatable)').argParser(collect((value) => value)))
    .addOption(new Option('--tag <tag>', 'only jobs with this tag (repeat or comma-separate: jobs with every one)').argParser(collect((value) => value)))
    .addOption(new Option('--metadata <json>', 'only jobs whose metadata contains this JSON object').argParser(jsonObjectFlag('--metadata')))
    .addOption(new Option('--payload <json>', 'only jobs whose payload contains this JSON object').argParser(jsonObjectFlag('--payload')))
    .addOption(new Option('--error <text>', 'only jobs whose error message contains this text (any case, 3-200 characters)'));
}

function whereOf(filter: FilterOptions, statuses?: readonly JobStatus[]): Prisma.JobWhereInput {
  return {
    ...(statuses ? { status: { in: [...statuses] } } : {}),
    ...(filter.queue ? { queueName: { in: filter.queue } } : {}),
    ...(filter.jobType ? { jobType: { in: filter.jobType } } : {}),
    ...(filter.kind ? { kind: { in: filter.kind } } : {}),
    ...(filter.since ? { createdAt: { gte: filter.since } } : {}),
    ...(filter.tenant ? { tenantId: { in: filter.tenant } } : {}),
    ...(filter.createdBy ? { createdBy: { in: filter.createdBy } } : {}),
    ...(filter.tag ? { tags: { hasEvery: filter.tag } } : {}),
  };
}

function describeFilter(filter: FilterOptions): string {
  const parts = [
    filter.status && `status ${filter.status.join('|')}`,
    filter.queue && `queue ${filter.queue.join('|')}`,
    filter.jobType && `job type ${filter.jobType.join('|')}`,
    filter.kind && `kind ${filter.kind.join('|')}`,
    filter.since && `created since ${filter.since.toISOString()}`,
    filter.tenant && `tenant ${filter.tenant.join('|')}`,
    filter.createdBy && `created by ${filter.createdBy.join('|')}`,
    filter.tag && `tags ${filter.tag.join('+')}`,
    filter.metadata && `metadata ⊇ ${JSON.stringify(filter.metadata)}`,
    filter.payload && `payload ⊇ ${JSON.stringify(filter.payload)}`,
    filter.error && `error contains ${JSON.stringify(filter.error)}`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'no filter';
}

/** Runs an action with the database open, turning expected failures into a message and exit status 1. */
function withDatabase<A extends unknown[]>(action: (db: Database, ...args: A) => Promise<void>) {
  return async (...args: A) => {
    const options = args.at(-2) as { databaseUrl?: string };
    let db: Database | undefined;
    try {
      db = await openDatabase(options);
      await action(db, ...args);
    } catch (error) {
      // Expected failures in one line; anything else with its stack (a bug to report).
      console.error(error instanceof CliError || error instanceof JobwireError ? `error: ${error.message}` : error);
      process.exitCode = 1;
    } finally {
      await db?.close();
    }
  };
}

const JOB_COLUMNS = {
  id: true,
  tenantId: true,
  kind: true,
  queueName: true,
  jobType: true,
  status: true,
  progress: true,
  retryCount: true,
  maxRetries: true,
  createdAt: true,
  errorMessage: true,
  createdBy: true,
} as const;

export function addJobsCommands(program: Command) {
  const jobs = program
    .command('jobs')
    .description('list, inspect, cancel, retry and watch jobs of every tenant (works on the database directly, as an admin)');

  const list = jobs.command('list').description('list jobs, newest first');
  addFilterOptions(list)
    .addOption(new Option('--limit <n>', 'most jobs to list').default(50).argParser(positiveInt(10_000)))
    .option('--json', 'print JSON, one array');
  addSettingFlags(list, ['databaseUrl']).action(
    withDatabase(async (db, options: FilterOptions & { limit: number; json?: boolean }) => {
      const search = searchOf(options, options.status);
      // Containment and error text need SQL (src/jobs/search.ts), as the API's jobs(filter) does.
      const where = needsSqlSearch(search) ? { id: { in: await searchJobIds(db.pool, null, search, { take: options.limit }) } } : whereOf(options, options.status);
      const rows = await db.prisma.job.findMany({
        where,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: options.limit,
        select: { ...JOB_COLUMNS, tags: true },
      });
      if (options.json) {
        console.log(toJson(rows));
        return;
      }
      if (rows.length === 0) {
        console.log(`no jobs (${describeFilter(options)})`);
        return;
      }
      console.log(
        formatTable(
          ['ID', 'STATUS', 'KIND', 'QUEUE', 'JOB TYPE', 'PROGRESS', 'ATTEMPT', 'CREATED', 'TENANT', 'TAGS'],
          rows.map((job) => [
            job.id,
            job.status,
            job.kind,
            job.queueName,
            job.jobType,
            `${Math.round(job.progress)}%`,
            `${job.retryCount + 1}/${job.maxRetries + 1}`,
            job.createdAt.toISOString(),
            job.tenantId,
            job.tags.join(','),
          ]),
        ),
      );
      if (rows.length === options.limit) console.log(`(first ${options.limit}; --limit shows more)`);
    }),
  );

  const show = jobs.command('show').description("a job's fields, steps and history").argument('<id>', 'job id');
  addSettingFlags(show.option('--json', 'print JSON'), ['databaseUrl']).action(
    withDatabase(async (db, id: string, options: { json?: boolean }) => {
      const job = await db.prisma.job.findUnique({
        where: { id: checkId(id) },
        include: { steps: { orderBy: { position: 'asc' } }, events: { orderBy: { id: 'asc' } } },
      });
      if (!job) throw new CliError(`no job with id ${id}`);
      if (options.json) {
        console.log(toJson(job));
        return;
      }
      const fields: Array<[string, unknown]> = [
        ['id', job.id],
        ['tenant', job.tenantId],
        ['status', job.status],
        ['kind', job.kind],
        ['queue', job.queueName],
        ['job type', job.jobType],
        ['progress', `${Math.round(job.progress)}%${job.progressMessage ? ` ${job.progressMessage}` : ''}`],
        ['attempt', `${job.retryCount + 1} of ${job.maxRetries + 1}`],
        ['priority', job.priority],
        ['created', job.createdAt.toISOString()],
        ['scheduled', job.scheduledAt?.toISOString()],
        ['started', job.startedAt?.toISOString()],
        ['completed', job.completedAt?.toISOString()],
        ['failed', job.failedAt?.toISOString()],
        ['cancel requested', job.cancelRequestedAt?.toISOString()],
        ['cancelled', job.cancelledAt?.toISOString()],
        ['created by', job.createdBy],
        ['error', job.errorMessage],
        ['payload', JSON.stringify(job.payload)],
        ['result', job.result === null ? undefined : JSON.stringify(job.result)],
      ];
      console.log(formatTable([], fields.filter(([, value]) => value !== undefined && value !== null).map(([name, value]) => [`${name}:`, String(value)])));
      if (job.steps.length) {
        console.log('\nsteps:');
        console.log(formatTable(['#', 'NAME', 'STATUS', 'ERROR'], job.steps.map((step) => [String(step.position), step.name, step.status, step.errorMessage ?? ''])));
      }
      const stepNames = new Map(job.steps.map((step) => [step.id, step.name]));
      console.log('\nhistory:');
      console.log(
        formatTable(
          ['TIME', 'CHANGE', 'STEP', 'MESSAGE'],
          job.events.map((event) => [
            event.createdAt.toISOString(),
            `${event.previousStatus ?? '(created)'} → ${event.status}`,
            event.stepId ? (stepNames.get(event.stepId) ?? event.stepId) : '',
            event.message ?? '',
          ]),
        ),
      );
    }),
  );

  addBulkCommand(jobs, 'cancel', {
    description: 'cancel a job, or every job matching a filter (queued ones at once; running ones are asked to stop)',
    apply: async (db, id) => {
      const outcome = await cancelJob(db.pool, operator(), id);
      return { cancelled: 'cancelled', cancel_requested: 'cancel requested (it stops when its worker sees it)', already_cancelled: 'already cancelled' }[outcome];
    },
  });
  addBulkCommand(jobs, 'retry', {
    description: 'queue again a FAILED, DEAD_LETTER or CANCELLED job, or every such job matching a filter',
    apply: async (db, id) => {
      // A job that has not ended throws JobStillActiveError: printed as `error: ...`, exit status 1.
      await retryJob(db.pool, operator(), id);
      return 'queued again';
    },
  });

  const watch = jobs.command('watch').description('follow a job live (a progress bar) until it finishes; exit status 0 if it COMPLETED').argument('<id>', 'job id');
  addSettingFlags(watch, ['databaseUrl']).action(
    withDatabase(async (db, id: string, options: { databaseUrl?: string }) => {
      const config = configFromFlags(options);
      const status = await watchJob(db.prisma, config.DATABASE_URL ?? embeddedConnectionString(config.DATA_DIR, config.EMBEDDED_POSTGRES_PORT, 'jobwire'), checkId(id));
      if (status !== JobStatus.COMPLETED) process.exitCode = 1;
    }),
  );
}

function checkId(id: string): string {
  if (!isUuid(id)) throw new CliError(`"${id}" is not a job id (a UUID)`);
  return id;
}

interface SingleAction {
  description: string;
  /** Applies the action to one job; returns what happened, in words. */
  apply(db: Database, id: string): Promise<string>;
}

function selectionOf(filter: FilterOptions): JobSelection {
  const search = searchOf(filter);
  return { statuses: filter.status, queueNames: filter.queue, jobTypes: filter.jobType, kinds: filter.kind, createdAfter: filter.since, tenantIds: filter.tenant, createdBy: filter.createdBy, tags: search.tags, metadataContains: search.metadataContains, payloadContains: search.payloadContains, errorContains: search.errorContains };
}

/** `jobs cancel|retry [id]`: one job, or (jobs/bulk.ts, as the API's cancelJobs/retryJobs) every job a filter selects. */
function addBulkCommand(jobs: Command, name: 'cancel' | 'retry', single: SingleAction) {
  const statuses = BULK_ACTION_STATUSES[name];
  const done = name === 'cancel' ? 'cancelled' : 'queued again';
  const command = jobs
    .command(name)
    .description(single.description)
    .argument('[id]', 'job id; without it, every job matching the filter flags')
    .addHelpText(
      'after',
      `\nWith filter flags and no id: ${name}s every ${statuses.join(', ')} job that matches (at least one filter flag is required; at most BULK_JOBS_MAX, oldest first), after a confirmation (or --yes), and prints how many.`,
    );
  addFilterOptions(command).option('-y, --yes', 'do not ask for confirmation');
  addSettingFlags(command, ['databaseUrl']).action(
    withDatabase(async (db, id: string | undefined, options: FilterOptions & { yes?: boolean }) => {
      const filtered = Boolean(options.status || options.queue || options.jobType || options.kind || options.since || options.tenant || options.createdBy || options.tag || options.metadata || options.payload || options.error);
      if (id) {
        if (filtered) throw new CliError('give a job id or filter flags, not both');
        console.log(`job ${id}: ${await single.apply(db, checkId(id))}`);
        return;
      }
      if (!filtered) throw new CliError(`give a job id, or filter flags (--status, --queue, --job-type, --kind, --since, --tenant, --created-by, --tag, --metadata, --payload, --error) to ${name} many jobs`);
      const selection = selectionOf(options);
      const what = `${describeFilter(options)}${options.status ? '' : `, status ${statuses.join('|')}`}`;
      const { count, moreThanMax } = await countBulkTargets(db.pool, operator(), name, selection, db.bulkMax);
      if (count === 0) {
        console.log(`no jobs to ${name} (${what})`);
        return;
      }
      const matching = moreThanMax ? `more than ${db.bulkMax} jobs match; the oldest ${db.bulkMax}` : `${count} job(s)`;
      if (!options.yes && !(await confirm(`${name} ${matching} (${what})? [y/N] `))) {
        throw new CliError(`${matching} match (${what}); nothing done${process.stdin.isTTY ? '' : ' (pass --yes to confirm without a terminal)'}`);
      }
      const outcome = await bulkJobAction(db.pool, operator(), name, selection, { max: db.bulkMax });
      const skipped = outcome.skipped.length ? `, ${outcome.skipped.length} unchanged (${[...new Set(outcome.skipped.map((skip) => skip.message))].join('; ')})` : '';
      console.log(`${done}: ${outcome.affectedJobIds.length} job(s)${skipped}${outcome.moreMatching ? `; more jobs match: run it again` : ''}`);
    }),
  );
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const readline = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await readline.question(question)).trim());
  } finally {
    readline.close();
  }
}
