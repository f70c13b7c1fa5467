// Token → principal, for HTTP (`Authorization: Bearer <token>`) and websockets
// (connection_init payload `{ authorization: "Bearer <token>" }` or `{ token }`).
import type pg from 'pg';
import type { Config } from '../config.ts';
import { TokenError, looksLikeApiKey, verifyApiKey } from './api-keys.ts';
import { createJwtVerifier } from './jwt.ts';
import { ANONYMOUS, LOCAL_PRINCIPAL, type Principal } from './principal.ts';
import { looksLikeViewerToken, verifyViewerToken } from './viewer-tokens.ts';

export { TokenError };

export interface Authenticator {
  /** The principal of a token (undefined: none given); TokenError when it is not valid. */
  authenticate(token: string | undefined): Promise<Principal>;
  /** Drops a key's verified principal from the cache (it was revoked): its next request looks it up again. */
  forgetApiKey(id: string): void;
}

/** `Bearer <token>` → token; undefined when absent; TokenError for another scheme. */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new TokenError('Authorization must be "Bearer <token>"');
  return match[1];
}

/** The token of a graphql-ws connection_init payload. */
export function connectionToken(payload: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (typeof payload?.authorization === 'string') return bearerToken(payload.authorization);
  if (typeof payload?.token === 'string' && payload.token) return payload.token;
  return undefined;
}

export function createAuthenticator(config: Config, pool: pg.Pool): Authenticator {
  // A viewer token only narrows what its bearer reads, so it is honoured with authentication off too.
  const viewer = (token: string | undefined) => (token !== undefined && looksLikeViewerToken(token) ? verifyViewerToken(pool, token) : null);
  if (!config.AUTH_ENABLED) return { authenticate: async (token) => (await viewer(token)) ?? LOCAL_PRINCIPAL, forgetApiKey: () => undefined };
  const verifyJwt = createJwtVerifier(config);
  // Verified keys are kept briefly: a key lookup per request would cost createJob a query.
  const cache = new Map<string, { principal: Principal; until: number }>();
  return {
    async authenticate(token) {
      if (token === undefined) return ANONYMOUS;
      const viewerPrincipal = viewer(token);
      if (viewerPrincipal) return viewerPrincipal;
      if (looksLikeApiKey(token)) {
        const now = Date.now();
        const cached = cache.get(token);
        if (cached && cached.until > now && (!cached.principal.expiresAt || cached.principal.expiresAt.getTime() > now)) {
          return cached.principal;
        }
        const principal = await verifyApiKey(pool, token);
        if (config.AUTH_API_KEY_CACHE_MS > 0) {
          if (cache.size > 10_000) cache.clear();
          cache.set(token, { principal, until: now + config.AUTH_API_KEY_CACHE_MS });
        }
        return principal;
      }
      if (!verifyJwt) throw new TokenError('invalid API key (JWTs are not configured)');
      return verifyJwt(token);
    },
    forgetApiKey(id) {
      for (const [token, { principal }] of cache) if (principal.apiKeyId === id) cache.delete(token);
    },
  };
}
