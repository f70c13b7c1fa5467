// Every job type this service runs: the core's plain ones, then each kind's
// (src/kinds.ts; a kind's descriptor says which handlers it has).
import type pg from 'pg';
import type { ServiceConfig } from './service-config.ts';
import { ProviderConnections } from './connections/connections.ts';
import type { CoreServices, KindDescriptor, KindServices } from './kind-descriptor.ts';
import { defaultKinds } from './kinds.ts';
import { failHandler, noopHandler, sleepHandler } from './system/handlers.ts';
import { createOutboundFetch, outboundOptions } from './net/outbound.ts';
import { createWebhookSendHandler } from './webhooks/send.ts';
import { HandlerRegistry } from './core/registry.ts';

/** Handlers that read or write the database get the process's pool. */
export interface RegistryDeps {
  pool: pg.Pool;
  config: ServiceConfig;
  /** The kinds whose job types to register; default: every built-in one. */
  kinds?: readonly KindDescriptor<any>[];
  /** Each tenant's saved provider credentials (src/connections); default: over `pool` with `config`. */
  providerConnections?: ProviderConnections;
  /** The kinds' shared services; default: each kind builds its own from the configuration and providerConnections. */
  services?: KindServices;
}

/** Each kind's services, built from the configuration, with `overrides` on top (e.g. a test's budget provider). */
export function createKindServices(
  kinds: readonly KindDescriptor<any>[],
  config: ServiceConfig,
  core: CoreServices,
  overrides: Partial<KindServices> = {},
): KindServices {
  return Object.assign({}, ...kinds.map((kind) => kind.services?.(config, core) ?? {}), overrides) as KindServices;
}

export function createRegistry(deps: RegistryDeps): HandlerRegistry {
  const kinds = deps.kinds ?? defaultKinds;
  const outbound = createOutboundFetch(outboundOptions(deps.config));
  const providerConnections = deps.providerConnections ?? new ProviderConnections(deps.pool, deps.config);
  const registry = new HandlerRegistry()
    .register(createWebhookSendHandler(outbound))
    .register(noopHandler)
    .register(sleepHandler)
    .register(failHandler);
  const services = deps.services ?? createKindServices(kinds, deps.config, { providerConnections });
  const kindDeps = { ...deps, outbound, registry, providerConnections, services };
  for (const kind of kinds) for (const handler of kind.handlers(kindDeps)) registry.register(handler);
  return registry;
}
