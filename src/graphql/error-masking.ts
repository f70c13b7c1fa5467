// What a GraphQL client sees of an error, and how it is logged. A client's
// mistake reaches it with its message and a code naming the kind of mistake,
// logged once below error level; anything else is a fault of ours: the client
// sees "Unexpected error." with a correlation id, and the error is logged once,
// at error level, with the same id.
import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { YogaLogger } from 'graphql-yoga';
import { isConnectionError } from '../db/retry.ts';
import { CSRF_HEADER, CSRF_REFUSAL } from './csrf.ts';
import { JobwireError, ValidationError } from '../core/errors.ts';
import type { Logger } from '../logger.ts';

/** `extensions.code` of a request the client got wrong (bad variables, arguments, input values). */
export const BAD_USER_INPUT = 'BAD_USER_INPUT';
export const INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR';
/** The answer to a request that needed the database while it was unreachable (HTTP 503). */
export const DATABASE_UNAVAILABLE = 'DATABASE_UNAVAILABLE';
const DATABASE_UNAVAILABLE_MESSAGE = 'The database is unavailable right now; nothing was changed by this request. Retry in a few seconds.';
/** The answer to a request whose statement ran past DATABASE_STATEMENT_TIMEOUT_MS (HTTP 503). */
export const DATABASE_TIMEOUT = 'DATABASE_TIMEOUT';

/** The API pool's bounds, named in the answers when one is reached. */
export interface DatabaseBounds {
  statementTimeoutMs: number;
  acquireTimeoutMs: number;
}

/** Walks an error and what it wraps (Prisma's driver adapter errors, GraphQL's original errors). */
function someInChain(error: unknown, test: (value: { code?: unknown; message?: unknown }) => boolean): boolean {
  const seen = new Set<unknown>();
  for (let current = error; current && typeof current === 'object' && !seen.has(current); ) {
    seen.add(current);
    const value = current as { code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; meta?: { driverAdapterError?: unknown } };
    if (test(value)) return true;
    current = value.meta?.driverAdapterError ?? value.cause ?? value.originalError;
  }
  return false;
}

/** pg-pool found no free connection within connectionTimeoutMillis. */
const isPoolExhausted = (error: unknown) =>
  someInChain(error, (value) => typeof value.message === 'string' && value.message.includes('timeout exceeded when trying to connect'));

/** Postgres cancelled the statement at statement_timeout (57014 is also a user's cancel: told apart by the message). */
const isStatementTimeout = (error: unknown) =>
  someInChain(error, (value) => typeof value.message === 'string' && value.message.includes('canceling statement due to statement timeout'));

/** The database failed the request (no free connection, the statement timeout, unreachable): masked by code and path alone. */
export function isDatabaseFailure(error: unknown): boolean {
  const original = innermost(error);
  return isPoolExhausted(original) || isStatementTimeout(original) || isConnectionError(original);
}

// Duck-typed: graphql can be loaded twice (ESM and CJS), defeating instanceof.
function isGraphQLError(value: unknown): value is GraphQLError {
  return value instanceof Error && (value.name === 'GraphQLError' || value.name.startsWith('Pothos'));
}

/** The error a resolver (or graphql-js) threw, under graphql-js's located wrappers. */
function innermost(error: unknown): unknown {
  let original = error;
  while (isGraphQLError(original) && original.originalError) original = original.originalError;
  return original;
}

/**
 * Errors about the request itself rather than a resolver's work: syntax,
 * validation and variable coercion. graphql-js raises these as GraphQLErrors
 * with no response path, possibly wrapping another GraphQLError (a scalar's
 * parseValue); yoga codes syntax and validation errors, variables get
 * BAD_USER_INPUT here.
 */
function isRequestError(error: unknown): error is GraphQLError {
  if (!isGraphQLError(error) || error.path) return false;
  for (let cause: unknown = error.originalError; cause; cause = (cause as GraphQLError).originalError) {
    if (!isGraphQLError(cause)) return false;
  }
  return true;
}

function withExtensions(error: GraphQLError, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: { ...error.extensions, ...extensions },
  });
}

/** Prisma's "a value does not fit its column" (e.g. not a uuid): data validation, inconsistent column data. */
const PRISMA_VALUE_ERRORS = new Set(['P2007', 'P2023']);

/**
 * A well-formed cursor of another list (its value not of this list's key
 * type) passes Pothos' check and fails in Prisma: the cursor argument of the
 * field is named.
 */
function cursorArgument(error: GraphQLError | null, original: unknown): string | null {
  const code = (original as { code?: unknown } | null)?.code;
  if (!(original instanceof Error) || original.name !== 'PrismaClientKnownRequestError' || !PRISMA_VALUE_ERRORS.has(String(code))) return null;
  const field = error?.nodes?.[0];
  if (field?.kind !== 'Field') return null;
  return field.arguments?.find((argument) => argument.name.value === 'after' || argument.name.value === 'before')?.name.value ?? null;
}

