// Every job type this service runs. A new capability registers its handlers here.
import { createPortfolioImportHandler, flexOptionsFromEnv } from './portfolios/handler.ts';
import { noopHandler, sleepHandler } from './system/handlers.ts';
import { webhookSendHandler } from './webhooks/send.ts';
import { HandlerRegistry } from './worker/registry.ts';

export function createRegistry(): HandlerRegistry {
  return new HandlerRegistry()
    .register(webhookSendHandler)
    .register(noopHandler)
    .register(sleepHandler)
    .register(createPortfolioImportHandler({ flex: flexOptionsFromEnv() }));
}
