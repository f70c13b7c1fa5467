// The GraphQL surface of portfolio imports: PortfolioImportJob (a Job), its
// create mutation, queries for jobs and imported activity, and the
// portfolioImportEvents subscription (PortfolioImportJobSucceeded / Failed).
import { NEWEST_FIRST } from '../jobs/order.ts';
import { Repeater } from 'graphql-yoga';
import { visibleTenant } from '../auth/principal.ts';
import { builder } from '../graphql/builder.ts';
import { ErrorInterface } from '../graphql/errors.ts';
import { JobKind, JobStatus, PortfolioImportSource } from '../generated/prisma/enums.ts';
import { TenantQuotaExceededError, ValidationError } from '../core/errors.ts';
import type { JobEventRecord } from '../jobs/event-log.ts';
import { JobRef, parseJobId, registerJobKindType, withId } from '../graphql/jobs/schema.ts';
import { parseInput } from '../core/validation.ts';
import { PortfolioImportOverlapError } from './errors.ts';
import { ProviderConnectionMissingError } from '../connections/errors.ts';
import { parseInterval, type DateInterval } from './interval.ts';
import { PortfolioImportRepository } from './repository.ts';

const day = (value: Date) => value.toISOString().slice(0, 10);
import { createPortfolioImportJob } from './create.ts';
import { STATEMENT_MAX_BYTES } from './kind.ts';
import { z } from 'zod';
import { createdResultOptions, idempotencyInputFields, markCreated } from '../graphql/flow/schema-inputs.ts';

registerJobKindType(JobKind.PORTFOLIO_IMPORT, 'PortfolioImportJob');

const SourceEnum = builder.enumType(PortfolioImportSource, {
  name: 'PortfolioImportSource',
  description: 'Where a portfolio import takes its activity from.',
});

const DateIntervalRef = builder.objectRef<DateInterval>('DateInterval').implement({
  description: 'Calendar days from `start` to `end`, both inclusive (stored as the daterange [start, end + 1)).',
  fields: (t) => ({ start: t.exposeString('start'), end: t.exposeString('end') }),
});

const DateIntervalInput = builder.inputType('DateIntervalInput', {
  description: 'Calendar days from `start` to `end`, both inclusive, as YYYY-MM-DD.',
  fields: (t) => ({ start: t.string({ required: true }), end: t.string({ required: true }) }),
});

const portfolioId = z.uuid('must be a portfolio id (UUID)');
const parsePortfolioId = (value: string, field = 'portfolioId') => parseInput(portfolioId, value, [field]).toLowerCase();

// The kind row's columns without the statement (it can be large).
const kindRow = {
  select: {
    portfolioImportJob: {
      select: {
        portfolioId: true,
        accountId: true,
        source: true,
        intervalStart: true,
        intervalEnd: true,
        tradeCount: true,
        cashTransactionCount: true,
        positionCount: true,
      },
    },
  },
} as const;

export const PortfolioImportJobRef = builder.prismaNode('Job', {
  // node/nodes answer null for a missing id (or another tenant's), not an error.
  nullable: true,
  variant: 'PortfolioImportJob',
  description: "Imports a portfolio's broker activity for a date interval (createPortfolioImportJob).",
  interfaces: [JobRef],
  id: { field: 'id' },
  fields: (t) => ({
    portfolioId: t.id({ ...kindRow, resolve: (job) => job.portfolioImportJob!.portfolioId }),
    accountId: t.string({ ...kindRow, description: 'The broker account the statement must belong to.', resolve: (job) => job.portfolioImportJob!.accountId }),
    source: t.field({ ...kindRow, type: SourceEnum, resolve: (job) => job.portfolioImportJob!.source }),
    interval: t.field({
      ...kindRow,
      type: DateIntervalRef,
      resolve: (job) => ({ start: day(job.portfolioImportJob!.intervalStart!), end: day(job.portfolioImportJob!.intervalEnd!) }),
    }),
    tradeCount: t.int({ ...kindRow, description: 'Trades this import stored (not already present).', resolve: (job) => job.portfolioImportJob!.tradeCount }),
    cashTransactionCount: t.int({ ...kindRow, resolve: (job) => job.portfolioImportJob!.cashTransactionCount }),
    positionCount: t.int({ ...kindRow, resolve: (job) => job.portfolioImportJob!.positionCount }),
  }),
});


