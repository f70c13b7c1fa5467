// `jobwire connections rotate` re-seals webhook subscriptions' secrets with
// the provider connections: after it, the old key can go and every secret
// still opens, unchanged.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LOCAL_PRINCIPAL } from '../../src/auth/principal.ts';
import { ConnectionKeyring, keyIdOf } from '../../src/connections/encryption.ts';
import { ConnectionKeyUnknownError } from '../../src/connections/errors.ts';
import { createWebhookSubscription, openSecret } from '../../src/webhooks/subscriptions.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const KEY_1 = randomBytes(32);
const KEY_2 = randomBytes(32);
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

async function sealed() {
  const { rows } = await db.pool.query(
    `select id, tenant_id as "tenantId", key_id as "keyId", secret_iv as iv, secret_ciphertext as ciphertext, secret_auth_tag as "authTag" from webhook_subscription`,
  );
  return rows[0];
}

it('re-seals every secret with the new key; the secret is unchanged and opens without the old key', async () => {
  const { secret } = await createWebhookSubscription(db.pool, new ConnectionKeyring(KEY_1), LOCAL_PRINCIPAL, { url: 'http://93.184.215.14/hook', statuses: ['FAILED'] }, []);
  const before = await sealed();
  expect(before.keyId).toBe(keyIdOf(KEY_1));
  expect(() => openSecret(new ConnectionKeyring(KEY_2), before.id, before.tenantId, before)).toThrow(ConnectionKeyUnknownError);

  const rotated = await runCli(['connections', 'rotate'], { DATABASE_URL: db.url, CONNECTIONS_ENCRYPTION_KEY: KEY_2.toString('base64'), CONNECTIONS_ENCRYPTION_KEYS: KEY_1.toString('base64') });
  expect(rotated.stderr).toBe('');
  expect(rotated.stdout).toContain('re-encrypted 1 webhook subscription secret(s); 0 already were');
  const after = await sealed();
  expect(after.keyId).toBe(keyIdOf(KEY_2));
  expect(openSecret(new ConnectionKeyring(KEY_2), after.id, after.tenantId, after)).toBe(secret);
});
