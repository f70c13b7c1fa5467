// The operator's port (METRICS_HOST, METRICS_PORT), apart from the API, so that
// it is reachable only where the operator binds it. /metrics (Prometheus text)
// answers the metrics:read scope (or admin): a scraper sends `Authorization:
// Bearer <API key or JWT>` with a scope that reads metrics and nothing else; with
// authentication off, every caller is the local admin.
// /health/live and /health/ready answer without a token, as on the API: they are
// how an orchestrator probes a `work` process, which has no API port.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerToken, TokenError, type Authenticator } from '../auth/authenticate.ts';
import { hostRefusal, type HostPolicy } from '../net/host-check.ts';
import { hasScope } from '../auth/principal.ts';
import { isConnectionError } from '../db/retry.ts';
import { healthAnswer, type Health } from '../health.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics/metrics.ts';

export const METRICS_PATH = '/metrics';

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

function refuse(response: ServerResponse, status: 401 | 403, message: string) {
  response
    .writeHead(status, { 'content-type': 'text/plain', ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}) })
    .end(`${message}\n`);
}

export async function startMetricsServer(
  metrics: Metrics,
  authenticator: Authenticator,
  host: string,
  port: number,
  logger: Logger,
  /** The process's readiness, served at /health/*; without it those paths answer 404. */
  health?: Health,
  /** With authentication off, the Host names /metrics answers (net/host-check.ts); null: any. */
  hosts: HostPolicy = null,
): Promise<MetricsServer> {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const answer = health ? healthAnswer(path, health) : null;
    if (answer) {
      response.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer.body));
      return;
    }
    if (path !== METRICS_PATH || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; this port serves ${METRICS_PATH}, /health/live and /health/ready\n`);
      return;
    }
    const hostRefused = hostRefusal(request.headers.host, hosts);
    if (hostRefused) return refuse(response, 403, hostRefused);
    // The same authentication as the API's (API keys and JWTs, authenticate.ts).
    let principal;
    try {
      principal = await authenticator.authenticate(bearerToken(request.headers.authorization));
    } catch (error) {
      if (error instanceof TokenError) return refuse(response, 401, error.message);
      if (isConnectionError(error)) {
        response.writeHead(503, { 'content-type': 'text/plain' }).end('the database is unavailable to check the token; retry\n');
        return;
      }
      logger.error({ err: error }, 'authenticating a metrics scrape failed');
      response.writeHead(500, { 'content-type': 'text/plain' }).end('authentication failed; see the log\n');
      return;
    }
    if (!hasScope(principal, 'metrics:read')) {
      if (principal.scopes.size === 0) return refuse(response, 401, 'metrics need a token (Authorization: Bearer <API key or JWT with the scope metrics:read>)');
      return refuse(response, 403, 'metrics need the scope metrics:read (or admin)');
    }
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error) => {
        logger.error({ err: error }, 'collecting metrics failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed; see the log\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${address.port}${METRICS_PATH}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
