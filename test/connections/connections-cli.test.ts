// `jobwire connections set|list|delete|rotate` (the real CLI, on the
// database), the sealing itself (AES-256-GCM, bound to its row, key ids), key
// rotation, and the settings that choose whose credentials jobs use.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderConnections } from '../../src/connections/connections.ts';
import { ConnectionKeyring, keyIdOf } from '../../src/connections/encryption.ts';
import { ConnectionKeyUnknownError, ConnectionStorageUnavailableError, ConnectionUnreadableError } from '../../src/connections/errors.ts';
import { ConfigError, loadConfig } from '../../src/service-config.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

const KEY_1 = randomBytes(32);
const KEY_2 = randomBytes(32);
const YNAB_TOKEN = `ynab-${randomBytes(16).toString('hex')}`;
const FLEX_TOKEN = `flex-${randomBytes(16).toString('hex')}`;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const env = (current: Buffer | null, earlier: Buffer[] = []) => ({
  DATABASE_URL: db.url,
  ...(current ? { CONNECTIONS_ENCRYPTION_KEY: current.toString('base64') } : {}),
  CONNECTIONS_ENCRYPTION_KEYS: earlier.map((key) => key.toString('base64')).join(','),
});
/** The service as an API process with these keys sees it. */
const service = (current: Buffer | null, earlier: Buffer[] = []) => new ProviderConnections(db.pool, loadConfig(env(current, earlier)));

