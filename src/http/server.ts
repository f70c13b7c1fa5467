// The API's HTTP server: one port for graphql-yoga (GraphiQL at /graphql,
// yoga.ts), graphql-ws on the same path (websocket.ts), the health probes
// (health-routes.ts) and the dashboard (dashboard.ts); every request passes
// the host, origin and body-size guard first, and an upload is authenticated
// before its body is read (upload-auth.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDashboardHandler } from './dashboard.ts';
import { createRemoteWorkerHandler } from '../remote-workers/http.ts';
import { hostPolicy } from '../net/host-check.ts';
import type { ApiServices } from '../graphql/context.ts';
import { guardRequest } from '../graphql/http-guard.ts';
import { logRequests } from './request-log.ts';
import { authenticateUpload } from './upload-auth.ts';
import { isUpload, multipartMaxBytes } from './upload-limits.ts';
import { startWebsocketServer } from './websocket.ts';
import { createYogaApp, GRAPHQL_PATH } from './yoga.ts';

export interface ApiServer {
  url: string;
  server: Server;
  /** graphql-ws connections open now. */
  readonly websocketCount: number;
  close(): Promise<void>;
}

export async function startApiServer(services: ApiServices, host: string, port: number): Promise<ApiServer> {
  const { config } = services;
  const yoga = createYogaApp(services);
  const guard = {
    hostPolicy: hostPolicy(config),
    allowedOrigins: config.CORS_ALLOWED_ORIGINS,
    jsonMaxBytes: config.REQUEST_JSON_MAX_BYTES,
    multipartMaxBytes: multipartMaxBytes(services),
  };
  const dashboard = createDashboardHandler();
  // The remote-worker protocol (/workers/v1, src/remote-workers/), past the same guard.
  const remoteWorkers = createRemoteWorkerHandler({ ...services, jsonMaxBytes: config.REQUEST_JSON_MAX_BYTES });
  const server = createServer(
    logRequests(services.logger.child({ component: 'http' }), (request, response) => {
      // The dashboard's static files pass the same origin guard as the API (dashboard.ts).
      if (!guardRequest(request, response, guard)) return;
      if (dashboard(request, response)) return;
      if (remoteWorkers(request, response)) return;
      // An upload is authenticated before yoga reads (and buffers) its body.
      if (config.AUTH_ENABLED && isUpload(request)) {
        void authenticateUpload(request, response, services).then((principal) => principal && yoga(request, response, { principal }));
        return;
      }
      void yoga(request, response);
    }),
  );
  // Listening first: a port in use fails the start (main.ts says so in one
  // line). Attached before, the websocket server would take the error as its
  // own, print it and leave the process running without its API.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const websockets = await startWebsocketServer(server, services, yoga, guard.hostPolicy);
  const address = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${address.port}${GRAPHQL_PATH}`,
    server,
    get websocketCount() {
      return websockets.count;
    },
    async close() {
      await websockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