builder.prismaObject('PortfolioTrade', {
  fields: (t) => ({
    id: t.exposeID('id'),
    portfolioId: t.exposeID('portfolioId'),
    accountId: t.exposeString('accountId'),
    tradeId: t.exposeString('tradeId', { description: "The broker's trade id (unique per portfolio and account)." }),
    importJobId: t.exposeID('importJobId', { nullable: true }),
    tradeDate: t.string({ resolve: (row) => day(row.tradeDate) }),
    symbol: t.exposeString('symbol'),
    conid: t.exposeString('conid', { nullable: true }),
    assetCategory: t.exposeString('assetCategory', { nullable: true }),
    currency: t.exposeString('currency'),
    buySell: t.exposeString('buySell', { nullable: true }),
    quantity: t.string({ resolve: (row) => row.quantity.toString() }),
    tradePrice: t.string({ resolve: (row) => row.tradePrice.toString() }),
    proceeds: t.string({ nullable: true, resolve: (row) => row.proceeds?.toString() ?? null }),
    commission: t.string({ nullable: true, resolve: (row) => row.commission?.toString() ?? null }),
  }),
});

builder.prismaObject('PortfolioCashTransaction', {
  fields: (t) => ({
    id: t.exposeID('id'),
    portfolioId: t.exposeID('portfolioId'),
    accountId: t.exposeString('accountId'),
    transactionId: t.exposeString('transactionId', { description: "The broker's transaction id (unique per portfolio and account)." }),
    importJobId: t.exposeID('importJobId', { nullable: true }),
    date: t.string({ resolve: (row) => day(row.date) }),
    type: t.exposeString('type'),
    description: t.exposeString('description', { nullable: true }),
    symbol: t.exposeString('symbol', { nullable: true }),
    currency: t.exposeString('currency'),
    amount: t.string({ resolve: (row) => row.amount.toString() }),
  }),
});

builder.prismaObject('PortfolioPosition', {
  description: 'An open position on a report date (unique per portfolio, account, report date and contract).',
  fields: (t) => ({
    id: t.exposeID('id'),
    portfolioId: t.exposeID('portfolioId'),
    accountId: t.exposeString('accountId'),
    reportDate: t.string({ resolve: (row) => day(row.reportDate) }),
    conid: t.exposeString('conid'),
    importJobId: t.exposeID('importJobId', { nullable: true }),
    symbol: t.exposeString('symbol'),
    assetCategory: t.exposeString('assetCategory', { nullable: true }),
    currency: t.exposeString('currency'),
    quantity: t.string({ resolve: (row) => row.quantity.toString() }),
    markPrice: t.string({ nullable: true, resolve: (row) => row.markPrice?.toString() ?? null }),
    positionValue: t.string({ nullable: true, resolve: (row) => row.positionValue?.toString() ?? null }),
    costBasis: t.string({ nullable: true, resolve: (row) => row.costBasis?.toString() ?? null }),
  }),
});

builder.objectType(PortfolioImportOverlapError, {
  name: 'PortfolioImportOverlapError',
  description: 'Another active import of the portfolio (not FAILED, DEAD_LETTER or CANCELLED) overlaps the interval.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof PortfolioImportOverlapError,
  fields: (t) => ({
    portfolioId: t.exposeID('portfolioId'),
    existingJobId: t.exposeID('existingJobId'),
    existingInterval: t.field({ type: DateIntervalRef, resolve: (error) => error.existingInterval }),
  }),
});

// ---------------------------------------------------------------------------
// Queries

const portfolioImportWhere = (id: string) => ({ kind: JobKind.PORTFOLIO_IMPORT, portfolioImportJob: { portfolioId: id } });

