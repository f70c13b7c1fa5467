// The GraphQL surface of provider connections: a tenant saves, lists and
// deletes its own (the caller's tenant, also for admin: an operator manages
// another tenant's with `jobwire connections`). Every field needs the
// `connections:write` scope (or admin), not jobs:read / jobs:write: a key
// that runs jobs does not also set the credentials they use. Nothing answers
// a secret: a connection shows its provider, its token's last four characters
// and its times.
//
// The token is a top-level argument of the Secret scalar, not a field of an
// input object: graphql-js quotes a whole input object when one of its fields
// is missing or unknown, and that text is logged and answered.
import { builder } from '../builder.ts';
import { ErrorInterface } from '../errors.ts';
import { ConnectionProvider } from '../../generated/prisma/enums.ts';
import { ValidationError } from '../../core/errors.ts';
import type { ProviderConnection } from '../../connections/connections.ts';
import { ConnectionStorageUnavailableError, ProviderConnectionMissingError } from '../../connections/errors.ts';

const ConnectionProviderEnum = builder.enumType(ConnectionProvider, {
  name: 'ConnectionProvider',
  description: "An outside provider jobs reach with the tenant's own credentials: YNAB (budget jobs), IBKR_FLEX (portfolio imports without an uploaded statement).",
});

const ProviderConnectionRef = builder.objectRef<ProviderConnection>('ProviderConnection').implement({
  description: "A tenant's saved credentials for a provider, stored encrypted; never readable back. Only what identifies them is shown.",
  fields: (t) => ({
    provider: t.field({ type: ConnectionProviderEnum, resolve: (connection) => connection.provider }),
    tokenLast4: t.exposeString('tokenLast4', { description: "The token's last four characters (all that is ever shown of it)." }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the credentials were last saved.' }),
  }),
});

builder.objectType(ProviderConnectionMissingError, {
  name: 'ProviderConnectionMissingError',
  description:
    "The caller's tenant has no connection to the provider, so nothing of it can be reached (the same answer whatever budget or account was named).",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ProviderConnectionMissingError,
  fields: (t) => ({ provider: t.field({ type: ConnectionProviderEnum, resolve: (error) => error.provider }) }),
});

builder.objectType(ConnectionStorageUnavailableError, {
  name: 'ConnectionStorageUnavailableError',
  description: 'The server cannot save provider connections as configured; `setting` names what its operator must change.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConnectionStorageUnavailableError,
  fields: (t) => ({ setting: t.exposeString('setting') }),
});

/** Not jobs:read / jobs:write (the root types' scopes): connections:write, which admin implies. */
const CONNECTIONS_SCOPE = { skipTypeScopes: true, authScopes: { 'connections:write': true } } as const;

builder.queryFields((t) => ({
  providerConnections: t.field({
    ...CONNECTIONS_SCOPE,
    type: [ProviderConnectionRef],
    description: "The caller's tenant's provider connections (never their secrets). Needs connections:write.",
    resolve: (_root, _args, ctx) => ctx.providerConnections.list(ctx.caller.tenantId),
  }),
}));

builder.mutationFields((t) => ({
  saveProviderConnection: t.field({
    ...CONNECTIONS_SCOPE,
    type: ProviderConnectionRef,
    description:
      "Saves (or replaces) the caller's tenant's credentials for a provider, encrypted; its jobs then reach the provider with them, and only its jobs. YNAB: a personal access token. IBKR_FLEX: the Flex Web Service token and the Flex query id. Needs connections:write.",
    errors: { types: [ValidationError, ConnectionStorageUnavailableError], directResult: false },
    args: {
      provider: t.arg({ type: ConnectionProviderEnum, required: true }),
      token: t.arg({ type: 'Secret', required: true, description: 'The provider token (8-512 printable characters): stored encrypted, never answered back.' }),
      queryId: t.arg.string({ required: false, description: 'IBKR_FLEX only: the Flex query whose statement imports fetch.' }),
    },
    resolve: (_root, args, ctx) => ctx.providerConnections.save(ctx.caller.tenantId, { provider: args.provider, token: args.token, queryId: args.queryId }),
  }),
  deleteProviderConnection: t.field({
    ...CONNECTIONS_SCOPE,
    type: ProviderConnectionRef,
    description: "Deletes the caller's tenant's connection to a provider (answers it); its jobs can no longer reach the provider. Needs connections:write.",
    errors: { types: [ProviderConnectionMissingError, ConnectionStorageUnavailableError], directResult: false },
    args: { provider: t.arg({ type: ConnectionProviderEnum, required: true }) },
    resolve: async (_root, args, ctx) => {
      const deleted = await ctx.providerConnections.delete(ctx.caller.tenantId, args.provider);
      if (!deleted) throw new ProviderConnectionMissingError(args.provider, 'there is nothing to delete');
      return deleted;
    },
  }),
}));
