// Viewer tokens: short-lived, signed tokens that let an end user's browser read
// a few jobs of one tenant and nothing else (docs/end-user-live-jobs.md). An
// app's back end mints one (createViewerToken, the mutation or the package
// call) and hands it to the page; the page queries `job(id)` and subscribes to
// those jobs' updates, events and streams with it.
//
// A token is `jwv_` + a JWT (HS256, jose). The prefix routes it to this
// verifier only, so neither an identity provider's JWT nor an API key can pass
// for one, nor the reverse. The key is shared by every API process through
// the database (viewer_token_secret). Nothing is stored per token: a token
// lives at most VIEWER_TOKEN_TTL_MAX_SECONDS and its sockets close when it
// expires (auth/open-sockets.ts), as any token's.
import { randomBytes, randomUUID } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Queryable } from '../db/pool.ts';
import { JobNotFoundError, ValidationError } from '../core/errors.ts';
import { isUuid } from '../core/validation.ts';
import { TokenError } from './api-keys.ts';
import { VIEWER_PRINCIPAL_PREFIX, type Principal } from './principal.ts';

export const VIEWER_TOKEN_PREFIX = 'jwv_';
/** Most jobs one token may read. */
export const VIEWER_TOKEN_JOBS_MAX = 100;
export const VIEWER_TOKEN_TTL_DEFAULT_SECONDS = 900;
/** A day: a viewer token is for one page's life, and cannot be revoked before it expires. */
export const VIEWER_TOKEN_TTL_MAX_SECONDS = 86_400;

const ISSUER = 'jobwire';
const AUDIENCE = 'jobwire:viewer';

export function looksLikeViewerToken(token: string): boolean {
  return token.startsWith(VIEWER_TOKEN_PREFIX);
}

/** Per database client (pool): the key never changes while a process runs. */
const secrets = new WeakMap<Queryable, Promise<Uint8Array>>();

/** The shared key, made by the first caller ever (a concurrent maker's row wins; the loser reads it). */
function viewerTokenSecret(db: Queryable): Promise<Uint8Array> {
  let secret = secrets.get(db);
  if (!secret) {
    secret = (async () => {
      for (let attempt = 0; ; attempt++) {
        // An insert that conflicts reads the row that exists; one that wins
        // returns its own. Under a concurrent insert this statement's snapshot
        // may see neither: then read again.
        const { rows } = await db.query<{ secret: Buffer }>(
          `with made as (insert into viewer_token_secret (id, secret) values (1, $1) on conflict (id) do nothing returning secret)
           select secret from made union all select secret from viewer_token_secret limit 1`,
          [randomBytes(32)],
        );
        if (rows[0]) return new Uint8Array(rows[0].secret);
        if (attempt >= 2) throw new Error('viewer_token_secret: no key could be read or made');
      }
    })();
    secrets.set(db, secret);
    secret.catch(() => secrets.delete(db));
  }
  return secret;
}

export interface NewViewerToken {
  /** The jobs it may read (UUIDs): 1 to VIEWER_TOKEN_JOBS_MAX of one tenant. */
  jobIds: readonly string[];
  /** 1 to VIEWER_TOKEN_TTL_MAX_SECONDS; default VIEWER_TOKEN_TTL_DEFAULT_SECONDS. */
  expiresInSeconds?: number | null;
}

export interface ViewerToken {
  token: string;
  expiresAt: Date;
  /** The jobs it reads, deduplicated, in the order given. */
  jobIds: string[];
  tenantId: string;
}

/**
 * Mints a token for jobs of `tenantId` (null: any one tenant, for admin and
 * operators; the token takes the jobs' tenant). A job of another tenant is
 * refused as a missing one (JobNotFoundError); bad input names its field.
 * `issuedBy` (the minter's principal id) is kept in the token as `sub`.
 */
export async function createViewerToken(db: Queryable, tenantId: string | null, issuedBy: string, input: NewViewerToken): Promise<ViewerToken> {
  const jobIds = [...new Set(input.jobIds.map((id) => id.toLowerCase()))];
  if (jobIds.length === 0) throw new ValidationError('jobIds', 'at least one job');
  if (jobIds.length > VIEWER_TOKEN_JOBS_MAX) throw new ValidationError('jobIds', `at most ${VIEWER_TOKEN_JOBS_MAX} jobs, got ${jobIds.length}`);
  input.jobIds.forEach((id, index) => {
    if (!isUuid(id)) throw new ValidationError(`jobIds.${index}`, `"${id}" is not a job id (a UUID)`);
  });
  const ttl = input.expiresInSeconds ?? VIEWER_TOKEN_TTL_DEFAULT_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > VIEWER_TOKEN_TTL_MAX_SECONDS) {
    throw new ValidationError('expiresInSeconds', `must be a whole number of seconds from 1 to ${VIEWER_TOKEN_TTL_MAX_SECONDS}, got ${ttl}`);
  }
  const { rows } = await db.query<{ id: string; tenantId: string }>(
    `select id, tenant_id as "tenantId" from job where id = any($1::uuid[]) and ($2::text is null or tenant_id = $2::text)`,
    [jobIds, tenantId],
  );
  const found = new Map(rows.map((row) => [row.id, row.tenantId]));
  const missing = jobIds.find((id) => !found.has(id));
  if (missing) throw new JobNotFoundError(missing);
  const tenants = new Set(found.values());
  if (tenants.size > 1) throw new ValidationError('jobIds', `jobs of ${tenants.size} tenants: a token reads the jobs of one tenant`);
  const tenant = [...tenants][0]!;
  const expiresAt = new Date((Math.floor(Date.now() / 1000) + ttl) * 1000);
  const jwt = await new SignJWT({ tenant, jobs: jobIds })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(issuedBy)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(await viewerTokenSecret(db));
  return { token: `${VIEWER_TOKEN_PREFIX}${jwt}`, expiresAt, jobIds, tenantId: tenant };
}

/** The principal of a valid viewer token (no scope, its jobs); TokenError naming why otherwise. */
export async function verifyViewerToken(db: Queryable, token: string): Promise<Principal> {
  if (!looksLikeViewerToken(token)) throw new TokenError('invalid viewer token');
  let payload;
  try {
    ({ payload } = await jwtVerify(token.slice(VIEWER_TOKEN_PREFIX.length), await viewerTokenSecret(db), {
      issuer: ISSUER,
      audience: AUDIENCE,
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'jti'],
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new TokenError('token expired');
    if (error instanceof errors.JOSEError) throw new TokenError('invalid token (signature or format)');
    throw error;
  }
  const { tenant, jobs, jti } = payload as { tenant?: unknown; jobs?: unknown; jti?: unknown };
  if (typeof tenant !== 'string' || !tenant || !Array.isArray(jobs) || !jobs.every((id) => typeof id === 'string' && isUuid(id))) {
    throw new TokenError('invalid token (signature or format)');
  }
  return {
    principalId: `${VIEWER_PRINCIPAL_PREFIX}${String(jti)}`,
    tenantId: tenant,
    scopes: new Set(),
    expiresAt: new Date(payload.exp! * 1000),
    viewer: { jobIds: new Set(jobs as string[]) },
  };
}