builder.queryFields((t) => ({
  portfolioImportJob: t.prismaField({
    type: PortfolioImportJobRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.job.findFirst({ ...withId(query), where: { id: parseJobId(String(args.id)), kind: JobKind.PORTFOLIO_IMPORT } }),
  }),
  portfolioImportJobs: t.prismaConnection({
    type: PortfolioImportJobRef,
    cursor: 'id',
    description: 'Imports of a portfolio, newest first.',
    args: { portfolioId: t.arg.id({ required: true }) },
    totalCount: (_parent, args, ctx) => ctx.prisma.job.count({ where: portfolioImportWhere(parsePortfolioId(String(args.portfolioId))) }),
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.job.findMany({
        ...query,
        where: portfolioImportWhere(parsePortfolioId(String(args.portfolioId))),
        orderBy: NEWEST_FIRST,
      }),
  }),
  portfolioImportExists: t.boolean({
    description: 'exists_for_interval: whether an active import of the portfolio overlaps the interval.',
    args: { portfolioId: t.arg.id({ required: true }), interval: t.arg({ type: DateIntervalInput, required: true }) },
    resolve: (_root, args, ctx) =>
      new PortfolioImportRepository(ctx.pool).existsForInterval(
        visibleTenant(ctx.caller),
        parsePortfolioId(String(args.portfolioId)),
        parseInterval(args.interval),
      ),
  }),
  portfolioTrades: t.prismaConnection({
    type: 'PortfolioTrade',
    cursor: 'id',
    description: 'Imported trades of a portfolio, newest trade date first.',
    args: { portfolioId: t.arg.id({ required: true }) },
    totalCount: (_parent, args, ctx) => ctx.prisma.portfolioTrade.count({ where: { portfolioId: parsePortfolioId(String(args.portfolioId)) } }),
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.portfolioTrade.findMany({
        ...query,
        where: { portfolioId: parsePortfolioId(String(args.portfolioId)) },
        orderBy: [{ tradeDate: 'desc' }, { id: 'desc' }],
      }),
  }),
  portfolioCashTransactions: t.prismaConnection({
    type: 'PortfolioCashTransaction',
    cursor: 'id',
    description: 'Imported cash transactions of a portfolio, newest first.',
    args: { portfolioId: t.arg.id({ required: true }) },
    totalCount: (_parent, args, ctx) =>
      ctx.prisma.portfolioCashTransaction.count({ where: { portfolioId: parsePortfolioId(String(args.portfolioId)) } }),
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.portfolioCashTransaction.findMany({
        ...query,
        where: { portfolioId: parsePortfolioId(String(args.portfolioId)) },
        orderBy: [{ date: 'desc' }, { id: 'desc' }],
      }),
  }),
  portfolioPositions: t.prismaConnection({
    type: 'PortfolioPosition',
    cursor: 'id',
    description: 'Imported open positions of a portfolio, newest report date first.',
    args: { portfolioId: t.arg.id({ required: true }) },
    totalCount: (_parent, args, ctx) => ctx.prisma.portfolioPosition.count({ where: { portfolioId: parsePortfolioId(String(args.portfolioId)) } }),
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.portfolioPosition.findMany({
        ...query,
        where: { portfolioId: parsePortfolioId(String(args.portfolioId)) },
        orderBy: [{ reportDate: 'desc' }, { id: 'desc' }],
      }),
  }),
}));

// ---------------------------------------------------------------------------
// Mutations

const CreatePortfolioImportJobInput = builder.inputType('CreatePortfolioImportJobInput', {
  fields: (t) => ({
    portfolioId: t.id({ required: true }),
    accountId: t.string({ required: true, description: 'The broker account; a statement of another account is refused.' }),
    interval: t.field({ type: DateIntervalInput, required: true }),
    source: t.field({ type: SourceEnum, required: true }),
    statement: t.field({
      type: 'File',
      required: false,
      description: `The statement (IBKR: Flex Query XML), at most ${STATEMENT_MAX_BYTES} bytes. Without it the job fetches one from the source.`,
    }),
    priority: t.int({ required: false }),
    maxRetries: t.int({ required: false }),
    ...idempotencyInputFields(t),
  }),
});

builder.mutationFields((t) => ({
  createPortfolioImportJob: t.prismaField({
    type: PortfolioImportJobRef,
    description:
      "Creates a portfolio import; refused when an active import of the portfolio overlaps the interval, or when no statement is uploaded and the caller's tenant has no IBKR_FLEX connection.",
    errors: { types: [ValidationError, PortfolioImportOverlapError, ProviderConnectionMissingError, TenantQuotaExceededError], directResult: false, result: createdResultOptions },
    args: { input: t.arg({ type: CreatePortfolioImportJobInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const { statement: file, ...input } = args.input;
      if (file && file.size > STATEMENT_MAX_BYTES) {
        throw new ValidationError('statement', `must be at most ${STATEMENT_MAX_BYTES} bytes (got ${file.size})`);
      }
      const answer = await createPortfolioImportJob(ctx, ctx.caller, {
        ...input,
        portfolioId: String(input.portfolioId),
        statement: file ? await file.text() : null,
      });
      return markCreated(await ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id: answer.id } }), answer);
    },
  }),
}));

