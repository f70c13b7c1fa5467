// DNS rebinding: with authentication off every caller is the local admin, and a
// web page whose name the attacker re-points at 127.0.0.1 is same-origin with
// the API to the browser (Origin and Host both name the attacker's host). Its
// requests still carry that name in Host, so with authentication off only
// loopback names, and the names in AUTH_DISABLED_ALLOWED_HOSTS, are answered.
// With authentication on a rebound page has no token to send.
import ipaddr from 'ipaddr.js';

function parseHost(value: string): URL | null {
  try {
    const url = new URL(`http://${value}`);
    return url.username || url.password || url.pathname !== '/' || url.search || url.hash ? null : url;
  } catch {
    return null;
  }
}

/** The host name of a Host header (lower case, IPv6 in brackets, without the port); null when it is none. */
export function hostnameOf(host: string): string | null {
  return parseHost(host)?.hostname ?? null;
}

/** An AUTH_DISABLED_ALLOWED_HOSTS entry as hostnameOf gives it; null when it is not a host name or address without a port. */
export function allowedHostEntry(entry: string): string | null {
  const url = parseHost(ipaddr.IPv6.isValid(entry) ? `[${entry}]` : entry);
  return url && !url.port ? url.hostname : null;
}

/** localhost, *.localhost (browsers resolve those to loopback themselves), 127.0.0.0/8 and [::1]. */
export function isLoopbackHostname(hostname: string): boolean {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return true;
  const address = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(address) && ipaddr.process(address).range() === 'loopback';
}

/** What a server checks: null with authentication on (any Host); otherwise the extra names allowed besides loopback ones. */
export type HostPolicy = ReadonlySet<string> | null;

export function hostPolicy(config: { AUTH_ENABLED: boolean; AUTH_DISABLED_ALLOWED_HOSTS: readonly string[] }): HostPolicy {
  return config.AUTH_ENABLED ? null : new Set(config.AUTH_DISABLED_ALLOWED_HOSTS);
}

/** null when the request's Host is answered; otherwise the refusal, naming the rule and how to allow the name. */
export function hostRefusal(host: string | undefined, policy: HostPolicy): string | null {
  if (policy === null) return null;
  const hostname = host === undefined ? null : hostnameOf(host);
  if (hostname !== null && (isLoopbackHostname(hostname) || policy.has(hostname))) return null;
  const named = host === undefined ? 'no Host header' : `Host ${JSON.stringify(host.slice(0, 100))}`;
  return (
    `${named} is not answered: with authentication off (AUTH_ENABLED=false) only loopback host names ` +
    '(localhost, 127.0.0.1, [::1]) are, against DNS rebinding; add the name to AUTH_DISABLED_ALLOWED_HOSTS to allow it'
  );
}
