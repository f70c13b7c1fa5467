// Sealing provider connections' secrets at rest: AES-256-GCM (node:crypto)
// with a key from the environment. The current key
// (CONNECTIONS_ENCRYPTION_KEY) seals; it and the earlier ones
// (CONNECTIONS_ENCRYPTION_KEYS) open, each found by its id, which is stored
// with every sealed secret. The associated data binds a sealed secret to its
// row (tenant and provider): moved to another row, it does not open.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import { ConnectionKeyUnknownError, ConnectionStorageUnavailableError, ConnectionUnreadableError } from './errors.ts';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;

export interface SealedSecret {
  keyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

interface Key {
  id: string;
  bytes: Buffer;
}

/**
 * A key's id: the first 16 hex digits of a SHA-256 of the key. Derived, so
 * operators name no keys; a hash of 32 random bytes reveals nothing of them.
 */
export function keyIdOf(bytes: Buffer): string {
  return createHash('sha256').update('jobwire provider connection key\0').update(bytes).digest('hex').slice(0, 16);
}

export class ConnectionKeyring {
  readonly #current: Key | null;
  readonly #byId: Map<string, Key>;

  constructor(current: Buffer | null, earlier: readonly Buffer[] = []) {
    const key = (bytes: Buffer): Key => {
      // loadConfig checks the settings; this guards direct callers.
      if (bytes.length !== 32) throw new Error(`an AES-256 key has 32 bytes (got ${bytes.length})`);
      return { id: keyIdOf(bytes), bytes };
    };
    this.#current = current ? key(current) : null;
    this.#byId = new Map([...earlier.map(key), ...(this.#current ? [this.#current] : [])].map((k) => [k.id, k]));
  }

  static fromConfig(config: Pick<Config, 'CONNECTIONS_ENCRYPTION_KEY' | 'CONNECTIONS_ENCRYPTION_KEYS'>): ConnectionKeyring {
    const decode = (value: string) => Buffer.from(value, 'base64');
    return new ConnectionKeyring(config.CONNECTIONS_ENCRYPTION_KEY ? decode(config.CONNECTIONS_ENCRYPTION_KEY) : null, config.CONNECTIONS_ENCRYPTION_KEYS.map(decode));
  }

  /** The id of the key that seals, or null when none is configured. */
  get currentKeyId(): string | null {
    return this.#current?.id ?? null;
  }

  /** Seals with the current key; refused, naming the setting, when there is none. */
  seal(plaintext: string, associatedData: string): SealedSecret {
    if (!this.#current) {
      throw new ConnectionStorageUnavailableError(
        'CONNECTIONS_ENCRYPTION_KEY',
        'provider connections cannot be saved: the server has no CONNECTIONS_ENCRYPTION_KEY (its operator sets one: 32 random bytes in base64, e.g. `openssl rand -base64 32`)',
      );
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.#current.bytes, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId: this.#current.id, iv, ciphertext, authTag: cipher.getAuthTag() };
  }

  /** Opens a sealed secret; `what` names it in errors (never its content). */
  open(sealed: SealedSecret, associatedData: string, what: string): string {
    const key = this.#byId.get(sealed.keyId);
    if (!key) throw new ConnectionKeyUnknownError(what, sealed.keyId);
    try {
      const decipher = createDecipheriv(ALGORITHM, key.bytes, sealed.iv);
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(sealed.authTag);
      return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString('utf8');
    } catch {
      // GCM's tag check: the bytes, the key or the row they were sealed for differ.
      throw new ConnectionUnreadableError(what);
    }
  }
}