// ---------------------------------------------------------------------------
// Subscriptions: the seed's domain events, derived from the job event log.

interface PortfolioImportEvent {
  name: 'PortfolioImportJobSucceeded' | 'PortfolioImportJobFailed';
  jobId: string;
  portfolioId: string;
  error: string | null;
  /** Seed 000's `error: dict`: the job's structured error (Job.error). */
  jobError: Record<string, unknown> | null;
  timestamp: Date;
}

const PortfolioImportEventInterface = builder.interfaceRef<PortfolioImportEvent>('PortfolioImportEvent').implement({
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    portfolioId: t.exposeID('portfolioId'),
    timestamp: t.expose('timestamp', { type: 'DateTime' }),
  }),
});

builder.objectRef<PortfolioImportEvent>('PortfolioImportJobSucceeded').implement({
  description: 'A portfolio import completed.',
  interfaces: [PortfolioImportEventInterface],
  isTypeOf: (event) => (event as PortfolioImportEvent).name === 'PortfolioImportJobSucceeded',
  fields: () => ({}),
});

builder.objectRef<PortfolioImportEvent>('PortfolioImportJobFailed').implement({
  description: 'A portfolio import failed for good (FAILED, or DEAD_LETTER once its retries ran out).',
  interfaces: [PortfolioImportEventInterface],
  isTypeOf: (event) => (event as PortfolioImportEvent).name === 'PortfolioImportJobFailed',
  fields: (t) => ({
    error: t.string({
      deprecationReason: 'Use errorMessage (the same text); the structured error is jobError.',
      resolve: (event) => event.error ?? 'unknown error',
    }),
    errorMessage: t.string({ description: "Why the import failed (the job's errorMessage).", resolve: (event) => event.error ?? 'unknown error' }),
    jobError: t.field({
      type: 'JSONObject',
      description: "Seed 000's `error: dict`: the job's error as Job.error gives it, { name, message, data? }.",
      resolve: (event) => event.jobError ?? { name: 'Error', message: event.error ?? 'unknown error' },
    }),
  }),
});

const TERMINAL = [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.DEAD_LETTER];

builder.subscriptionFields((t) => ({
  portfolioImportEvents: t.field({
    type: PortfolioImportEventInterface,
    description: 'PortfolioImportJobSucceeded and PortfolioImportJobFailed of a portfolio, live.',
    args: { portfolioId: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => {
      const wanted = parsePortfolioId(String(args.portfolioId));
      return new Repeater<PortfolioImportEvent>(async (push, stop) => {
        // Events are delivered in log order; the look-ups are chained to keep it.
        let chain = Promise.resolve();
        const onEvent = (event: JobEventRecord) => {
          if (event.stepId !== null) return;
          chain = chain.then(async () => {
            const job = await new PortfolioImportRepository(ctx.pool).findById(event.jobId);
            if (!job || job.portfolioId !== wanted) return;
            const failed = event.status !== JobStatus.COMPLETED;
            // The error the failure wrote; null if the job was retried since (the message then stands alone).
            const jobError = failed
              ? ((await ctx.pool.query<{ error: Record<string, unknown> | null }>('select error from job where id = $1', [event.jobId])).rows[0]?.error ?? null)
              : null;
            await push({
              name: event.status === JobStatus.COMPLETED ? 'PortfolioImportJobSucceeded' : 'PortfolioImportJobFailed',
              jobId: event.jobId,
              portfolioId: job.portfolioId,
              error: failed ? event.message : null,
              jobError,
              timestamp: event.createdAt,
            });
          });
        };
        const unsubscribe = ctx.live.subscribeEvents({ tenantId: visibleTenant(ctx.caller), kinds: [JobKind.PORTFOLIO_IMPORT], statuses: TERMINAL }, null, onEvent, (error) =>
          stop(error instanceof Error ? error : new Error(String(error))),
        );
        await stop;
        unsubscribe();
      });
    },
    resolve: (event: PortfolioImportEvent) => event,
  }),
}));
