// The debug log of HTTP requests.
import type { RequestListener } from 'node:http';
import type { Logger } from '../logger.ts';

/** One debug line per HTTP request, once its response is sent (nothing is measured unless debug is on). */
export function logRequests(logger: Logger, handler: RequestListener): RequestListener {
  if (!logger.isLevelEnabled('debug')) return handler;
  return (request, response) => {
    const started = performance.now();
    response.once('close', () => {
      logger.debug(
        // The path only: a GET's query string carries its variables, which may hold a secret.
        { method: request.method, url: request.url?.split('?')[0], status: response.statusCode, durationMs: Math.round((performance.now() - started) * 10) / 10 },
        'http request',
      );
    });
    return handler(request, response);
  };
}
