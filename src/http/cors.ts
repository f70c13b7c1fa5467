// Cross-origin requests: only CORS_ALLOWED_ORIGINS, never a reflected origin.
import { CSRF_HEADER } from '../graphql/csrf.ts';

/** Browser origins allowed to call the API besides its own (never a reflected origin). */
export function corsOptions(allowedOrigins: readonly string[]) {
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (!origin || !allowedOrigins.includes(origin)) return false as const;
    return { origin: [origin], credentials: true, methods: ['GET', 'POST'], allowedHeaders: ['authorization', 'content-type', CSRF_HEADER] };
  };
}
