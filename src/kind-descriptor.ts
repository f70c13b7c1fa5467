// What a job kind is to the rest of the service: one descriptor per kind
// (its folder's index.ts), collected in src/kinds.ts. The files that wire the
// service (handlers.ts, service-config.ts, app.ts, service-schema.ts, http/upload-limits.ts,
// auth/tenant-scope.ts) read kinds from the list and name none of them, so a
// new kind touches its folder, its migration and its Prisma models only.
import type pg from 'pg';
import type { z } from 'zod';
import type { Config } from './config.ts';
import type { ProviderConnections } from './connections/connections.ts';
import type { PrismaClient } from './db/prisma.ts';
import type { JobKind } from './generated/prisma/enums.ts';
import type { OutboundFetch } from './net/outbound.ts';
import type { JobHandler } from './core/handler.ts';
import type { HandlerRegistry } from './core/registry.ts';

/**
 * What a kind's handlers and resolvers share for the life of a process (e.g.
 * the budget provider). Each kind adds its own members by declaration merging
 * (`declare module '../kind-descriptor.ts' { interface KindServices { ... } }`);
 * resolvers read them on the GraphQL context, handlers on KindDeps.services.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface KindServices {}

/** What the core shares with every kind: cross-kind services a kind's own are built on. */
export interface CoreServices {
  /** Each tenant's saved provider credentials (src/connections); a kind reaches a provider only with its tenant's. */
  providerConnections: ProviderConnections;
}

/** What a kind's handlers are built from. */
export interface KindDeps {
  pool: pg.Pool;
  config: Config;
  /** Outbound HTTP with the SSRF rules of src/net/outbound.ts. */
  outbound: OutboundFetch;
  /** The registry the handlers join (a handler may create jobs of other types through it). */
  registry: HandlerRegistry;
  /** Each tenant's saved provider credentials (src/connections). */
  providerConnections: ProviderConnections;
  services: KindServices;
}

/** The configuration as a kind sees it: the service's, with its own settings typed. */
export type KindConfig<Shape extends z.ZodRawShape> = Config & z.output<z.ZodObject<Shape>>;

/** One line of a job's detail in the dashboard. */
export interface KindFact {
  label: string;
  value: string;
}

/** What the dashboard shows of a job of the kind (GraphQL Job.kindDetail). */
export interface KindDashboard {
  title: string;
  /** The facts of one job, read through the caller's tenant-scoped client; empty when it has no kind row. */
  facts(jobId: string, prisma: PrismaClient): Promise<KindFact[]>;
}

export interface KindDescriptor<Shape extends z.ZodRawShape = z.ZodRawShape> {
  /** The kind's folder name, e.g. "budgets". */
  name: string;
  /** job.kind of its jobs (null: its jobs are PLAIN ones, e.g. a test fixture). */
  jobKind: JobKind | null;
  /** Its environment variables (zod), validated with the rest by loadConfig. */
  config: Shape;
  /** Rules across its settings; each problem names the variable. */
  checkConfig?(config: KindConfig<Shape>): string[];
  /** Builds its share of KindServices once per process. */
  services?(config: KindConfig<Shape>, core: CoreServices): Partial<KindServices>;
  /** Its job types. */
  handlers(deps: KindDeps & { config: KindConfig<Shape> }): JobHandler<any>[];
  /**
   * Registers its GraphQL types on the builder (src/graphql/builder.ts). A
   * built-in kind's schema.ts registers on import (its index.ts imports it).
   */
  registerSchema?(): void;
  /** The Prisma models (client names) whose rows it owns and which carry tenantId. */
  tenantModels: readonly string[];
  /** Its detail on the dashboard's job page. */
  dashboard?: KindDashboard;
  /** The largest file one of its mutations accepts (multipart uploads are cut off above it). */
  uploadMaxBytes?(config: KindConfig<Shape>): number;
}

/**
 * A kind's view of the service's configuration, typed with its own settings:
 * loadConfig validated them (its descriptor's `config`) with the core's into
 * the one object every layer is handed as the core's Config.
 */
export function kindConfig<Shape extends z.ZodRawShape>(config: Config, _settings: Shape): KindConfig<Shape> {
  return config as KindConfig<Shape>;
}

/** Counts as the dashboard shows them (1,234). */
export const formatCount = (value: number | bigint): string => value.toLocaleString('en-US');

/** A calendar date in UTC (YYYY-MM-DD). */
export const formatDay = (value: Date): string => value.toISOString().slice(0, 10);

/** The largest upload any of the kinds accepts (0: none takes files). */
export function largestUpload(kinds: readonly KindDescriptor[], config: Config): number {
  return Math.max(0, ...kinds.map((kind) => kind.uploadMaxBytes?.(config) ?? 0));
}

/** The settings of a list of kinds, as loadConfig returns them. */
export type ConfigOfKinds<Kinds extends readonly KindDescriptor<any>[]> = UnionToIntersection<
  { [Index in keyof Kinds]: Kinds[Index] extends KindDescriptor<infer Shape> ? z.output<z.ZodObject<Shape>> : never }[number]
>;

type UnionToIntersection<Union> = (Union extends unknown ? (value: Union) => void : never) extends (value: infer Both) => void ? Both : never;