/** The client's view of an error, or null when it is a fault of ours. */
function clientError(error: unknown): GraphQLError | null {
  const original = innermost(error);
  const located = isGraphQLError(error) ? error : null;
  const cursor = cursorArgument(located, original);
  if (cursor) {
    return new GraphQLError(`${cursor}: not a cursor of this list; pass a cursor from its edges or pageInfo`, {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: BAD_USER_INPUT, argumentName: cursor },
    });
  }
  if (original instanceof JobwireError) {
    // An expected failure thrown where no typed union catches it (queries, subscriptions).
    const extensions =
      original instanceof ValidationError ? { code: BAD_USER_INPUT, field: original.field } : { code: original.name };
    return new GraphQLError(original.message, { nodes: located?.nodes, path: located?.path, extensions });
  }
  // Pothos' argument checks (first/last, cursors, global ids) are the client's mistakes.
  if (original instanceof Error && original.name === 'PothosValidationError') {
    const code = (original as GraphQLError).extensions?.code ?? BAD_USER_INPUT;
    return new GraphQLError(original.message, { nodes: located?.nodes, path: located?.path, extensions: { code } });
  }
  // Our own edge checks (input-guard, page sizes) throw GraphQLErrors that carry their code.
  if (isGraphQLError(original) && typeof original.extensions?.code === 'string' && original.extensions.code !== INTERNAL_SERVER_ERROR) {
    return located && located !== original ? withExtensions(located, original.extensions) : original;
  }
  if (isRequestError(error) && error.message === CSRF_REFUSAL) {
    return new GraphQLError(`${CSRF_REFUSAL}: a form or text/plain request needs the header ${CSRF_HEADER} (or send Content-Type: application/json)`, {
      extensions: { ...error.extensions, code: 'CSRF_HEADER_REQUIRED' },
    });
  }
  if (isRequestError(error)) return error.extensions?.code ? error : withExtensions(error, { code: BAD_USER_INPUT });
  return null;
}

/** yoga's maskedErrors.maskError: the one place that decides and logs. */
export function createMaskError(logger: Logger, bounds?: DatabaseBounds) {
  return (error: unknown, message: string): Error => {
    const forClient = clientError(error);
    if (forClient) {
      logger.info({ code: forClient.extensions.code, path: forClient.path, error: forClient.message }, 'client error in a GraphQL request');
      return forClient;
    }
    const original = innermost(error);
    const path = isGraphQLError(error) ? error.path : undefined;
    // The API's pool is busy: every connection held by other requests for DATABASE_POOL_ACQUIRE_TIMEOUT_MS.
    if (bounds && isPoolExhausted(original)) {
      logger.warn({ err: original }, 'a GraphQL request found no free database connection in time');
      return new GraphQLError(
        `The database is busy: no connection of the API's pool (DATABASE_POOL_SIZE) was free within ${bounds.acquireTimeoutMs} ms (DATABASE_POOL_ACQUIRE_TIMEOUT_MS); nothing was changed by this request. Retry in a few seconds.`,
        { path, extensions: { code: DATABASE_UNAVAILABLE, setting: 'DATABASE_POOL_ACQUIRE_TIMEOUT_MS', http: { status: 503, headers: { 'retry-after': '2' } } } },
      );
    }
    if (bounds && isStatementTimeout(original)) {
      logger.warn({ err: original, path }, 'a GraphQL request ran past the statement timeout');
      return new GraphQLError(
        `The database cancelled this request's statement after ${bounds.statementTimeoutMs} ms (DATABASE_STATEMENT_TIMEOUT_MS); the transaction it ran in was rolled back. Retry, or ask for less (a smaller page, a narrower filter).`,
        { path, extensions: { code: DATABASE_TIMEOUT, setting: 'DATABASE_STATEMENT_TIMEOUT_MS', http: { status: 503 } } },
      );
    }
    // A restart or failover in progress: a stable code and a 503, not "Unexpected error.".
    if (isConnectionError(original)) {
      logger.warn({ err: original }, 'a GraphQL request needed the database while it was unreachable');
      return new GraphQLError(DATABASE_UNAVAILABLE_MESSAGE, {
        path: isGraphQLError(error) ? error.path : undefined,
        extensions: { code: DATABASE_UNAVAILABLE, http: { status: 503, headers: { 'retry-after': '2' } } },
      });
    }
    const correlationId = randomUUID();
    logger.error({ err: original, correlationId, path: isGraphQLError(error) ? error.path : undefined }, 'unexpected error in a GraphQL request');
    return new GraphQLError(message, {
      nodes: isGraphQLError(error) ? error.nodes : undefined,
      path: isGraphQLError(error) ? error.path : undefined,
      extensions: { code: INTERNAL_SERVER_ERROR, correlationId },
    });
  };
}

/**
 * A document graphql-ws could not parse: yoga codes and logs parse errors of
 * HTTP requests, graphql-ws would close the socket as if we had failed. The
 * client gets the error in an `error` message instead, and it is logged once.
 */
export function parseFailure(error: unknown, logger: Logger): GraphQLError {
  if (!isGraphQLError(error)) throw error;
  const answer = error.extensions?.code ? error : withExtensions(error, { code: 'GRAPHQL_PARSE_FAILED' });
  logger.info({ code: answer.extensions.code, error: answer.message }, 'client error in a GraphQL request');
  return answer;
}

/**
 * yoga's own logger. yoga logs every error that maskError replaced, at error
 * level, once per layer that masks (twice per error): maskError has already
 * logged it once at the right level, so yoga's copies go to debug.
 */
export function yogaLogger(logger: Logger): YogaLogger {
  const text = (args: unknown[]) => args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' ');
  return {
    debug: (...args: unknown[]) => logger.debug(text(args)),
    info: (...args: unknown[]) => logger.info(text(args)),
    warn: (...args: unknown[]) => logger.warn(text(args)),
    error: (...args: unknown[]) => logger.debug(`masked (logged once by maskError): ${text(args)}`),
  };
}
