// A tenant's webhook subscriptions (docs/webhooks.md): a URL that receives
// the job events it chose, signed with a secret answered once at creation and
// stored sealed (src/connections/encryption.ts, the provider connections'
// keys). The URL is checked at creation by the rules every outbound request
// follows (src/net/outbound.ts), and again at each delivery's connect.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Caller } from '../auth/principal.ts';
import type { ConnectionKeyring, SealedSecret } from '../connections/encryption.ts';
import { ConnectionStorageUnavailableError } from '../connections/errors.ts';
import { JobwireError, ValidationError } from '../core/errors.ts';
import { isUuid } from '../core/validation.ts';
import type { Queryable } from '../core/queryable.ts';
import { withTransaction } from '../db/pool.ts';
import { JobStatus, type WebhookDeliveryStatus } from '../generated/prisma/enums.ts';
import { readSettledHead } from '../jobs/event-log.ts';
import { checkOutboundUrl, OutboundRefusedError } from '../net/outbound.ts';
import { newWebhookSecret } from './signature.ts';

/** Subscriptions one tenant may have: each costs a match per job event. */
export const MAX_SUBSCRIPTIONS_PER_TENANT = 50;
const MAX_URL_LENGTH = 2048;
const MAX_NAMES = 100;

export class WebhookSubscriptionNotFoundError extends JobwireError {
  override name = 'WebhookSubscriptionNotFoundError';
  constructor(readonly subscriptionId: string) {
    super(`no webhook subscription with id ${subscriptionId}`);
  }
}

export interface WebhookSubscription {
  id: string;
  tenantId: string;
  url: string;
  statuses: JobStatus[];
  queueNames: string[] | null;
  jobTypes: string[] | null;
  createdBy: string | null;
  createdAt: Date;
}

export interface WebhookSubscriptionInput {
  url: string;
  statuses: readonly JobStatus[];
  queueNames?: readonly string[] | null;
  jobTypes?: readonly string[] | null;
}

