// Provider connections: each tenant's own credentials for an outside provider
// (a YNAB token; an IBKR Flex Web Service token and query id), saved sealed
// (encryption.ts) and opened only to make that tenant's requests. Nothing
// answers a secret back: listings show the provider, the token's last four
// characters and the times.
//
// PROVIDER_CREDENTIALS=server is the explicit single-tenant mode: the
// environment's YNAB_ACCESS_TOKEN and IBKR_FLEX_* are the connections of one
// tenant (PROVIDER_CREDENTIALS_TENANT, the local tenant by default), every
// other tenant has none, and nothing is saved.
import type { Config } from '../config.ts';
import { DEFAULT_TENANT } from '../auth/principal.ts';
import { withTransaction } from '../db/pool.ts';
import { ConnectionProvider } from '../generated/prisma/enums.ts';
import { ValidationError } from '../core/errors.ts';
import type pg from 'pg';
import { ConnectionKeyring, type SealedSecret } from './encryption.ts';
import { ConnectionStorageUnavailableError, ProviderConnectionMissingError } from './errors.ts';

export { ConnectionProvider };

export type ConnectionsConfig = Pick<
  Config,
  'PROVIDER_CREDENTIALS' | 'PROVIDER_CREDENTIALS_TENANT' | 'CONNECTIONS_ENCRYPTION_KEY' | 'CONNECTIONS_ENCRYPTION_KEYS'
> & {
  // PROVIDER_CREDENTIALS=server: the environment's credentials, settings of the
  // kinds that use them (budgets/config.ts, portfolios/config.ts).
  YNAB_ACCESS_TOKEN?: string;
  IBKR_FLEX_TOKEN?: string;
  IBKR_FLEX_QUERY_ID?: string;
};

/** What may be shown of a connection: never the secret. */
export interface ProviderConnection {
  tenantId: string;
  provider: ConnectionProvider;
  /** The token's last four characters. */
  tokenLast4: string;
  /** The key that sealed it (operators: which rows `connections rotate` still has to re-seal). */
  keyId: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConnectionInput {
  provider: ConnectionProvider;
  token: string;
  /** IBKR_FLEX: the Flex query whose statement imports fetch. */
  queryId?: string | null;
}

export interface YnabSecret {
  token: string;
}

export interface FlexSecret {
  token: string;
  queryId: string;
}

/** A tenant's opened credentials, with the id of that save (a cache key that changes with every save). */
export interface Credential<S> {
  credentialId: string;
  secret: S;
}

const TOKEN = /^[\x21-\x7e]{8,512}$/;
const QUERY_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks the input at the edge; the messages never quote the token. */
export function checkConnectionInput(input: ConnectionInput): { provider: ConnectionProvider; secret: YnabSecret | FlexSecret } {
  if (!Object.values(ConnectionProvider).includes(input.provider)) {
    throw new ValidationError('provider', `must be one of ${Object.values(ConnectionProvider).join(', ')}`);
  }
  if (typeof input.token !== 'string' || !TOKEN.test(input.token)) {
    throw new ValidationError('token', 'must be 8 to 512 printable characters without spaces (the token itself is not repeated here)');
  }
  if (input.provider === ConnectionProvider.YNAB) {
    if (input.queryId != null) throw new ValidationError('queryId', 'is not an option of YNAB connections');
    return { provider: input.provider, secret: { token: input.token } };
  }
  if (input.queryId == null || !QUERY_ID.test(input.queryId)) {
    throw new ValidationError('queryId', 'is required for IBKR_FLEX connections: the Flex query id (1-64 letters, digits, _ or -)');
  }
  return { provider: input.provider, secret: { token: input.token, queryId: input.queryId } };
}

/** Binds a sealed secret to its row: opened for another tenant or provider, it fails. */
const associatedData = (tenantId: string, provider: ConnectionProvider) => JSON.stringify(['provider_connection', tenantId, provider]);
const describe = (tenantId: string, provider: ConnectionProvider) => `${provider} connection of tenant ${tenantId}`;

const RECORD = `tenant_id as "tenantId", provider, token_last4 as "tokenLast4", key_id as "keyId", created_at as "createdAt", updated_at as "updatedAt"`;
const SEALED = `credential_id as "credentialId", key_id as "keyId", secret_iv as iv, secret_ciphertext as ciphertext, secret_auth_tag as "authTag"`;

type SealedRow = SealedSecret & { credentialId: string };

export class ProviderConnections {
  readonly keyring: ConnectionKeyring;

  constructor(
    private readonly db: pg.Pool,
    private readonly config: ConnectionsConfig,
  ) {
    this.keyring = ConnectionKeyring.fromConfig(config);
  }

  /** PROVIDER_CREDENTIALS=server: the one tenant the environment's credentials belong to. */
  get serverTenant(): string | null {
    return this.config.PROVIDER_CREDENTIALS === 'server' ? (this.config.PROVIDER_CREDENTIALS_TENANT ?? DEFAULT_TENANT) : null;
  }

  /** The answer for a tenant without credentials for `provider`: what it can do about it. */
  missing(provider: ConnectionProvider): ProviderConnectionMissingError {
    const how =
      this.serverTenant !== null
        ? 'this server uses the credentials of its environment (PROVIDER_CREDENTIALS=server), for one tenant only'
        : provider === ConnectionProvider.YNAB
          ? 'save its YNAB token first (saveProviderConnection, or `jobwire connections set`)'
          : 'upload a statement, or save its Flex token and query id first (saveProviderConnection, or `jobwire connections set`)';
    return new ProviderConnectionMissingError(provider, how);
  }

