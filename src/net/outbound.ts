// The one way job handlers reach other services over HTTP (webhook.send, the
// http-csv provider, the Flex Web Service). It refuses addresses that are not
// public unicast (loopback, private, link-local, unique-local, cloud metadata,
// ...) after DNS resolution, at connect time, so a name cannot resolve to one
// address when checked and another when used; redirects are followed here, one
// by one, each checked again. OUTBOUND_ALLOW_LIST lets chosen ones through.
//
// Every answer is bounded: its body is streamed through a counter that stops
// reading past OUTBOUND_RESPONSE_MAX_BYTES, and the whole request (redirects,
// headers and body) must end within OUTBOUND_TIMEOUT_MS; either failure is an
// OutboundLimitError naming its bound. A server that answers without end costs
// a job at most that many bytes, never the worker's memory.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';
import type { Agent, RequestInit as UndiciRequestInit } from 'undici';

// undici is loaded at the first outbound request, not with the module: every
// process builds the handlers, but only a worker sends, and an API process
// (`serve`) that never does skips its 95 modules, about 2 MB of heap (docs/benchmarks.md#memory).
const importUndici = () => import('undici');
let undici: ReturnType<typeof importUndici> | undefined;
const loadUndici = () => (undici ??= importUndici());

/** Defaults of OUTBOUND_RESPONSE_MAX_BYTES and OUTBOUND_TIMEOUT_MS (config.ts). */
export const DEFAULT_RESPONSE_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 300_000;

