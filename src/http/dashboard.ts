// Serves the dashboard's built files (dashboard/, built by `npm run
// build:dashboard`, which `npm install` runs) at /dashboard. Vite names each
// asset after its content hash, so assets are cached for a year; index.html is
// revalidated on every load so a new build is picked up at once.
//
// The files hold no data and need no token: everything the page shows comes
// from the GraphQL API, which authenticates the page's every request like any
// other client's (dashboard/src/api.ts). They pass the API's origin guard
// (http/server.ts), and a strict Content-Security-Policy keeps the page from
// loading or sending anything elsewhere, or being framed by another site (an
// operator's key is in its sessionStorage, and its buttons cancel jobs).
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';

export const DASHBOARD_PATH = '/dashboard';
/** Where `npm run build:dashboard` writes (dashboard/vite.config.ts). */
export const DASHBOARD_BUILD_DIR = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

type Handler = (request: IncomingMessage, response: ServerResponse) => boolean;

/** Headers of every dashboard file: same-origin only (GraphQL over HTTP and websockets included), never framed. */
export const DASHBOARD_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Answers /, /dashboard and everything under it; returns false for any other path. */
export function createDashboardHandler(buildDir = DASHBOARD_BUILD_DIR): Handler {
  const built = existsSync(`${buildDir}/index.html`);
  const serve = built
    ? sirv(buildDir, {
        // Paths of the single-page app (/dashboard/jobs/<id>) answer index.html.
        single: true,
        etag: true,
        setHeaders: (response, pathname) => {
          for (const [name, value] of Object.entries(DASHBOARD_SECURITY_HEADERS)) response.setHeader(name, value);
          response.setHeader('Cache-Control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      })
    : null;
  return (request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (path === '/' || path === DASHBOARD_PATH) {
      response.writeHead(302, { Location: `${DASHBOARD_PATH}/` }).end();
      return true;
    }
    if (!path.startsWith(`${DASHBOARD_PATH}/`)) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return true;
    }
    if (!serve) {
      response
        .writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('The dashboard is not built: run `npm run build:dashboard` (npm install runs it).\n');
      return true;
    }
    request.url = request.url!.slice(DASHBOARD_PATH.length);
    serve(request, response, () => {
      response.writeHead(404).end();
    });
    return true;
  };
}
