// The GraphQL surface of CollectionJob: the type (a Job with symbols, range,
// provider, stats and failed symbols), its queries and mutations, and candles.
import { visibleTenant } from '../auth/principal.ts';
import { tenantCondition } from '../auth/tenant-scope.ts';
import { NEWEST_FIRST } from '../jobs/order.ts';
import { builder } from '../graphql/builder.ts';
import { renamedTo } from '../graphql/renamed.ts';
import { kindConfig } from '../kind-descriptor.ts';
import { collectionConfig } from './config.ts';
import { JobKind, JobStatus } from '../generated/prisma/enums.ts';
import { InvalidTransitionError, JobNotFoundError, TenantQuotaExceededError, ValidationError } from '../core/errors.ts';
import { JobRef, parseJobId, registerJobKindType, withId } from '../graphql/jobs/schema.ts';
import { JobStatusEnum } from '../graphql/jobs/schema-enums.ts';
import { TERMINAL_STATUSES } from '../job-state/statuses.ts';
import { createCollectionJob } from './create.ts';
import type { CollectionStats } from './kind.ts';
import { createdResultOptions, idempotencyInputFields, markCreated } from '../graphql/flow/schema-inputs.ts';

registerJobKindType(JobKind.COLLECTION, 'CollectionJob');

const CollectionStatsRef = builder.objectRef<CollectionStats>('CollectionStats').implement({
  description: "Seed 002's JobStats: symbols asked for, collected and failed, and candles stored.",
  fields: (t) => ({
    symbolCount: t.exposeInt('symbolCount', { description: 'Symbols the job was asked to collect (seed 002: total).' }),
    completedSymbolCount: t.exposeInt('completedSymbolCount', { description: 'Of those, symbols collected (seed 002: completed).' }),
    failedSymbolCount: t.exposeInt('failedSymbolCount', { description: 'Of those, symbols that failed after their retries (seed 002: failed).' }),
    candleCount: t.exposeInt('candleCount', { description: 'Candles fetched within the range, new or not (seed 002: total_candles).' }),
    newCandleCount: t.exposeInt('newCandleCount', { description: 'Of those, candles the candle table did not have before (0 when a range is collected again).' }),
    // Seed 002's names, as this type had them before every count was named <thing>Count.
    total: t.exposeInt('symbolCount', { deprecationReason: renamedTo('symbolCount') }),
    completed: t.exposeInt('completedSymbolCount', { deprecationReason: renamedTo('completedSymbolCount') }),
    failed: t.exposeInt('failedSymbolCount', { deprecationReason: renamedTo('failedSymbolCount') }),
    totalCandles: t.exposeInt('candleCount', { deprecationReason: renamedTo('candleCount') }),
  }),
});

const CollectionFailedSymbolRef = builder.prismaObject('CollectionFailedSymbol', {
  description: 'A symbol that failed after its retries, and why.',
  fields: (t) => ({
    symbol: t.exposeString('symbol'),
    error: t.exposeString('error'),
    failedAt: t.expose('failedAt', { type: 'DateTime' }),
  }),
});

const withCollection = { collectionJob: true } as const;