export interface OutboundOptions {
  /** CIDRs (10.0.0.0/8), addresses (127.0.0.1, ::1) or host names (hooks.internal) to let through. */
  allowList: readonly string[];
  /** Redirects one request follows. */
  maxRedirects: number;
  /** Largest answer body read; past it reading stops and the body fails (OUTBOUND_RESPONSE_MAX_BYTES). */
  maxResponseBytes?: number;
  /** Time for the whole request, its answer's body read included (OUTBOUND_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** The outbound settings of the configuration. */
export function outboundOptions(config: {
  OUTBOUND_ALLOW_LIST: readonly string[];
  OUTBOUND_MAX_REDIRECTS: number;
  OUTBOUND_RESPONSE_MAX_BYTES: number;
  OUTBOUND_TIMEOUT_MS: number;
}): OutboundOptions {
  return {
    allowList: config.OUTBOUND_ALLOW_LIST,
    maxRedirects: config.OUTBOUND_MAX_REDIRECTS,
    maxResponseBytes: config.OUTBOUND_RESPONSE_MAX_BYTES,
    timeoutMs: config.OUTBOUND_TIMEOUT_MS,
  };
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

/**
 * An answer over a bound: longer than OUTBOUND_RESPONSE_MAX_BYTES, or not
 * complete within OUTBOUND_TIMEOUT_MS. The message names the origin only (a
 * URL's path or query may be a secret, e.g. a Slack webhook), the bound and
 * the setting that raises it.
 */
export class OutboundLimitError extends Error {
  override name = 'OutboundLimitError';
  constructor(
    readonly setting: 'OUTBOUND_RESPONSE_MAX_BYTES' | 'OUTBOUND_TIMEOUT_MS',
    readonly limit: number,
    origin: string,
  ) {
    super(
      setting === 'OUTBOUND_RESPONSE_MAX_BYTES'
        ? `the answer of ${origin} is longer than ${limit} bytes (OUTBOUND_RESPONSE_MAX_BYTES); reading stopped there`
        : `no complete answer from ${origin} within ${limit} ms (OUTBOUND_TIMEOUT_MS)`,
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
  let dispatcher: Agent | undefined;

  /** Literal addresses never reach `lookup`: checked here. */
  const checkUrl = (url: URL) => {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundRefusedError(url.host, url.host, `${url.protocol} URL`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (allow.hosts.has(host.toLowerCase()) || !ipaddr.isValid(host)) return;
    const rule = refusalRule(host, allow);
    if (rule) throw new OutboundRefusedError(host, host, rule);
  };

  const maxBytes = options.maxResponseBytes ?? DEFAULT_RESPONSE_MAX_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  return async (input, init = {}) => {
    let url = new URL(input);
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    const headers = { ...init.headers };
    // One clock for the whole request: aborting with the limit error as reason makes
    // undici reject the fetch, or fail the body being read, with that error.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new OutboundLimitError('OUTBOUND_TIMEOUT_MS', timeoutMs, url.origin)), timeoutMs);
    timer.unref();
    const signal = init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal;
    for (let redirects = 0; ; redirects++) {
      checkUrl(url);
      let response;
      try {
        const { Agent, fetch: undiciFetch } = await loadUndici();
        dispatcher ??= new Agent({ connect: { lookup: lookup as never } });
        response = await undiciFetch(url, { method, headers, body, signal, redirect: 'manual', dispatcher } as UndiciRequestInit);
      } catch (error) {
        clearTimeout(timer);
        // undici wraps connect errors in "fetch failed": the refusal is the reason.
        const cause = (error as { cause?: unknown }).cause;
        if (cause instanceof OutboundRefusedError) throw cause;
        throw error;
      }
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || !location) return bounded(response as unknown as Response, maxBytes, url.origin, timer);
      await response.body?.cancel();
      if (redirects >= options.maxRedirects) {
        clearTimeout(timer);
        throw new Error(`${method} ${url.origin}: more than ${options.maxRedirects} redirects (OUTBOUND_MAX_REDIRECTS)`);
      }
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

/**
 * The answer with its body counted as it streams: past maxBytes the stream
 * fails with an OutboundLimitError and the connection is dropped, so nothing
 * more is read. A declared Content-Length over the bound fails at once.
 */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function bounded(response: Response, maxBytes: number, origin: string, timer: NodeJS.Timeout): Response {
  if (!response.body || NULL_BODY_STATUSES.has(response.status)) {
    clearTimeout(timer);
    return response;
  }
  const tooLarge = () => new OutboundLimitError('OUTBOUND_RESPONSE_MAX_BYTES', maxBytes, origin);
  let read = 0;
  const declared = Number(response.headers.get('content-length') ?? NaN);
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      if (declared > maxBytes) {
        clearTimeout(timer);
        controller.error(tooLarge());
      }
    },
    transform(chunk, controller) {
      read += chunk.byteLength;
      if (read > maxBytes) {
        clearTimeout(timer);
        controller.error(tooLarge());
      } else controller.enqueue(chunk);
    },
    flush() {
      clearTimeout(timer);
    },
  });
  return new Response(response.body.pipeThrough(counter), { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * The first maxBytes of an answer as text, and whether it was longer; the
 * rest is never read (the connection is dropped). For callers that keep only
 * an excerpt of an answer, e.g. webhook.send.
 */
export async function readExcerpt(response: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      length += value.byteLength;
      if (length > maxBytes) {
        truncated = true;
        break;
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const bytes = Buffer.concat(chunks).subarray(0, maxBytes);
  // stream: true holds back a character cut in half at the end instead of mangling it.
  return { text: new TextDecoder().decode(bytes, { stream: truncated }), truncated };
}

/**
 * Checks a URL before it is saved (a webhook subscription's): refused, as a
 * request to it would be, when it is not http(s) or any address its host
 * resolves to is refused. Requests are checked again at connect time: a name
 * may resolve elsewhere later. A host that does not resolve is refused too,
 * with the resolver's code.
 */
export async function checkOutboundUrl(value: string, allowList: readonly string[]): Promise<void> {
  const allow = parseAllowList(allowList);
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundRefusedError(url.host, url.host, `${url.protocol} URL`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (allow.hosts.has(host.toLowerCase())) return;
  const addresses = ipaddr.isValid(host)
    ? [host]
    : await new Promise<string[]>((resolve, reject) =>
        dnsLookup(host, { all: true }, (error, found) =>
          error ? reject(new Error(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? error.message})`)) : resolve(found.map((each) => each.address)),
        ),
      );
  for (const address of addresses) {
    const rule = refusalRule(address, allow);
    if (rule) throw new OutboundRefusedError(host, address, rule);
  }
}
