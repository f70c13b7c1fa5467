// JWTs for browser clients, verified by jose: an HS256 secret or the
// identity provider's JWKS; issuer and audience must match the configuration.
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Config } from '../config.ts';
import { TokenError } from './api-keys.ts';
import { JWT_PRINCIPAL_PREFIX, parseScopes, type Principal } from './principal.ts';

export type JwtVerifier = (token: string) => Promise<Principal>;

type JwtConfig = Pick<
  Config,
  | 'AUTH_JWT_SECRET'
  | 'AUTH_JWKS_URL'
  | 'AUTH_JWT_ISSUER'
  | 'AUTH_JWT_AUDIENCE'
  | 'AUTH_JWT_PRINCIPAL_CLAIM'
  | 'AUTH_JWT_TENANT_CLAIM'
  | 'AUTH_JWT_SCOPES_CLAIM'
>;

/** null when no JWT setting is configured. */
export function createJwtVerifier(config: JwtConfig): JwtVerifier | null {
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[] | undefined;
  if (config.AUTH_JWT_SECRET) {
    key = new TextEncoder().encode(config.AUTH_JWT_SECRET);
    algorithms = ['HS256'];
  } else if (config.AUTH_JWKS_URL) {
    key = createRemoteJWKSet(new URL(config.AUTH_JWKS_URL));
  } else {
    return null;
  }
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Uint8Array, {
        issuer: config.AUTH_JWT_ISSUER,
        audience: config.AUTH_JWT_AUDIENCE,
        algorithms,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new TokenError('token expired');
      if (error instanceof errors.JWTClaimValidationFailed) throw new TokenError(`token claim "${error.claim}" is not accepted`);
      if (error instanceof errors.JOSEError) throw new TokenError('invalid token (signature or format)');
      throw error;
    }
    const principalId = payload[config.AUTH_JWT_PRINCIPAL_CLAIM];
    const tenantId = payload[config.AUTH_JWT_TENANT_CLAIM];
    if (typeof principalId !== 'string' || !principalId) throw new TokenError(`token has no "${config.AUTH_JWT_PRINCIPAL_CLAIM}" claim`);
    if (typeof tenantId !== 'string' || !tenantId) throw new TokenError(`token has no "${config.AUTH_JWT_TENANT_CLAIM}" claim`);
    let scopes;
    try {
      scopes = parseScopes(payload[config.AUTH_JWT_SCOPES_CLAIM]);
    } catch (error) {
      throw new TokenError(`token claim "${config.AUTH_JWT_SCOPES_CLAIM}": ${(error as Error).message}`);
    }
    // Prefixed, as every principal id names its kind (principal.ts): a sub of "key:<id>" must not pass for that API key.
    return { principalId: `${JWT_PRINCIPAL_PREFIX}${principalId}`, tenantId, scopes, expiresAt: payload.exp ? new Date(payload.exp * 1000) : null };
  };
}
