// Expected failures around provider connections (GraphQL error types in
// schema.ts). None of them carries a secret: they name the provider, the
// setting or the key id, never a token.
import { JobwireError } from '../core/errors.ts';
import type { ConnectionProvider } from '../generated/prisma/enums.ts';

/**
 * The tenant has no connection to the provider, so nothing of it can be
 * reached. The same answer whatever budget or account was named: another
 * tenant's ones are not told apart from unknown ones.
 */
export class ProviderConnectionMissingError extends JobwireError {
  override name = 'ProviderConnectionMissingError';
  constructor(
    readonly provider: ConnectionProvider,
    detail: string,
  ) {
    super(`this tenant has no ${provider} connection: ${detail}`);
  }
}

/** The server cannot store connections as configured; `setting` names what to change. */
export class ConnectionStorageUnavailableError extends JobwireError {
  override name = 'ConnectionStorageUnavailableError';
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(message);
  }
}

/** A saved connection was sealed with a key the server no longer has. */
export class ConnectionKeyUnknownError extends JobwireError {
  override name = 'ConnectionKeyUnknownError';
  constructor(
    readonly what: string,
    readonly keyId: string,
  ) {
    super(
      `the ${what} was sealed with encryption key ${keyId}, which is neither CONNECTIONS_ENCRYPTION_KEY nor one of CONNECTIONS_ENCRYPTION_KEYS; save the connection again or give the server that key`,
    );
  }
}

/** A saved connection does not open with its key (altered, or moved to another tenant's row). */
export class ConnectionUnreadableError extends JobwireError {
  override name = 'ConnectionUnreadableError';
  constructor(readonly what: string) {
    super(`the ${what} does not open with its encryption key (altered or not this row's); save the connection again`);
  }
}