describe('jobwire connections', () => {
  it('set reads the token from stdin, stores it sealed, and list shows its last four characters only', async () => {
    const ynab = await runCli(['connections', 'set', '--tenant', 'team-a', '--provider', 'ynab'], env(KEY_1), `${YNAB_TOKEN}\n`);
    expect(ynab.stderr).toBe('');
    expect(ynab.code).toBe(0);
    expect(ynab.stdout).toMatch(new RegExp(`^tenant=team-a\\tprovider=YNAB\\ttoken=…${YNAB_TOKEN.slice(-4)}\\tkey=${keyIdOf(KEY_1)}\\tupdated `));
    const flex = await runCli(['connections', 'set', '--tenant', 'team-a', '--provider', 'IBKR-flex', '--query-id', '4242'], env(KEY_1), FLEX_TOKEN);
    expect(flex.code).toBe(0);

    const listed = await runCli(['connections', 'list'], env(KEY_1));
    expect(listed.stdout.split('\n').filter(Boolean).map((line) => line.split('\t').slice(0, 4))).toEqual([
      ['tenant=team-a', 'provider=YNAB', `token=…${YNAB_TOKEN.slice(-4)}`, `key=${keyIdOf(KEY_1)}`],
      ['tenant=team-a', 'provider=IBKR_FLEX', `token=…${FLEX_TOKEN.slice(-4)}`, `key=${keyIdOf(KEY_1)}`],
    ]);
    for (const output of [ynab, flex, listed]) expect(output.stdout + output.stderr).not.toMatch(new RegExp(`${YNAB_TOKEN}|${FLEX_TOKEN}`));
    const { rows } = await db.pool.query(`select row_to_json(t)::text as row from provider_connection t`);
    expect(rows.map((row) => row.row).join()).not.toMatch(new RegExp(`${YNAB_TOKEN}|${FLEX_TOKEN}`));

    expect(await service(KEY_1).ynab('team-a')).toMatchObject({ secret: { token: YNAB_TOKEN } });
    expect(await service(KEY_1).flex('team-a')).toMatchObject({ secret: { token: FLEX_TOKEN, queryId: '4242' } });
    expect(await service(KEY_1).ynab('team-b')).toBeNull();
  });

  it('refuses, naming what is wrong and changing nothing: no token on stdin, a token as an argument, no key, an unknown provider, a bad key', async () => {
    const before = (await db.pool.query(`select count(*)::int as n from provider_connection`)).rows[0].n;
    const noToken = await runCli(['connections', 'set', '--tenant', 'team-b', '--provider', 'ynab'], env(KEY_1));
    expect(noToken).toMatchObject({ code: 2, stderr: expect.stringContaining('no token on stdin') });
    const asArgument = await runCli(['connections', 'set', '--tenant', 'team-b', '--provider', 'ynab', '--token', YNAB_TOKEN], env(KEY_1));
    expect(asArgument).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown option --token') });
    const noKey = await runCli(['connections', 'set', '--tenant', 'team-b', '--provider', 'ynab'], env(null), YNAB_TOKEN);
    expect(noKey).toMatchObject({ code: 2, stderr: expect.stringContaining('the server has no CONNECTIONS_ENCRYPTION_KEY') });
    const unknownProvider = await runCli(['connections', 'set', '--tenant', 'team-b', '--provider', 'mint'], env(KEY_1), YNAB_TOKEN);
    expect(unknownProvider).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown provider "mint"; one of ynab, ibkr-flex') });
    const badKey = await runCli(['connections', 'list'], { DATABASE_URL: db.url, CONNECTIONS_ENCRYPTION_KEY: 'c2hvcnQ=' });
    expect(badKey).toMatchObject({ code: 2, stderr: expect.stringContaining('CONNECTIONS_ENCRYPTION_KEY: the key must be 32 bytes in base64') });
    for (const output of [asArgument, noKey, unknownProvider]) expect(output.stdout + output.stderr).not.toContain(YNAB_TOKEN);
    expect((await db.pool.query(`select count(*)::int as n from provider_connection`)).rows[0].n).toBe(before);
  });

  it('rotate re-seals every connection with the new key; the old key can then go', async () => {
    // Without the old key, a connection sealed with it is named, with its key id, not guessed at.
    await expect(service(KEY_2).ynab('team-a')).rejects.toThrow(ConnectionKeyUnknownError);
    await expect(service(KEY_2).ynab('team-a')).rejects.toThrow(`sealed with encryption key ${keyIdOf(KEY_1)}`);
    const { rows: before } = await db.pool.query(`select provider, credential_id from provider_connection order by provider`);

    const rotated = await runCli(['connections', 'rotate'], env(KEY_2, [KEY_1]));
    expect(rotated.stderr).toBe('');
    expect(rotated.stdout).toContain(`re-encrypted 2 connection(s) with key ${keyIdOf(KEY_2)}; 0 already were`);
    const again = await runCli(['connections', 'rotate'], env(KEY_2, [KEY_1]));
    expect(again.stdout).toContain('re-encrypted 0 connection(s)');

    expect(await service(KEY_2).ynab('team-a')).toMatchObject({ secret: { token: YNAB_TOKEN } });
    expect(await service(KEY_2).flex('team-a')).toMatchObject({ secret: { token: FLEX_TOKEN, queryId: '4242' } });
    await expect(service(KEY_1).ynab('team-a')).rejects.toThrow(ConnectionKeyUnknownError);
    // The secrets did not change, so neither did their ids (nothing cached on them is dropped).
    expect((await db.pool.query(`select provider, credential_id from provider_connection order by provider`)).rows).toEqual(before);
    expect((await runCli(['connections', 'list'], env(KEY_2))).stdout).not.toContain(keyIdOf(KEY_1));
  });

  it('delete removes a tenant\'s connection; deleting it again is refused', async () => {
    const deleted = await runCli(['connections', 'delete', '--tenant', 'team-a', '--provider', 'ibkr-flex'], env(KEY_2));
    expect(deleted).toMatchObject({ code: 0, stdout: expect.stringMatching(/^deleted tenant=team-a\tprovider=IBKR_FLEX/) });
    expect(await service(KEY_2).flex('team-a')).toBeNull();
    const again = await runCli(['connections', 'delete', '--tenant', 'team-a', '--provider', 'ibkr-flex'], env(KEY_2));
    expect(again).toMatchObject({ code: 2, stderr: expect.stringContaining('tenant team-a has no IBKR_FLEX connection') });
  });
});

