// Every job type this service runs. A new capability registers its handlers here.
import type pg from 'pg';
import type { PrismaClient } from './db/prisma.ts';
import { createCollectionHandler } from './collections/handler.ts';
import { createBudgetHandlers } from './budgets/handler.ts';
import type { BudgetProvider } from './budgets/provider.ts';
import { createBudgetProvider } from './budgets/providers.ts';
import { createImportHandler } from './imports/handler.ts';
import type { Config } from './config.ts';
import { createPortfolioImportHandler, flexOptionsFromEnv } from './portfolios/handler.ts';
import { failHandler, noopHandler, sleepHandler } from './system/handlers.ts';
import { createOutboundFetch, outboundOptions } from './net/outbound.ts';
import { createWebhookSendHandler } from './webhooks/send.ts';
import { HandlerRegistry } from './worker/registry.ts';

/** Handlers that read or write the database get the process's pool (and its one Prisma client). */
export interface RegistryDeps {
  pool: pg.Pool;
  prisma: PrismaClient;
  config: Config;
  /** The budget provider budget jobs use (src/budgets); default: the configured one. */
  budgetProvider?: BudgetProvider;
}

export function createRegistry(deps: RegistryDeps): HandlerRegistry {
  const outbound = createOutboundFetch(outboundOptions(deps.config));
  const flex = flexOptionsFromEnv();
  const registry = new HandlerRegistry()
    .register(createWebhookSendHandler(outbound))
    .register(noopHandler)
    .register(sleepHandler)
    .register(failHandler)
    .register(createPortfolioImportHandler({ flex: flex && { ...flex, fetch: outbound } }))
    .register(createCollectionHandler(deps))
    .register(createImportHandler(deps));
  const budgetProvider = deps.budgetProvider ?? createBudgetProvider(deps.config);
  for (const handler of createBudgetHandlers({ ...deps, budgetProvider, registry })) registry.register(handler);
  return registry;
}
