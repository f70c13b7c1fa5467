// The service's whole configuration: the core's settings (config.ts) and
// every built-in kind's (kinds.ts). Above the kinds, so that config.ts, which
// every layer reads, depends on none of them.
import { parseConfig, type Config } from './config.ts';
import type { ConfigOfKinds, KindDescriptor } from './kind-descriptor.ts';
import { defaultKinds } from './kinds.ts';

export { ConfigError } from './config.ts';

export type ServiceConfig = Config & ConfigOfKinds<typeof defaultKinds>;

/** The configuration from the environment; `kinds` (default: every built-in one) add their settings. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, kinds: readonly KindDescriptor<any>[] = defaultKinds): ServiceConfig {
  return parseConfig(env, kinds) as ServiceConfig;
}
