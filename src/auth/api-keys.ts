// API keys: `jw_<id>_<secret>`. The id is the lookup key and visible in
// listings; only sha256(secret) is stored, so a key is shown once, when made.
// The secret has 256 bits of entropy: a fast hash is enough (no password).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../db/pool.ts';
import { parseScopes, SCOPES, type Principal, type Scope } from './principal.ts';

const KEY_FORMAT = /^jw_([a-z0-9]{16})_([A-Za-z0-9_-]{43})$/;

export interface ApiKeyRecord {
  id: string;
  name: string;
  tenantId: string;
  scopes: Scope[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

const hashSecret = (secret: string) => createHash('sha256').update(secret).digest();

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('jw_');
}

export interface NewApiKey {
  name: string;
  tenantId: string;
  scopes: readonly Scope[];
  expiresAt?: Date | null;
}

/** Stores a new key and answers it in full: the only time its secret exists outside the caller. */
export async function createApiKey(db: Queryable, input: NewApiKey): Promise<{ key: string; record: ApiKeyRecord }> {
  if (!input.name.trim()) throw new Error('name: must not be empty');
  if (!input.tenantId.trim()) throw new Error('tenant: must not be empty');
  if (input.scopes.length === 0) throw new Error(`scopes: at least one of ${SCOPES.join(', ')}`);
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) throw new Error('expires: must be in the future');
  const id = randomBytes(10).toString('hex').slice(0, 16);
  const secret = randomBytes(32).toString('base64url');
  const result = await db.query<ApiKeyRecord>(
    `insert into api_key (id, name, tenant_id, scopes, secret_hash, expires_at)
     values ($1, $2, $3, $4, $5, $6)
     returning ${COLUMNS}`,
    [id, input.name.trim(), input.tenantId.trim(), [...input.scopes], hashSecret(secret), input.expiresAt ?? null],
  );
  return { key: `jw_${id}_${secret}`, record: result.rows[0]! };
}

const COLUMNS = `id, name, tenant_id as "tenantId", scopes, created_at as "createdAt", expires_at as "expiresAt", revoked_at as "revokedAt"`;

export async function listApiKeys(db: Queryable): Promise<ApiKeyRecord[]> {
  return (await db.query<ApiKeyRecord>(`select ${COLUMNS} from api_key order by created_at, id`)).rows;
}

/** Revokes a key; false when there is no such key. Revoking twice keeps the first time. */
export async function revokeApiKey(db: Queryable, id: string): Promise<boolean> {
  const result = await db.query(`update api_key set revoked_at = coalesce(revoked_at, now()) where id = $1`, [id]);
  return result.rowCount === 1;
}

export class TokenError extends Error {
  override name = 'TokenError';
}

/** The principal of a valid key; TokenError naming why otherwise. */
export async function verifyApiKey(db: Queryable, key: string): Promise<Principal> {
  const match = KEY_FORMAT.exec(key);
  if (!match) throw new TokenError('malformed API key');
  const [, id, secret] = match;
  const result = await db.query<ApiKeyRecord & { secretHash: Buffer }>(
    `select ${COLUMNS}, secret_hash as "secretHash" from api_key where id = $1`,
    [id],
  );
  const row = result.rows[0];
  // Compared in constant time; an unknown id is compared against itself so both paths cost the same.
  const expected = row?.secretHash ?? hashSecret('');
  const valid = timingSafeEqual(expected, hashSecret(secret!)) && row !== undefined;
  if (!valid) throw new TokenError('invalid API key');
  if (row.revokedAt) throw new TokenError('API key revoked');
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) throw new TokenError('API key expired');
  return { principalId: `key:${row.id}`, tenantId: row.tenantId, scopes: parseScopes(row.scopes), expiresAt: row.expiresAt };
}
