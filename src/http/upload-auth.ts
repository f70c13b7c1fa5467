// Uploads are authenticated from their headers, before their body is read.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, TokenError } from '../auth/authenticate.ts';
import { hasScope, type Principal } from '../auth/principal.ts';
import { isConnectionError } from '../db/retry.ts';
import type { ApiServices } from '../graphql/context.ts';
import { DATABASE_UNAVAILABLE } from '../graphql/error-masking.ts';
import { refuse } from '../graphql/http-guard.ts';

/**
 * The principal of a multipart request, checked from its headers alone: without
 * a token, with a refused one, or without jobs:write (every upload is a mutation)
 * it is answered before its body is read, and the body is never parsed or kept
 * (http-guard.ts: dropped as it arrives, or the connection closed). The
 * principal goes on to yoga's context.
 */
export async function authenticateUpload(request: IncomingMessage, response: ServerResponse, services: ApiServices): Promise<Principal | null> {
  const answer = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
    refuse(request, response, status, message, code, headers);
    return null;
  };
  let principal: Principal;
  try {
    const token = bearerToken(request.headers.authorization);
    // The code every field answers without a token (graphql/builder.ts).
    const noToken = () =>
      answer(401, 'NotAuthorizedError', 'an upload needs a token (Authorization: Bearer <API key or JWT>); it is refused before its body is read', {
        'www-authenticate': 'Bearer',
      });
    if (token === undefined) return noToken();
    principal = await services.authenticator.authenticate(token);
    // A viewer token reads its jobs only, and is answered as no token elsewhere (graphql/viewer.ts).
    if (principal.viewer) return noToken();
  } catch (error) {
    if (error instanceof TokenError) return answer(401, 'UNAUTHENTICATED', error.message, { 'www-authenticate': 'Bearer' });
    if (isConnectionError(error)) return answer(503, DATABASE_UNAVAILABLE, 'the database is unavailable to check the token; retry in a few seconds', { 'retry-after': '2' });
    services.logger.error({ err: error }, 'authenticating an upload failed');
    return answer(500, 'INTERNAL_SERVER_ERROR', 'authentication failed; see the log');
  }
  if (!hasScope(principal, 'jobs:write')) return answer(403, 'NotAuthorizedError', 'an upload needs the scope jobs:write');
  return principal;
}
