// Every job type this service runs. A new capability registers its handlers here.
import type pg from 'pg';
import type { PrismaClient } from './db/prisma.ts';
import { createCollectionHandler } from './collections/handler.ts';
import { createBudgetHandlers } from './budgets/handler.ts';
import { createBudgetProviders, type BudgetProviders } from './budgets/providers.ts';
import { ProviderConnections } from './connections/connections.ts';
import { ConnectionProvider } from './generated/prisma/enums.ts';
import { createImportHandler } from './imports/handler.ts';
import type { Config } from './config.ts';
import { createPortfolioImportHandler, flexServiceSettings } from './portfolios/handler.ts';
import { failHandler, noopHandler, sleepHandler } from './system/handlers.ts';
import { createOutboundFetch, outboundOptions } from './net/outbound.ts';
import { createWebhookSendHandler } from './webhooks/send.ts';
import { HandlerRegistry } from './worker/registry.ts';

/** Handlers that read or write the database get the process's pool (and its one Prisma client). */
export interface RegistryDeps {
  pool: pg.Pool;
  prisma: PrismaClient;
  config: Config;
  /** Each tenant's saved provider credentials (src/connections); default: over `pool` with `config`. */
  providerConnections?: ProviderConnections;
  /** Each tenant's budget provider budget jobs use (src/budgets); default: the configured adapter. */
  budgetProviders?: BudgetProviders;
}

export function createRegistry(deps: RegistryDeps): HandlerRegistry {
  const outbound = createOutboundFetch(outboundOptions(deps.config));
  const connections = deps.providerConnections ?? new ProviderConnections(deps.pool, deps.config);
  const flexCredentials = async (tenantId: string) => {
    const credential = await connections.flex(tenantId);
    if (!credential) throw connections.missing(ConnectionProvider.IBKR_FLEX);
    return credential.secret;
  };
  const registry = new HandlerRegistry()
    .register(createWebhookSendHandler(outbound))
    .register(noopHandler)
    .register(sleepHandler)
    .register(failHandler)
    .register(createPortfolioImportHandler({ flex: flexServiceSettings(deps.config, outbound), flexCredentials }))
    .register(createCollectionHandler(deps))
    .register(createImportHandler(deps));
  const budgetProviders = deps.budgetProviders ?? createBudgetProviders(deps.config, connections);
  for (const handler of createBudgetHandlers({ ...deps, budgetProviders, registry })) registry.register(handler);
  return registry;
}
