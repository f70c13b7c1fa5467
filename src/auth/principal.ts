// Who is asking. Every request resolves to one principal (authenticate.ts);
// its scopes decide which fields it may use (graphql/builder.ts, scope-auth)
// and its tenant which rows it sees (tenant-scope.ts).

/**
 * The scopes a token may carry. `admin` implies the others and crosses tenants.
 * `connections:write` saves, lists and deletes its tenant's provider connections (src/connections).
 * `metrics:read` scrapes /metrics (http/metrics-server.ts) and reaches nothing else:
 * every GraphQL root field needs jobs:read, jobs:write, connections:write or admin.
 * `worker` speaks the remote-worker protocol (/workers/v1, src/remote-workers)
 * for its tenant's jobs and reaches nothing else.
 */
export const SCOPES = ['jobs:read', 'jobs:write', 'connections:write', 'metrics:read', 'worker', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who asks: every request resolves to one principal (src/auth/authenticate.ts). */
export type Caller = Principal;

export interface Principal {
  /**
   * Stored as a job's `createdBy`; keys rate limits and socket counts. It names
   * its kind, so that no token can pass for another kind of principal:
   * `key:<id>` (an API key), `jwt:<sub>` (a JWT's principal claim), `cli:<user>`
   * (the operator CLI), `local-dev` (authentication off).
   */
  principalId: string;
  tenantId: string;
  scopes: ReadonlySet<Scope>;
  /** When the token stops being valid (websockets close then); null: never. */
  expiresAt: Date | null;
  /** The API key it authenticated with (open websockets check it again: auth/open-sockets.ts); absent for JWTs. */
  apiKeyId?: string;

  // --- Viewer tokens (issue 28, auth/viewer-tokens.ts) ---
  /**
   * Set for a viewer token only: the jobs it may read. Such a principal has no
   * scope, so every field but the few readable by viewers (graphql/viewer.ts)
   * refuses it exactly as a request without a token.
   */
  viewer?: ViewerGrant;
}

/**
 * What a viewer token may read: one of the two. `jobIds`: these jobs of its
 * tenant. `tag`: the jobs of its tenant that have this tag when they are read
 * (a job tagged after the token was minted included).
 */
export type ViewerGrant = { jobIds: ReadonlySet<string>; tag?: undefined } | { tag: string; jobIds?: undefined };

/** The kind prefix of a viewer token's principal id (`viewer:<token id>`). */
export const VIEWER_PRINCIPAL_PREFIX = 'viewer:';

/** The kind prefix of a JWT's principal id. */
export const JWT_PRINCIPAL_PREFIX = 'jwt:';

/** The tenant of rows written before tenants existed, and of the local principal. */
export const DEFAULT_TENANT = 'default';

/** With authentication off (loopback only), every caller is this admin. */
export const LOCAL_PRINCIPAL: Principal = {
  principalId: 'local-dev',
  tenantId: DEFAULT_TENANT,
  scopes: new Set<Scope>(['admin', 'jobs:read', 'jobs:write']),
  expiresAt: null,
};

/** A request without a token when authentication is on: no scope, so every field refuses it. */
export const ANONYMOUS: Principal = {
  principalId: 'anonymous',
  tenantId: '',
  scopes: new Set<Scope>(),
  expiresAt: null,
};

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has('admin') || principal.scopes.has(scope);
}

/** The tenant whose rows the principal may see; null for admin (every tenant). */
export function visibleTenant(principal: Principal): string | null {
  return principal.scopes.has('admin') ? null : principal.tenantId;
}

/** Parses scopes from a token claim or CLI flag; unknown names are an error naming them. */
export function parseScopes(value: unknown): Set<Scope> {
  const list = Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  const scopes = new Set<Scope>();
  for (const name of list.filter(Boolean)) {
    if (!(SCOPES as readonly string[]).includes(name)) throw new Error(`unknown scope "${name}" (known: ${SCOPES.join(', ')})`);
    scopes.add(name as Scope);
  }
  return scopes;
}
