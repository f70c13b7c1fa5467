// The remote-worker protocol over HTTP: POST /workers/v1/<operation>, a JSON
// body, `Authorization: Bearer <API key>`, a JSON answer. A small REST surface
// rather than GraphQL mutations: a worker in any language needs only an HTTP
// client and a JSON parser, and the calls are RPCs on a lease, not a graph
// (docs/remote-workers.md says more). Errors have the API's shape:
// { "errors": [{ "message", "extensions": { "code", "field"? } }] }.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, TokenError, type Authenticator } from '../auth/authenticate.ts';
import { isConnectionError } from '../db/retry.ts';
import type { Logger } from '../logger.ts';
import { PROTOCOL_PREFIX } from './protocol.ts';
import { ProtocolError, runOperation, type RemoteWorkerDeps } from './service.ts';

export interface RemoteWorkerHttpDeps extends RemoteWorkerDeps {
  authenticator: Authenticator;
  logger: Logger;
  /** REQUEST_JSON_MAX_BYTES: the guard refused larger declared bodies; this bounds what is read. */
  jsonMaxBytes: number;
}

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  response.end(text);
}

function refusal(response: ServerResponse, error: ProtocolError) {
  const headers: Record<string, string> = error.status === 401 ? { 'www-authenticate': 'Bearer' } : error.status === 503 ? { 'retry-after': '2' } : {};
  answer(response, error.status, { errors: [{ message: error.message, extensions: { code: error.code, ...(error.field ? { field: error.field } : {}), ...error.extensions } }] }, headers);
}

async function readJson(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  if (!/^application\/json\b/i.test(request.headers['content-type'] ?? '')) {
    throw new ProtocolError(415, 'UNSUPPORTED_MEDIA_TYPE', 'the worker protocol takes Content-Type: application/json');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new ProtocolError(413, 'BAD_REQUEST', `request body is over the limit of ${maxBytes} bytes (REQUEST_JSON_MAX_BYTES)`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new ProtocolError(400, 'BAD_REQUEST', 'request body is not valid JSON');
  }
}

/** Answers requests under /workers/v1 (true), leaves others (false). */
export function createRemoteWorkerHandler(deps: RemoteWorkerHttpDeps): (request: IncomingMessage, response: ServerResponse) => boolean {
  const logger = deps.logger.child({ component: 'remote-workers' });
  return (request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path !== PROTOCOL_PREFIX && !path.startsWith(`${PROTOCOL_PREFIX}/`)) return false;
    void (async () => {
      try {
        if (request.method !== 'POST') {
          request.resume();
          throw new ProtocolError(405, 'METHOD_NOT_ALLOWED', `the worker protocol takes POST only, not ${request.method}`);
        }
        let principal;
        try {
          principal = await deps.authenticator.authenticate(bearerToken(request.headers.authorization));
        } catch (error) {
          if (error instanceof TokenError) throw new ProtocolError(401, 'UNAUTHENTICATED', error.message);
          throw error;
        }
        const body = await readJson(request, deps.jsonMaxBytes);
        answer(response, 200, await runOperation(deps, path.slice(PROTOCOL_PREFIX.length + 1), principal, body));
      } catch (error) {
        if (error instanceof ProtocolError) return refusal(response, error);
        if (isConnectionError(error)) {
          return refusal(response, new ProtocolError(503, 'DATABASE_UNAVAILABLE', 'the database is unavailable; retry in a few seconds'));
        }
        logger.error({ err: error, path }, 'remote-worker request failed');
        refusal(response, new ProtocolError(500, 'INTERNAL_SERVER_ERROR', 'unexpected error; see the service log'));
      }
    })();
    return true;
  };
}
