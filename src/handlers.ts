// Every job type this service runs. A new capability registers its handlers here.
import { HandlerRegistry } from './worker/registry.ts';
import { webhookSendHandler } from './webhooks/send.ts';

export function createRegistry(): HandlerRegistry {
  return new HandlerRegistry().register(webhookSendHandler);
}