describe('sealing', () => {
  it('a sealed secret opens for its own row only, and not once altered', () => {
    const keyring = new ConnectionKeyring(KEY_1);
    const sealed = keyring.seal('{"token":"t"}', 'row of tenant a');
    expect(sealed.keyId).toBe(keyIdOf(KEY_1));
    expect(sealed.iv.length).toBe(12);
    expect(sealed.authTag.length).toBe(16);
    expect(keyring.open(sealed, 'row of tenant a', 'x')).toBe('{"token":"t"}');
    expect(() => keyring.open(sealed, 'row of tenant b', 'x')).toThrow(ConnectionUnreadableError);
    const altered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext.map((byte, index) => (index === 0 ? byte ^ 1 : byte))) };
    expect(() => keyring.open(altered, 'row of tenant a', 'x')).toThrow(ConnectionUnreadableError);
    // Two seals of one secret differ (a fresh IV each).
    expect(keyring.seal('{"token":"t"}', 'row of tenant a').ciphertext.equals(sealed.ciphertext)).toBe(false);
    expect(() => new ConnectionKeyring(null).seal('x', 'y')).toThrow(ConnectionStorageUnavailableError);
  });

  it("a connection moved to another tenant's row does not open there", async () => {
    await db.pool.query(
      `insert into provider_connection (tenant_id, provider, key_id, secret_iv, secret_ciphertext, secret_auth_tag, token_last4)
       select 'team-z', provider, key_id, secret_iv, secret_ciphertext, secret_auth_tag, token_last4 from provider_connection where tenant_id = 'team-a' and provider = 'YNAB'`,
    );
    await expect(service(KEY_2).ynab('team-z')).rejects.toThrow(ConnectionUnreadableError);
    expect(await service(KEY_2).ynab('team-a')).toMatchObject({ secret: { token: YNAB_TOKEN } });
  });
});

describe('whose credentials jobs use (PROVIDER_CREDENTIALS)', () => {
  it("per tenant by default: the server-wide variables are refused, naming the way to each tenant's own", () => {
    for (const variable of ['YNAB_ACCESS_TOKEN', 'IBKR_FLEX_TOKEN', 'IBKR_FLEX_QUERY_ID', 'PROVIDER_CREDENTIALS_TENANT']) {
      expect(() => loadConfig({ [variable]: 'x' })).toThrow(ConfigError);
      expect(() => loadConfig({ [variable]: 'x' })).toThrow(new RegExp(`${variable}: only used with PROVIDER_CREDENTIALS=server`));
    }
  });

  it('server: the environment\'s credentials serve one tenant, named when authentication is on; nothing is saved', async () => {
    expect(() => loadConfig({ PROVIDER_CREDENTIALS: 'server', AUTH_ENABLED: 'true', YNAB_ACCESS_TOKEN: 'x' })).toThrow(/PROVIDER_CREDENTIALS_TENANT: required when PROVIDER_CREDENTIALS is server and AUTH_ENABLED is true/);
    expect(() => loadConfig({ PROVIDER_CREDENTIALS: 'server', IBKR_FLEX_TOKEN: 'x' })).toThrow(/IBKR_FLEX_TOKEN and IBKR_FLEX_QUERY_ID: set both or neither/);
    const local = new ProviderConnections(db.pool, loadConfig({ PROVIDER_CREDENTIALS: 'server', YNAB_ACCESS_TOKEN: 'server-token' }));
    expect(await local.ynab('default')).toEqual({ credentialId: 'server', secret: { token: 'server-token' } });
    const named = new ProviderConnections(
      db.pool,
      loadConfig({ PROVIDER_CREDENTIALS: 'server', AUTH_ENABLED: 'true', PROVIDER_CREDENTIALS_TENANT: 'team-a', YNAB_ACCESS_TOKEN: 'server-token', IBKR_FLEX_TOKEN: 'f', IBKR_FLEX_QUERY_ID: '1' }),
    );
    expect(await named.ynab('team-a')).toMatchObject({ secret: { token: 'server-token' } });
    expect(await named.flex('team-a')).toMatchObject({ secret: { token: 'f', queryId: '1' } });
    // Another tenant has none, saved ones included.
    expect(await named.ynab('default')).toBeNull();
    await expect(named.save('team-b', { provider: 'YNAB', token: 'a-long-enough-token' })).rejects.toMatchObject({ name: 'ConnectionStorageUnavailableError', setting: 'PROVIDER_CREDENTIALS' });
    expect(named.missing('YNAB').message).toMatch(/PROVIDER_CREDENTIALS=server/);
  });
});
