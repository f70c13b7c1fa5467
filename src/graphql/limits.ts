// Limits that keep one caller from hurting the rest. Each refusal names its
// bound and the setting that raises it; all run before any resolver does, so
// a query that would have blocked the event loop for seconds is refused in
// milliseconds.
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { createComplexityRule } from '@pothos/plugin-complexity';
import {
  getNamedType,
  getNullableType,
  getOperationAST,
  GraphQLError,
  isListType,
  NoSchemaIntrospectionCustomRule,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLField,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.ts';
import type { GraphQLContext } from './context.ts';

/** A connection page nobody asked a size for (Pothos' defaultConnectionSize). */
const DEFAULT_PAGE = 20;
const LIST_MULTIPLIER = 10;

/**
 * Cost of one field for the complexity rule: 1, plus its sub-selection times
 * the page asked for (`first`/`last`) on a connection, times 10 on another list.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Pothos passes the field with the schema's context type
export function fieldCost(args: Record<string, unknown>, _ctx: unknown, field: GraphQLField<unknown, any, any>) {
  if (getNamedType(field.type).name.endsWith('Connection')) {
    const page = Number(args.first ?? args.last ?? DEFAULT_PAGE);
    return { field: 1, multiplier: Number.isFinite(page) ? Math.max(page, 0) : DEFAULT_PAGE };
  }
  // A connection's edges are already counted by its page size.
  if (isListType(getNullableType(field.type))) return { field: 1, multiplier: field.name === 'edges' ? 1 : LIST_MULTIPLIER };
  return 1;
}

type LimitConfig = Pick<
  Config,
  'GRAPHQL_MAX_DEPTH' | 'GRAPHQL_MAX_ALIASES' | 'GRAPHQL_MAX_TOKENS' | 'GRAPHQL_MAX_COST' | 'MUTATION_RATE_LIMIT_PER_MINUTE' | 'GRAPHQL_INTROSPECTION'
>;

/**
 * graphql-armor's messages name the bound; ours add the setting that raises it.
 * Its rules throw out of validation, so the server's error masking calls this.
 */
const SETTING_BY_MESSAGE: Array<[RegExp, string]> = [
  [/Query depth limit of/, 'GRAPHQL_MAX_DEPTH'],
  [/Aliases limit of/, 'GRAPHQL_MAX_ALIASES'],
  [/Token limit of/, 'GRAPHQL_MAX_TOKENS'],
];

export function nameLimitSetting(error: GraphQLError): GraphQLError {
  const setting = SETTING_BY_MESSAGE.find(([pattern]) => pattern.test(error.message))?.[1];
  if (!setting) return error;
  // Changed in place: yoga logs a masked error that is a new object as an unexpected one.
  error.message = `${error.message.replace(/^Syntax Error: /, '')} (${setting})`;
  Object.assign(error.extensions, { code: 'QUERY_LIMIT_EXCEEDED', setting, http: { status: 400 } });
  return error;
}

export function introspectionEnabled(config: Pick<Config, 'GRAPHQL_INTROSPECTION'>): boolean {
  return config.GRAPHQL_INTROSPECTION ?? process.env.NODE_ENV !== 'production';
}

/**
 * Websockets one principal may hold, or null for no cap. The cap keeps one
 * principal (a leaked key, one tenant's runaway client) from taking the API's
 * sockets from the others. Without authentication every caller is the one
 * local principal, on a loopback address only: a per-principal cap would be a
 * cap on the whole service that shields nobody, so by default there is none.
 */
export function socketsPerPrincipalCap(config: Pick<Config, 'WS_MAX_SOCKETS_PER_PRINCIPAL' | 'AUTH_ENABLED'>): number | null {
  return config.WS_MAX_SOCKETS_PER_PRINCIPAL ?? (config.AUTH_ENABLED ? 50 : null);
}

export function createLimitPlugins(config: LimitConfig): Plugin<GraphQLContext>[] {
  const armor = new EnvelopArmor({
    maxDepth: { n: config.GRAPHQL_MAX_DEPTH, exposeLimits: true },
    maxAliases: { n: config.GRAPHQL_MAX_ALIASES, exposeLimits: true },
    maxTokens: { n: config.GRAPHQL_MAX_TOKENS, exposeLimits: true },
    // Cost is measured by the complexity rule below, which knows page sizes.
    costLimit: { enabled: false },
    maxDirectives: { n: 50, exposeLimits: true },
    blockFieldSuggestion: { enabled: !introspectionEnabled(config) },
  }).protect().plugins as Plugin<GraphQLContext>[];

  const introspection: Plugin<GraphQLContext> = {
    onValidate: ({ addValidationRule }) => {
      if (!introspectionEnabled(config)) addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };

  // Cost depends on the variables (page sizes), so it is measured per execution, not cached with validation;
  // an operation without variables costs the same each time: yoga reuses its parsed document, and a pass is kept with it.
  const withinCost = new WeakMap<DocumentNode, Set<string | null | undefined>>();
  const costError = (args: ExecutionArgs): GraphQLError | null => {
    const passed = withinCost.get(args.document);
    if (passed?.has(args.operationName)) return null;
    const error = measureCost(args);
    if (!error && !getOperationAST(args.document, args.operationName)?.variableDefinitions?.length) {
      if (passed) passed.add(args.operationName);
      else withinCost.set(args.document, new Set([args.operationName]));
    }
    return error;
  };
  const measureCost = (args: ExecutionArgs): GraphQLError | null => {
    const errors = validate(args.schema, args.document, [
      createComplexityRule({
        context: args.contextValue as object,
        variableValues: (args.variableValues ?? {}) as Record<string, unknown>,
        operationName: args.operationName,
        validate: ({ complexity }, reportError) => {
          if (complexity > config.GRAPHQL_MAX_COST) {
            reportError(
              new GraphQLError(`Query cost ${complexity} exceeds the limit of ${config.GRAPHQL_MAX_COST} (GRAPHQL_MAX_COST)`, {
                extensions: { code: 'QUERY_LIMIT_EXCEEDED', setting: 'GRAPHQL_MAX_COST', http: { status: 400 } },
              }),
            );
          }
        },
      }),
    ]);
    // Only the cost refusal: variables that do not fit their types are
    // execution's to report (with its codes), not this check's.
    return errors.find((error) => error.extensions?.setting === 'GRAPHQL_MAX_COST') ?? null;
  };

  const rateLimiter = new MutationRateLimiter(config.MUTATION_RATE_LIMIT_PER_MINUTE);
  const admit = (args: ExecutionArgs): GraphQLError | null => {
    const cost = costError(args);
    if (cost) return cost;
    const operation = getOperationAST(args.document, args.operationName);
    if (operation?.operation !== 'mutation') return null;
    const context = args.contextValue as GraphQLContext;
    return rateLimiter.take(context.caller.principalId)
      ? null
      : new GraphQLError(
          `Too many mutations: at most ${config.MUTATION_RATE_LIMIT_PER_MINUTE} per minute per principal (MUTATION_RATE_LIMIT_PER_MINUTE)`,
          { extensions: { code: 'RATE_LIMITED', setting: 'MUTATION_RATE_LIMIT_PER_MINUTE', http: { status: 429 } } },
        );
  };
  const checks: Plugin<GraphQLContext> = {
    onExecute: ({ args, setResultAndStopExecution }) => {
      const error = admit(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const error = costError(args);
      if (error) setResultAndStopExecution({ errors: [error] });
    },
  };

  return [...armor, introspection, checks];
}

/** A token bucket per principal: `perMinute` mutations, refilled evenly. 0: no limit. */
export class MutationRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly perMinute: number) {}

  take(principalId: string, now = Date.now()): boolean {
    if (this.perMinute === 0) return true;
    const bucket = this.#buckets.get(principalId) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + ((now - bucket.at) * this.perMinute) / 60_000);
    bucket.at = now;
    if (this.#buckets.size > 100_000) this.#buckets.clear();
    this.#buckets.set(principalId, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