export const CollectionJobRef = builder.prismaNode('Job', {
  // node/nodes answer null for a missing id (or another tenant's), not an error.
  nullable: true,
  variant: 'CollectionJob',
  description: 'Collects OHLCV candles of many symbols from a provider (createCollectionJob).',
  interfaces: [JobRef],
  id: { field: 'id' },
  fields: (t) => ({
    symbols: t.stringList({ select: withCollection, resolve: (job) => job.collectionJob!.symbols }),
    timeframe: t.string({ select: withCollection, resolve: (job) => job.collectionJob!.timeframe }),
    rangeFrom: t.field({ type: 'DateTime', select: withCollection, resolve: (job) => job.collectionJob!.rangeFrom }),
    rangeTo: t.field({ type: 'DateTime', select: withCollection, resolve: (job) => job.collectionJob!.rangeTo }),
    provider: t.string({ select: withCollection, resolve: (job) => job.collectionJob!.provider }),
    stats: t.field({
      type: CollectionStatsRef,
      description: 'Counts move live as symbols finish (jobUpdated).',
      select: withCollection,
      resolve: ({ collectionJob: row }): CollectionStats => ({
        symbolCount: row!.symbols.length,
        completedSymbolCount: row!.completedSymbolCount,
        failedSymbolCount: row!.failedSymbolCount,
        candleCount: row!.candleCount,
        newCandleCount: row!.newCandleCount,
      }),
    }),
    failedSymbols: t.field({
      type: [CollectionFailedSymbolRef],
      description: 'Symbols that failed in the latest attempt, in the order they failed.',
      select: { collectionJob: { select: { failedSymbols: { orderBy: { id: 'asc' } } } } },
      resolve: (job) => job.collectionJob?.failedSymbols ?? [],
    }),
  }),
});

const CandleRef = builder.prismaObject('Candle', {
  description: 'One OHLCV candle; (symbol, timeframe, ts) is unique.',
  fields: (t) => ({
    symbol: t.exposeString('symbol'),
    timeframe: t.exposeString('timeframe'),
    ts: t.expose('ts', { type: 'DateTime' }),
    open: t.exposeFloat('open'),
    high: t.exposeFloat('high'),
    low: t.exposeFloat('low'),
    close: t.exposeFloat('close'),
    volume: t.exposeFloat('volume'),
  }),
});

const collectionWhere = (id: string) => ({ id, kind: JobKind.COLLECTION });

