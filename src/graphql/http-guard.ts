// Checks made on the raw request, before yoga reads a byte of the body: the
// Host with authentication off (net/host-check.ts), the browser origin
// (CORS_ALLOWED_ORIGINS; same origin by default) and the body size
// (REQUEST_JSON_MAX_BYTES for JSON, the upload limit for multipart).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostRefusal, type HostPolicy } from '../net/host-check.ts';

/** Probes answer whatever the Host (an orchestrator names the pod's address); they hold no data. */
const HEALTH_PATHS = new Set(['/health/live', '/health/ready']);

export interface HttpGuardOptions {
  hostPolicy: HostPolicy;
  allowedOrigins: readonly string[];
  jsonMaxBytes: number;
  /** Largest multipart body: the largest file any mutation accepts, plus its form fields. */
  multipartMaxBytes: number;
}

/** A browser's Origin is allowed when it is this server's own or on the list. Non-browser clients send none. */
export function originAllowed(request: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowedOrigins.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host?.toLowerCase();
  } catch {
    return false;
  }
}

/** A refused body up to this size is read and dropped, so the client sees the answer instead of a broken pipe; a larger one is cut off. */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Answers a request that is refused before its body is read. The body is then
 * never parsed or kept: up to DRAIN_MAX_BYTES it is read and dropped as it
 * arrives (constant memory), else the connection is closed.
 */
export function refuse(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  message: string,
  code = status === 403 ? 'FORBIDDEN' : 'BAD_REQUEST',
  headers: Record<string, string> = {},
) {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  const drain = Number(request.headers['content-length'] ?? 0) <= DRAIN_MAX_BYTES;
  if (drain) request.resume();
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
    ...(drain ? {} : { connection: 'close' }),
  });
  response.end(body);
}

/** false when the request was answered (refused) here. */
export function guardRequest(request: IncomingMessage, response: ServerResponse, options: HttpGuardOptions): boolean {
  const hostRefused = hostRefusal(request.headers.host, options.hostPolicy);
  if (hostRefused && !HEALTH_PATHS.has(new URL(request.url ?? '/', 'http://x').pathname)) {
    refuse(request, response, 403, hostRefused, 'HOST_NOT_ALLOWED');
    return false;
  }
  if (!originAllowed(request, options.allowedOrigins)) {
    refuse(request, response, 403, `origin ${request.headers.origin} is not allowed (CORS_ALLOWED_ORIGINS)`);
    return false;
  }
  if (request.method !== 'POST') return true;
  const multipart = /^multipart\/form-data/i.test(request.headers['content-type'] ?? '');
  const limit = multipart ? options.multipartMaxBytes : options.jsonMaxBytes;
  const setting = multipart ? 'IMPORT_UPLOAD_MAX_BYTES' : 'REQUEST_JSON_MAX_BYTES';
  const declared = request.headers['content-length'];
  if (declared === undefined) {
    // A chunked body would have to be read to learn its size; clients send a length.
    refuse(request, response, 411, 'a POST needs a Content-Length header');
    return false;
  }
  if (Number(declared) > limit) {
    refuse(request, response, 413, `request body of ${declared} bytes is over the limit of ${limit} bytes (${setting})`);
    return false;
  }
  return true;
}
