// The one way job handlers reach other services over HTTP (webhook.send, the
// http-csv provider, the Flex Web Service). It refuses addresses that are not
// public unicast (loopback, private, link-local, unique-local, cloud metadata,
// ...) after DNS resolution, at connect time, so a name cannot resolve to one
// address when checked and another when used; redirects are followed here, one
// by one, each checked again. OUTBOUND_ALLOW_LIST lets chosen ones through.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { Agent, fetch as undiciFetch, type RequestInit as UndiciRequestInit } from 'undici';

export interface OutboundOptions {
  /** CIDRs (10.0.0.0/8), addresses (127.0.0.1, ::1) or host names (hooks.internal) to let through. */
  allowList: readonly string[];
  /** Redirects one request follows. */
  maxRedirects: number;
}

/** The outbound settings of the configuration. */
export function outboundOptions(config: { OUTBOUND_ALLOW_LIST: readonly string[]; OUTBOUND_MAX_REDIRECTS: number }): OutboundOptions {
  return { allowList: config.OUTBOUND_ALLOW_LIST, maxRedirects: config.OUTBOUND_MAX_REDIRECTS };
}

export type OutboundFetch = (url: string | URL, init?: OutboundRequestInit) => Promise<Response>;

export interface OutboundRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** The request was refused before connecting; `rule` names why (e.g. "loopback"). */
export class OutboundRefusedError extends Error {
  override name = 'OutboundRefusedError';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly rule: string,
  ) {
    super(
      `refused to connect to ${host}${host === address ? '' : ` (${address})`}: ${rule} addresses are not reachable from jobs (allow them with OUTBOUND_ALLOW_LIST)`,
    );
  }
}

/** ipaddr.js range names → the rule a refusal names. */
const RULE_BY_RANGE: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  carrierGradeNat: 'carrier-grade NAT',
  reserved: 'reserved',
};
const CLOUD_METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '100.100.100.200']);

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers a redirect to another origin does not carry on (as browsers do). */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

interface AllowList {
  hosts: Set<string>;
  ranges: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

function parseAllowList(entries: readonly string[]): AllowList {
  const allow: AllowList = { hosts: new Set(), ranges: [] };
  for (const entry of entries) {
    const value = entry.replace(/^\[|\]$/g, '');
    if (value.includes('/')) allow.ranges.push(ipaddr.parseCIDR(value));
    else if (ipaddr.isValid(value)) {
      const address = ipaddr.process(value);
      allow.ranges.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else allow.hosts.add(value.toLowerCase());
  }
  return allow;
}

/** The rule that refuses an address, or null when it may be reached. */
export function refusalRule(address: string, allow: AllowList): string | null {
  const parsed = ipaddr.process(address);
  if (allow.ranges.some(([range, bits]) => range.kind() === parsed.kind() && parsed.match(range, bits))) return null;
  if (CLOUD_METADATA.has(parsed.toString())) return 'cloud metadata';
  const range = parsed.range();
  if (range === 'unicast') return null;
  return RULE_BY_RANGE[range] ?? range;
}

export function createOutboundFetch(options: OutboundOptions): OutboundFetch {
  const allow = parseAllowList(options.allowList);

  // Checked where the socket is opened: the address connected to is the one checked.
  const lookup = (
    hostname: string,
    lookupOptions: { all?: boolean; family?: number },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      if (!allow.hosts.has(hostname.toLowerCase())) {
        for (const { address } of addresses) {
          const rule = refusalRule(address, allow);
          if (rule) return callback(new OutboundRefusedError(hostname, address, rule), []);
        }
      }
      if (lookupOptions.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
  const dispatcher = new Agent({ connect: { lookup: lookup as never } });

  /** Literal addresses never reach `lookup`: checked here. */
  const checkUrl = (url: URL) => {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundRefusedError(url.host, url.host, `${url.protocol} URL`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (allow.hosts.has(host.toLowerCase()) || !ipaddr.isValid(host)) return;
    const rule = refusalRule(host, allow);
    if (rule) throw new OutboundRefusedError(host, host, rule);
  };

  return async (input, init = {}) => {
    let url = new URL(input);
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    const headers = { ...init.headers };
    for (let redirects = 0; ; redirects++) {
      checkUrl(url);
      let response;
      try {
        response = await undiciFetch(url, { method, headers, body, signal: init.signal, redirect: 'manual', dispatcher } as UndiciRequestInit);
      } catch (error) {
        // undici wraps connect errors in "fetch failed": the refusal is the reason.
        const cause = (error as { cause?: unknown }).cause;
        if (cause instanceof OutboundRefusedError) throw cause;
        throw error;
      }
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || !location) return response as unknown as Response;
      await response.body?.cancel();
      if (redirects >= options.maxRedirects) throw new Error(`${method} ${url.origin}: more than ${options.maxRedirects} redirects (OUTBOUND_MAX_REDIRECTS)`);
      const next = new URL(location, url);
      if (next.origin !== url.origin) for (const name of Object.keys(headers)) if (CREDENTIAL_HEADERS.includes(name.toLowerCase())) delete headers[name];
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-type') delete headers[name];
      }
      url = next;
    }
  };
}