builder.queryFields((t) => ({
  collectionJob: t.prismaField({
    type: CollectionJobRef,
    nullable: true,
    description: 'A CollectionJob by its global ID or UUID; null when there is none.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.job.findFirst({ ...withId(query), where: collectionWhere(parseJobId(String(args.id))) }),
  }),
  collectionJobs: t.prismaConnection({
    type: CollectionJobRef,
    cursor: 'id',
    description: 'CollectionJobs, newest first; optionally of one status, created at or after `since`.',
    args: {
      status: t.arg({ type: JobStatusEnum, required: false }),
      since: t.arg({ type: 'DateTime', required: false }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.job.findMany({
        ...query,
        where: {
          kind: JobKind.COLLECTION,
          ...(args.status ? { status: args.status } : {}),
          ...(args.since ? { createdAt: { gte: args.since } } : {}),
        },
        orderBy: NEWEST_FIRST,
      }),
  }),
  runningCollectionJobs: t.prismaField({
    type: [CollectionJobRef],
    description: 'CollectionJobs a worker runs now, newest first.',
    resolve: (query, _root, _args, ctx) =>
      ctx.prisma.job.findMany({
        ...query,
        where: { kind: JobKind.COLLECTION, status: JobStatus.RUNNING },
        orderBy: NEWEST_FIRST,
      }),
  }),
  candles: t.prismaConnection({
    type: CandleRef,
    cursor: 'symbol_timeframe_ts',
    description: 'Stored candles of one symbol and timeframe, oldest first, optionally within rangeFrom..rangeTo (inclusive, as a CollectionJob\'s range).',
    args: {
      symbol: t.arg.string({ required: true }),
      timeframe: t.arg.string({ required: true }),
      rangeFrom: t.arg({ type: 'DateTime', required: false, description: 'First candle time (inclusive).' }),
      rangeTo: t.arg({ type: 'DateTime', required: false, description: 'Last candle time (inclusive).' }),
      // The names before the arguments took the collection job's (rangeFrom, rangeTo).
      from: t.arg({ type: 'DateTime', required: false, deprecationReason: renamedTo('rangeFrom') }),
      to: t.arg({ type: 'DateTime', required: false, deprecationReason: renamedTo('rangeTo') }),
    },
    resolve: (query, _root, args, ctx) => {
      if (args.rangeFrom && args.from) throw new ValidationError('from', 'is the old name of rangeFrom; give one of them');
      if (args.rangeTo && args.to) throw new ValidationError('to', 'is the old name of rangeTo; give one of them');
      const rangeFrom = args.rangeFrom ?? args.from;
      const rangeTo = args.rangeTo ?? args.to;
      return ctx.prisma.candle.findMany({
        ...query,
        where: {
          symbol: args.symbol,
          timeframe: args.timeframe,
          ...(rangeFrom || rangeTo ? { ts: { ...(rangeFrom ? { gte: rangeFrom } : {}), ...(rangeTo ? { lte: rangeTo } : {}) } } : {}),
        },
        orderBy: { ts: 'asc' },
      });
    },
  }),
}));

const CreateCollectionJobInput = builder.inputType('CreateCollectionJobInput', {
  fields: (t) => ({
    symbols: t.stringList({ required: true, description: 'Tickers, e.g. ["AAPL", "MSFT"]; at least one, no repeats.' }),
    timeframe: t.string({ required: true, description: 'One of 1m, 5m, 15m, 1h, 4h, 1d, 1w.' }),
    rangeFrom: t.field({ type: 'DateTime', required: true, description: 'First candle time of the collection range (inclusive).' }),
    rangeTo: t.field({ type: 'DateTime', required: true, description: 'Last candle time of the collection range (inclusive); bounded by COLLECTION_MAX_RANGE_DAYS.' }),
    provider: t.string({ required: true, description: 'csv-dir or http-csv.' }),
    maxRetries: t.int({ required: false, description: '0..100 automatic retries of the job. Default 3.' }),
    priority: t.int({ required: false, description: '-1000..1000, higher runs first. Default 0.' }),
    ...idempotencyInputFields(t),
  }),
});

const DeletedCollectionJobRef = builder.objectRef<{ id: string }>('DeletedCollectionJob').implement({
  fields: (t) => ({
    id: t.globalID({ description: "The deleted job's global ID.", resolve: (deleted) => ({ type: 'CollectionJob', id: deleted.id }) }),
  }),
});

builder.mutationFields((t) => ({
  createCollectionJob: t.prismaField({
    type: CollectionJobRef,
    description: 'Creates a CollectionJob and queues it (in one transaction). Bad input changes nothing.',
    errors: { types: [ValidationError, TenantQuotaExceededError], directResult: false, result: createdResultOptions },
    args: { input: t.arg({ type: CreateCollectionJobInput, required: true }) },
    resolve: async (query, _root, args, ctx) => {
      const answer = await createCollectionJob({ ...ctx, config: kindConfig(ctx.config, collectionConfig) }, ctx.caller, args.input);
      return markCreated(await ctx.prisma.job.findUniqueOrThrow({ ...withId(query), where: { id: answer.id } }), answer);
    },
  }),
  deleteCollectionJob: t.field({
    type: DeletedCollectionJobRef,
    description: 'Deletes a finished CollectionJob with its history; its stored candles stay.',
    errors: { types: [ValidationError, JobNotFoundError, InvalidTransitionError], directResult: false },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const id = parseJobId(String(args.id));
      // Only a finished job: a queued or running one still has a worker or queue entry.
      const deleted = await ctx.pool.query<{ id: string }>(
        `delete from job j where id = $1 and kind = 'COLLECTION' and status = any($2::job_status[]) and ${tenantCondition('j', 3)} returning id`,
        [id, TERMINAL_STATUSES, visibleTenant(ctx.caller)],
      );
      if (deleted.rowCount) return { id };
      const existing = await ctx.prisma.job.findFirst({ where: collectionWhere(id), select: { status: true } });
      if (!existing) throw new JobNotFoundError(id);
      throw new InvalidTransitionError(id, 'delete', existing.status, TERMINAL_STATUSES);
    },
  }),
}));