export interface WebhookDelivery {
  id: string;
  subscriptionId: string | null;
  eventType: string;
  jobId: string | null;
  status: WebhookDeliveryStatus;
  attemptCount: number;
  nextAttemptAt: Date;
  responseStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

const RECORD = `id, tenant_id as "tenantId", url, statuses::text[] as statuses, queue_names as "queueNames", job_types as "jobTypes",
  created_by as "createdBy", created_at as "createdAt"`;
const DELIVERY = `id, subscription_id as "subscriptionId", event_type as "eventType", job_id as "jobId", status, attempt_count as "attemptCount",
  next_attempt_at as "nextAttemptAt", response_status as "responseStatus", last_error as "lastError", created_at as "createdAt", delivered_at as "deliveredAt"`;

/** Binds a sealed secret to its subscription: moved to another row, it does not open. */
export const secretAssociatedData = (id: string, tenantId: string) => JSON.stringify(['webhook_subscription', id, tenantId]);

/** A subscription id as input: a UUID (lower case), else a ValidationError naming `field`. */
export function parseSubscriptionId(value: string | number, field = 'id'): string {
  const id = String(value);
  if (!isUuid(id)) throw new ValidationError(field, `"${id}" is not a webhook subscription id (a UUID)`);
  return id.toLowerCase();
}

function checkNames(field: string, names: readonly string[] | null | undefined): string[] | null {
  if (names == null || names.length === 0) return null;
  if (names.length > MAX_NAMES) throw new ValidationError(field, `at most ${MAX_NAMES} names (got ${names.length})`);
  names.forEach((name, index) => {
    if (typeof name !== 'string' || !name.trim() || name.length > 200) throw new ValidationError(`${field}.${index}`, 'must be a name of 1-200 characters');
  });
  return [...new Set(names)];
}

/** Checks the input at the edge (the URL against the outbound rules too); changes nothing. */
export async function checkSubscriptionInput(input: WebhookSubscriptionInput, allowList: readonly string[]) {
  if (typeof input.url !== 'string' || input.url.length > MAX_URL_LENGTH) throw new ValidationError('url', `must be an http(s) URL of at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new ValidationError('url', 'is not a URL (e.g. https://hooks.example.com/jobwire)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError('url', `must be http or https (got ${url.protocol.slice(0, -1)})`);
  try {
    await checkOutboundUrl(url.href, allowList);
  } catch (error) {
    if (error instanceof OutboundRefusedError) {
      throw new ValidationError('url', `refused: ${url.hostname} is a ${error.rule} address, which webhooks may not reach (the operator allows chosen ones with OUTBOUND_ALLOW_LIST)`);
    }
    throw new ValidationError('url', `refused: ${(error as Error).message}`);
  }
  if (!Array.isArray(input.statuses) || input.statuses.length === 0) throw new ValidationError('statuses', 'name at least one job status to deliver (e.g. DEAD_LETTER)');
  for (const status of input.statuses) {
    if (!Object.values(JobStatus).includes(status)) throw new ValidationError('statuses', `${String(status)} is not a job status (${Object.values(JobStatus).join(', ')})`);
  }
  return {
    url: url.href,
    statuses: [...new Set(input.statuses)],
    queueNames: checkNames('queueNames', input.queueNames),
    jobTypes: checkNames('jobTypes', input.jobTypes),
  };
}

/** Creates a subscription of the caller's tenant, delivering events from now on; answers it and its secret (shown this once). */
export async function createWebhookSubscription(
  db: pg.Pool,
  keyring: ConnectionKeyring,
  caller: Caller,
  input: WebhookSubscriptionInput,
  allowList: readonly string[],
): Promise<{ subscription: WebhookSubscription; secret: string }> {
  const checked = await checkSubscriptionInput(input, allowList);
  if (keyring.currentKeyId === null) {
    throw new ConnectionStorageUnavailableError(
      'CONNECTIONS_ENCRYPTION_KEY',
      'webhook subscriptions cannot be saved: their secrets are stored encrypted and the server has no CONNECTIONS_ENCRYPTION_KEY (its operator sets one: 32 random bytes in base64, e.g. `openssl rand -base64 32`)',
    );
  }
  const id = randomUUID();
  const secret = newWebhookSecret();
  const sealed = keyring.seal(secret, secretAssociatedData(id, caller.tenantId));
  // Events from now on: the cursor starts at the log's settled head.
  const head = await readSettledHead(db);
  const { rows } = await db.query<WebhookSubscription>(
    `insert into webhook_subscription (id, tenant_id, url, statuses, queue_names, job_types, key_id, secret_iv, secret_ciphertext, secret_auth_tag,
                                       cursor_tx_id, cursor_id, created_by)
     select $1, $2, $3, $4::job_status[], $5, $6, $7, $8, $9, $10, $11, $12, $13
      where (select count(*) from webhook_subscription where tenant_id = $2) < $14
     returning ${RECORD}`,
    [id, caller.tenantId, checked.url, checked.statuses, checked.queueNames, checked.jobTypes, sealed.keyId, sealed.iv, sealed.ciphertext, sealed.authTag,
      head.txId, head.id, caller.principalId, MAX_SUBSCRIPTIONS_PER_TENANT],
  );
  if (!rows[0]) throw new ValidationError('url', `a tenant has at most ${MAX_SUBSCRIPTIONS_PER_TENANT} webhook subscriptions: delete one first`);
  return { subscription: rows[0], secret };
}

/** The tenant's subscriptions, oldest first (never their secrets). */
export async function listWebhookSubscriptions(db: Queryable, tenantId: string): Promise<WebhookSubscription[]> {
  const { rows } = await db.query<WebhookSubscription>(`select ${RECORD} from webhook_subscription where tenant_id = $1 order by created_at, id`, [tenantId]);
  return rows;
}

/** Deletes one of the tenant's subscriptions with its deliveries (none is sent after); answers it. */
export async function deleteWebhookSubscription(db: Queryable, tenantId: string, id: string): Promise<WebhookSubscription> {
  const { rows } = await db.query<WebhookSubscription>(`delete from webhook_subscription where id = $1 and tenant_id = $2 returning ${RECORD}`, [id, tenantId]);
  if (!rows[0]) throw new WebhookSubscriptionNotFoundError(id);
  return rows[0];
}

/** The newest deliveries of one of the tenant's subscriptions (another tenant's: not found). */
export async function listWebhookDeliveries(db: Queryable, tenantId: string, subscriptionId: string, first: number): Promise<WebhookDelivery[]> {
  const owned = await db.query(`select 1 from webhook_subscription where id = $1 and tenant_id = $2`, [subscriptionId, tenantId]);
  if (!owned.rowCount) throw new WebhookSubscriptionNotFoundError(subscriptionId);
  const { rows } = await db.query<WebhookDelivery>(
    `select ${DELIVERY} from webhook_delivery where subscription_id = $1 and tenant_id = $2 order by created_at desc, id desc limit $3`,
    [subscriptionId, tenantId, first],
  );
  return rows;
}

/** A subscription's secret, opened for signing a delivery. */
export function openSecret(keyring: ConnectionKeyring, id: string, tenantId: string, sealed: SealedSecret): string {
  return keyring.open(sealed, secretAssociatedData(id, tenantId), `secret of webhook subscription ${id}`);
}

/**
 * Re-seals every subscription's secret not sealed with the current key (as
 * `jobwire connections rotate` does for provider connections, and with it),
 * in one transaction; the secrets themselves do not change.
 */
export async function rotateWebhookSecrets(db: pg.Pool, keyring: ConnectionKeyring): Promise<{ resealed: number; alreadyCurrent: number }> {
  const current = keyring.currentKeyId;
  if (current === null) throw new ConnectionStorageUnavailableError('CONNECTIONS_ENCRYPTION_KEY', 'set CONNECTIONS_ENCRYPTION_KEY to the new key to re-seal webhook secrets');
  return withTransaction(db, async (client) => {
    const { rows } = await client.query<SealedSecret & { id: string; tenantId: string }>(
      `select id, tenant_id as "tenantId", key_id as "keyId", secret_iv as iv, secret_ciphertext as ciphertext, secret_auth_tag as "authTag"
         from webhook_subscription order by id for update`,
    );
    let resealed = 0;
    for (const row of rows) {
      if (row.keyId === current) continue;
      const sealed = keyring.seal(openSecret(keyring, row.id, row.tenantId, row), secretAssociatedData(row.id, row.tenantId));
      await client.query(`update webhook_subscription set key_id = $2, secret_iv = $3, secret_ciphertext = $4, secret_auth_tag = $5 where id = $1`, [
        row.id,
        sealed.keyId,
        sealed.iv,
        sealed.ciphertext,
        sealed.authTag,
      ]);
      resealed += 1;
    }
    return { resealed, alreadyCurrent: rows.length - resealed };
  });
}
