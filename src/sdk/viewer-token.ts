// createViewerToken for an app's back end: the same token the mutation mints,
// made with the app's own connection to the service's database (no API key
// needed), to hand to an end user's browser (docs/end-user-live-jobs.md).
import type { Queryable } from '../core/queryable.ts';
import { DEFAULT_TENANT } from '../auth/principal.ts';
import { createViewerToken as mint, type ViewerToken } from '../auth/viewer-tokens.ts';

export type { ViewerToken };

export interface ViewerTokenOptions {
  /** The tenant whose jobs it reads (default "default"); a job of another tenant is refused as a missing one. */
  tenantId?: string;
  /** Job UUIDs, 1 to 100. Give this or `tag`. */
  jobIds?: readonly string[];
  /** Or: the tenant's jobs that have this tag when they are read (a job tagged later included). */
  tag?: string;
  /** 1 to 86400; default 900. */
  expiresInSeconds?: number;
  /** Who it was made for or by, kept in the token's `sub` (default "app"). */
  issuedBy?: string;
}

/**
 * A signed token that reads these jobs (or the jobs with this tag) and nothing else, for `expiresInSeconds`.
 * Throws ValidationError (its `field` names what is wrong) or JobNotFoundError.
 */
export function createViewerToken(db: Queryable, options: ViewerTokenOptions): Promise<ViewerToken> {
  return mint(db, options.tenantId ?? DEFAULT_TENANT, options.issuedBy ?? 'app', { jobIds: options.jobIds, tag: options.tag, expiresInSeconds: options.expiresInSeconds });
}
