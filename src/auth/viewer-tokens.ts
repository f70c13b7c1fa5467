// Viewer tokens: short-lived, signed tokens that let an end user's browser read
// a few jobs of one tenant, or that tenant's jobs with one tag, and nothing
// else (docs/end-user-live-jobs.md). An
// app's back end mints one (createViewerToken, the mutation or the package
// call, or createJob's `viewerToken` argument) and hands it to the page; the
// page queries `job(id)` and subscribes to those jobs' updates, events and
// streams with it. A tag token's jobs are decided at each read, by the job's
// tags then (auth/viewer-scope.ts, graphql/viewer.ts): a job tagged after the
// token was minted is readable with it.
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
import { JOB_TAG_FORMAT } from '../core/tags.ts';
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
  /** The jobs it may read (UUIDs): 1 to VIEWER_TOKEN_JOBS_MAX of one tenant. Give this or `tag`. */
  jobIds?: readonly string[] | null;
  /** Or: every job of the tenant that has this tag when it is read. */
  tag?: string | null;
  /** 1 to VIEWER_TOKEN_TTL_MAX_SECONDS; default VIEWER_TOKEN_TTL_DEFAULT_SECONDS. */
  expiresInSeconds?: number | null;
}

export interface ViewerToken {
  token: string;
  expiresAt: Date;
  /** The jobs it reads, deduplicated, in the order given; [] for a tag token. */
  jobIds: string[];
  /** A tag token's tag; null for a token of given jobs. */
  tag: string | null;
  tenantId: string;
}

/** The life asked for, checked: 1 to VIEWER_TOKEN_TTL_MAX_SECONDS, default VIEWER_TOKEN_TTL_DEFAULT_SECONDS. */
export function viewerTokenTtl(expiresInSeconds: number | null | undefined, field = 'expiresInSeconds'): number {
  const ttl = expiresInSeconds ?? VIEWER_TOKEN_TTL_DEFAULT_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > VIEWER_TOKEN_TTL_MAX_SECONDS) {
    throw new ValidationError(field, `must be a whole number of seconds from 1 to ${VIEWER_TOKEN_TTL_MAX_SECONDS}, got ${ttl}`);
  }
  return ttl;
}

/**
 * Signs a token for a grant already checked: jobs known to be the tenant's
 * (createJob's own job: no look-up), or a valid tag. Costs one HMAC (the key
 * is read once per process).
 */
export async function signViewerToken(
  db: Queryable,
  grant: { tenantId: string; jobIds: string[]; tag: string | null; ttlSeconds: number; issuedBy: string },
): Promise<ViewerToken> {
  const expiresAt = new Date((Math.floor(Date.now() / 1000) + grant.ttlSeconds) * 1000);
  const claims = grant.tag === null ? { tenant: grant.tenantId, jobs: grant.jobIds } : { tenant: grant.tenantId, tag: grant.tag };
  const jwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(grant.issuedBy)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(await viewerTokenSecret(db));
  return { token: `${VIEWER_TOKEN_PREFIX}${jwt}`, expiresAt, jobIds: grant.jobIds, tag: grant.tag, tenantId: grant.tenantId };
}

/**
 * Mints a token for jobs of `tenantId` (null: any one tenant, for admin and
 * operators; the token takes the jobs' tenant), or for the jobs of
 * `tenantId ?? ownTenantId` with a tag. A job of another tenant is refused as
 * a missing one (JobNotFoundError); bad input names its field. `issuedBy`
 * (the minter's principal id) is kept in the token as `sub`.
 */
export async function createViewerToken(
  db: Queryable,
  tenantId: string | null,
  issuedBy: string,
  input: NewViewerToken,
  ownTenantId: string = tenantId ?? '',
): Promise<ViewerToken> {
  if (input.tag != null && input.jobIds != null) throw new ValidationError('tag', 'give jobIds or tag, not both');
  if (input.tag != null) {
    const tag = input.tag;
    if (!JOB_TAG_FORMAT.test(tag)) throw new ValidationError('tag', `must be a tag (1-64 letters, digits or _.:=/-, starting with a letter or digit), got ${JSON.stringify(tag)}`);
    const ttlSeconds = viewerTokenTtl(input.expiresInSeconds);
    const tenant = tenantId ?? ownTenantId;
    if (!tenant) throw new ValidationError('tag', 'a tag token reads the jobs of one tenant: mint it for a tenant');
    // Nothing to look up: which jobs carry the tag is decided when they are read.
    return signViewerToken(db, { tenantId: tenant, jobIds: [], tag, ttlSeconds, issuedBy });
  }
  const given = input.jobIds ?? [];
  const jobIds = [...new Set(given.map((id) => id.toLowerCase()))];
  if (jobIds.length === 0) throw new ValidationError('jobIds', 'at least one job (or a tag)');
  if (jobIds.length > VIEWER_TOKEN_JOBS_MAX) throw new ValidationError('jobIds', `at most ${VIEWER_TOKEN_JOBS_MAX} jobs, got ${jobIds.length}`);
  given.forEach((id, index) => {
    if (!isUuid(id)) throw new ValidationError(`jobIds.${index}`, `"${id}" is not a job id (a UUID)`);
  });
  const ttlSeconds = viewerTokenTtl(input.expiresInSeconds);
  const { rows } = await db.query<{ id: string; tenantId: string }>(
    `select id, tenant_id as "tenantId" from job where id = any($1::uuid[]) and ($2::text is null or tenant_id = $2::text)`,
    [jobIds, tenantId],
  );
  const found = new Map(rows.map((row) => [row.id, row.tenantId]));
  const missing = jobIds.find((id) => !found.has(id));
  if (missing) throw new JobNotFoundError(missing);
  const tenants = new Set(found.values());
  if (tenants.size > 1) throw new ValidationError('jobIds', `jobs of ${tenants.size} tenants: a token reads the jobs of one tenant`);
  return signViewerToken(db, { tenantId: [...tenants][0]!, jobIds, tag: null, ttlSeconds, issuedBy });
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
  const { tenant, jobs, tag, jti } = payload as { tenant?: unknown; jobs?: unknown; tag?: unknown; jti?: unknown };
  // Exactly one grant: its jobs, or its tag.
  const byJobs = Array.isArray(jobs) && jobs.every((id) => typeof id === 'string' && isUuid(id)) && tag === undefined;
  const byTag = typeof tag === 'string' && JOB_TAG_FORMAT.test(tag) && jobs === undefined;
  if (typeof tenant !== 'string' || !tenant || !(byJobs || byTag)) {
    throw new TokenError('invalid token (signature or format)');
  }
  return {
    principalId: `${VIEWER_PRINCIPAL_PREFIX}${String(jti)}`,
    tenantId: tenant,
    scopes: new Set(),
    expiresAt: new Date(payload.exp! * 1000),
    viewer: byTag ? { tag: tag as string } : { jobIds: new Set(jobs as string[]) },
  };
}