  #refuseInServerMode() {
    if (this.serverTenant !== null) {
      throw new ConnectionStorageUnavailableError(
        'PROVIDER_CREDENTIALS',
        'connections are not saved with PROVIDER_CREDENTIALS=server: jobs use the credentials of the server\'s environment, for one tenant only',
      );
    }
  }

  /** Saves (or replaces) the tenant's connection to the provider; answers what may be shown of it. */
  async save(tenantId: string, input: ConnectionInput): Promise<ProviderConnection> {
    if (!tenantId.trim()) throw new ValidationError('tenant', 'must not be empty');
    const { provider, secret } = checkConnectionInput(input);
    this.#refuseInServerMode();
    const sealed = this.keyring.seal(JSON.stringify(secret), associatedData(tenantId, provider));
    const { rows } = await this.db.query<ProviderConnection>(
      `insert into provider_connection (tenant_id, provider, key_id, secret_iv, secret_ciphertext, secret_auth_tag, token_last4)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (tenant_id, provider) do update
         set credential_id = gen_random_uuid(), key_id = excluded.key_id, secret_iv = excluded.secret_iv,
             secret_ciphertext = excluded.secret_ciphertext, secret_auth_tag = excluded.secret_auth_tag,
             token_last4 = excluded.token_last4, updated_at = now()
       returning ${RECORD}`,
      [tenantId, provider, sealed.keyId, sealed.iv, sealed.ciphertext, sealed.authTag, secret.token.slice(-4)],
    );
    return rows[0]!;
  }

  /** Deletes the tenant's connection; answers it, or null when there was none. */
  async delete(tenantId: string, provider: ConnectionProvider): Promise<ProviderConnection | null> {
    this.#refuseInServerMode();
    const { rows } = await this.db.query<ProviderConnection>(
      `delete from provider_connection where tenant_id = $1 and provider = $2 returning ${RECORD}`,
      [tenantId, provider],
    );
    return rows[0] ?? null;
  }

  /** The tenant's connections (null: every tenant's, for operators), without secrets. */
  async list(tenantId: string | null): Promise<ProviderConnection[]> {
    const { rows } = await this.db.query<ProviderConnection>(
      `select ${RECORD} from provider_connection where $1::text is null or tenant_id = $1 order by tenant_id, provider`,
      [tenantId],
    );
    return rows;
  }

  /** The tenant's YNAB token; null without one. */
  async ynab(tenantId: string): Promise<Credential<YnabSecret> | null> {
    if (this.serverTenant !== null) {
      const token = this.config.YNAB_ACCESS_TOKEN;
      return tenantId === this.serverTenant && token ? { credentialId: 'server', secret: { token } } : null;
    }
    return this.#open<YnabSecret>(tenantId, ConnectionProvider.YNAB);
  }

  /** The tenant's Flex Web Service token and query id; null without them. */
  async flex(tenantId: string): Promise<Credential<FlexSecret> | null> {
    if (this.serverTenant !== null) {
      const { IBKR_FLEX_TOKEN: token, IBKR_FLEX_QUERY_ID: queryId } = this.config;
      return tenantId === this.serverTenant && token && queryId ? { credentialId: 'server', secret: { token, queryId } } : null;
    }
    return this.#open<FlexSecret>(tenantId, ConnectionProvider.IBKR_FLEX);
  }

  async #open<S>(tenantId: string, provider: ConnectionProvider): Promise<Credential<S> | null> {
    const { rows } = await this.db.query<SealedRow>(`select ${SEALED} from provider_connection where tenant_id = $1 and provider = $2`, [tenantId, provider]);
    const row = rows[0];
    if (!row) return null;
    const plaintext = this.keyring.open(row, associatedData(tenantId, provider), describe(tenantId, provider));
    return { credentialId: row.credentialId, secret: JSON.parse(plaintext) as S };
  }

  /**
   * Re-seals every connection not sealed with the current key (after a new
   * CONNECTIONS_ENCRYPTION_KEY, with the old one in CONNECTIONS_ENCRYPTION_KEYS),
   * in one transaction; afterwards the old key can go. The secrets do not
   * change, so neither do their credential ids.
   */
  async rotate(): Promise<{ resealed: number; alreadyCurrent: number }> {
    const current = this.keyring.currentKeyId;
    if (current === null) {
      throw new ConnectionStorageUnavailableError('CONNECTIONS_ENCRYPTION_KEY', 'connections rotate: set CONNECTIONS_ENCRYPTION_KEY to the new key (and the old ones in CONNECTIONS_ENCRYPTION_KEYS)');
    }
    return withTransaction(this.db, async (client) => {
      const { rows } = await client.query<SealedRow & { tenantId: string; provider: ConnectionProvider }>(
        `select tenant_id as "tenantId", provider, ${SEALED} from provider_connection order by tenant_id, provider for update`,
      );
      let resealed = 0;
      for (const row of rows) {
        if (row.keyId === current) continue;
        const data = associatedData(row.tenantId, row.provider);
        const sealed = this.keyring.seal(this.keyring.open(row, data, describe(row.tenantId, row.provider)), data);
        await client.query(
          `update provider_connection set key_id = $3, secret_iv = $4, secret_ciphertext = $5, secret_auth_tag = $6
            where tenant_id = $1 and provider = $2`,
          [row.tenantId, row.provider, sealed.keyId, sealed.iv, sealed.ciphertext, sealed.authTag],
        );
        resealed += 1;
      }
      return { resealed, alreadyCurrent: rows.length - resealed };
    });
  }
}
