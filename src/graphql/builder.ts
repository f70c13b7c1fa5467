// The one SchemaBuilder: plugins, scalars, context and root types. Domain types
// live in their capability folders and are assembled by schema.ts.
import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from '@pothos/plugin-scope-auth';
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { DateTimeResolver, JSONObjectResolver, JSONResolver } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-prisma-types.ts';
import { getDatamodel } from '../generated/pothos-prisma-types.ts';
import { hasScope } from '../auth/principal.ts';
import { JobwireError, NotAuthorizedError } from '../core/errors.ts';
import type { GraphQLContext } from './context.ts';
import { fieldCost } from './limits.ts';
import { connectionMaxSize } from './page-size.ts';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  PrismaTypes: PrismaTypes;
  AuthScopes: { 'jobs:read': boolean; 'jobs:write': boolean; 'connections:write': boolean; admin: boolean; viewer: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
    JSON: { Input: unknown; Output: unknown };
    /** A multipart upload (GraphQL multipart request spec). */
    File: { Input: File; Output: never };
    /** A credential sent in (a provider token): input only, never quoted back in an error. */
    Secret: { Input: string; Output: never };
  };
  DefaultFieldNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, ErrorsPlugin, PrismaPlugin, RelayPlugin, ComplexityPlugin],
  // Every root field needs a scope (set on the root types below); `admin` implies the others.
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (context) => ({
      'jobs:read': hasScope(context.caller, 'jobs:read'),
      'jobs:write': hasScope(context.caller, 'jobs:write'),
      'connections:write': hasScope(context.caller, 'connections:write'),
      admin: hasScope(context.caller, 'admin'),
      // A viewer token (auth/viewer-tokens.ts): only the fields of graphql/viewer.ts take it.
      viewer: context.caller.viewer !== undefined,
    }),
    unauthorizedError: (_parent, context, info, result) =>
      new NotAuthorizedError(
        context.caller.scopes.size === 0
          ? `${info.parentType.name}.${info.fieldName} needs a token (Authorization: Bearer <API key or JWT>)`
          : `${info.parentType.name}.${info.fieldName} needs the scope ${missingScope(result.failure) ?? ROOT_SCOPE[info.parentType.name] ?? 'admin'}`,
      ),
  },
  prisma: {
    client: (context) => context.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'test' ? 'error' : null,
    // Typed as a number, but plugin-prisma hands it to every connection as its
    // maxSize, which may be a function of (args, ctx): that checks the page.
    maxConnectionSize: connectionMaxSize as unknown as number,
    defaultConnectionSize: 20,
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
  },
  errors: {
    // Every mutation's union ends with BaseError (graphql/errors.ts): an expected
    // failure that no listed type names still reaches the client as a typed error.
    defaultTypes: [JobwireError],
  },
  // Costs only; the limit is applied per request in graphql/limits.ts (GRAPHQL_MAX_COST).
  complexity: { fieldComplexity: fieldCost },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSONObject', JSONObjectResolver);
// Inputs that must be objects (payload, metadata) take JSON and are checked in
// core/validation.ts, so a wrong shape is a ValidationError naming the field.
builder.addScalarType('JSON', JSONResolver);
// Uploads (portfolio statements, import files): several capabilities take files.
builder.addScalarType(
  'File',
  new GraphQLScalarType<File, never>({
    name: 'File',
    description: 'A file sent as a multipart request (GraphQL multipart request spec).',
    parseValue: (value) => {
      // Duck-typed: yoga hands over its fetch ponyfill's File, not Node's.
      if (typeof value === 'object' && value !== null && typeof (value as File).text === 'function') return value as File;
      throw new GraphQLError('File must be a multipart upload');
    },
    serialize: () => {
      throw new GraphQLError('File is input only');
    },
  }),
);

// Provider tokens (src/connections). graphql-js quotes an input value it cannot
// coerce in its error (which is logged and answered): this scalar accepts any
// string, so a token is never the value quoted, and its own refusal names no value.
builder.addScalarType(
  'Secret',
  new GraphQLScalarType<string, never>({
    name: 'Secret',
    description: 'A credential (a provider token): input only, never answered back or quoted in an error.',
    parseValue: (value) => {
      if (typeof value === 'string') return value;
      throw new GraphQLError('Secret must be a string');
    },
    parseLiteral: (node) => {
      if (node.kind === Kind.STRING) return node.value;
      throw new GraphQLError('Secret must be a string');
    },
    serialize: () => {
      throw new GraphQLError('Secret is input only');
    },
  }),
);

/** The scope a refusal names: the first one the failed check asked for (a root type's, or a field's own such as `admin`). */
function missingScope(failure: AuthFailure): string | undefined {
  if (failure.kind === AuthScopeFailureType.AuthScope) return failure.scope;
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    for (const inner of failure.failures) {
      const scope = missingScope(inner);
      if (scope) return scope;
    }
  }
  return undefined;
}

const ROOT_SCOPE: Record<string, string> = { Query: 'jobs:read', Mutation: 'jobs:write', Subscription: 'jobs:read' };
builder.queryType({ authScopes: { 'jobs:read': true } });
builder.mutationType({ authScopes: { 'jobs:write': true } });
builder.subscriptionType({ authScopes: { 'jobs:read': true } });
