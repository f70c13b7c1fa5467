// Signing webhooks as the Standard Webhooks spec does
// (https://www.standardwebhooks.com): three headers, `webhook-id` (the same on
// every attempt of one delivery: receivers deduplicate by it),
// `webhook-timestamp` (Unix seconds of the attempt) and `webhook-signature`
// (`v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`, keyed with the
// secret's bytes: the base64 after `whsec_`). docs/webhooks.md gives the
// receiver's side in Node and Python; test/webhooks/subscriptions.test.ts
// verifies exactly as written there.
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new secret: whsec_ and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

/** The HMAC key of a secret: the bytes its base64 after whsec_ encodes. */
function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The three headers of one attempt to send `body` (the exact bytes sent). */
export function signWebhook(secret: string, id: string, body: string, at: Date = new Date()): SignedHeaders {
  const timestamp = String(Math.floor(at.getTime() / 1000));
  const signature = createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}
