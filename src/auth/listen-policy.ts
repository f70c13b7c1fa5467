// The safe default: without authentication every caller is admin, so the API
// (and the metrics endpoint, METRICS_HOST) listens on a loopback address only,
// unless explicitly allowed elsewhere.
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { EXIT_USAGE, StartupError } from '../startup-errors.ts';

async function isLoopbackHost(host: string): Promise<boolean> {
  const addresses = ipaddr.isValid(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((entry) => entry.address);
  return addresses.length > 0 && addresses.every((address) => ipaddr.process(address).range() === 'loopback');
}

/** Throws a StartupError (exit 2, a configuration mistake) naming the setting when the API would listen beyond loopback without authentication. */
export async function checkListenPolicy(config: Pick<Config, 'AUTH_ENABLED' | 'AUTH_DISABLED_ALLOW_NON_LOOPBACK' | 'HOST'>, logger: Logger) {
  if (config.AUTH_ENABLED) return;
  if (await isLoopbackHost(config.HOST)) {
    logger.warn(
      { host: config.HOST },
      'authentication is off (AUTH_ENABLED=false): every caller is the local admin; listening on loopback only',
    );
    return;
  }
  if (config.AUTH_DISABLED_ALLOW_NON_LOOPBACK) {
    logger.warn(
      { host: config.HOST },
      'authentication is off and HOST is not loopback (AUTH_DISABLED_ALLOW_NON_LOOPBACK=true): anyone who reaches the API is admin',
    );
    return;
  }
  throw new StartupError(
    `refusing to listen on ${config.HOST} without authentication: set AUTH_ENABLED=true (and create API keys with \`jobwire keys create\`), ` +
      'or use a loopback HOST, or set AUTH_DISABLED_ALLOW_NON_LOOPBACK=true to allow it anyway',
    EXIT_USAGE,
  );
}

/**
 * The same rule for the metrics endpoint (METRICS_HOST, when METRICS_PORT is set):
 * without authentication anyone who reaches it is admin, so it stays on loopback
 * unless AUTH_DISABLED_ALLOW_NON_LOOPBACK says otherwise. Silent on loopback (the
 * API's warning, or none in a worker-only process, says authentication is off).
 */
export async function checkMetricsListenPolicy(
  config: Pick<Config, 'AUTH_ENABLED' | 'AUTH_DISABLED_ALLOW_NON_LOOPBACK' | 'METRICS_HOST' | 'METRICS_PORT'>,
  logger: Logger,
) {
  if (config.AUTH_ENABLED || config.METRICS_PORT === undefined || (await isLoopbackHost(config.METRICS_HOST))) return;
  if (config.AUTH_DISABLED_ALLOW_NON_LOOPBACK) {
    logger.warn(
      { host: config.METRICS_HOST },
      'authentication is off and METRICS_HOST is not loopback (AUTH_DISABLED_ALLOW_NON_LOOPBACK=true): anyone who reaches the metrics endpoint can read it',
    );
    return;
  }
  throw new StartupError(
    `refusing to serve metrics on ${config.METRICS_HOST} without authentication: set AUTH_ENABLED=true (and scrape with a metrics:read API key), ` +
      'or use a loopback METRICS_HOST, or set AUTH_DISABLED_ALLOW_NON_LOOPBACK=true to allow it anyway',
    EXIT_USAGE,
  );
}
