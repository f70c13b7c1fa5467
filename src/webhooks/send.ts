// `webhook.send`: POST a JSON body to a URL. 5xx, 429 and network errors are
// retried (with the job's backoff); other 4xx are not: the request is wrong.
//
// A webhook URL (a Slack one, say) and its headers are secrets: messages and
// logs name the URL's origin only, and readers of the job see them redacted
// (redactPayload). The answer is read up to an excerpt and no further.
import { z } from 'zod';
import { OutboundLimitError, OutboundRefusedError, readExcerpt, type OutboundFetch } from '../net/outbound.ts';
import { NonRetriableError, type JobHandler } from '../core/handler.ts';

/** What readers see instead of a secret (a header's value, a URL's path and query). */
export const REDACTED = '[redacted]';

const notRedacted = (value: string) => !value.includes(REDACTED);
const REDACTED_READ_BACK = `is ${REDACTED}: a value read back from the API; send the real one`;

const webhookPayload = z.object({
  url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).refine(notRedacted, REDACTED_READ_BACK),
  body: z.unknown().default({}),
  headers: z.record(z.string(), z.string().refine(notRedacted, REDACTED_READ_BACK)).default({}),
  /** Per attempt: until the answer's excerpt is read. */
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});

export type WebhookPayload = z.infer<typeof webhookPayload>;

/** The answer's first bytes kept in the result; the rest is not read. */
export const RESPONSE_EXCERPT_BYTES = 1024;

/** A URL as readers and logs see it: its origin, the rest redacted. */
export function redactUrl(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    const url = new URL(value);
    return url.pathname === '/' && !url.search && !url.username && !url.password ? url.origin : `${url.origin}/${REDACTED}`;
  } catch {
    return REDACTED;
  }
}

function origin(url: string): string {
  return new URL(url).origin;
}

/** Requests go through the outbound module: private and loopback addresses are refused (src/net/outbound.ts). */
export const createWebhookSendHandler = (fetch: OutboundFetch): JobHandler<WebhookPayload> => ({
  jobType: 'webhook.send',
  description:
    'POSTs `body` as JSON to `url` (with `headers`), within `timeoutMs`. 5xx, 429 and network errors are retried; other 4xx fail at once. ' +
    "Readers of the job see the URL's origin and the header names only.",
  payload: webhookPayload,
  defaults: { queueName: 'webhooks' },
  redactPayload(payload) {
    const headers = payload.headers;
    return {
      ...payload,
      ...('url' in payload ? { url: redactUrl(payload.url) } : {}),
      ...(headers && typeof headers === 'object' && !Array.isArray(headers)
        ? { headers: Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED])) }
        : {}),
    };
  },
  async handle(job, ctx) {
    const { url, body, headers, timeoutMs } = job.payload;
    const target = `POST ${origin(url)}`;
    const started = performance.now();
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
    let response: Response;
    let excerpt: { text: string; truncated: boolean };
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'jobwire-webhook', ...headers, 'x-jobwire-job-id': job.id },
        body: JSON.stringify(body),
        signal,
      });
      excerpt = await readExcerpt(response, RESPONSE_EXCERPT_BYTES);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      // Refused by policy: retrying cannot help.
      if (error instanceof OutboundRefusedError) throw new NonRetriableError(`${target} ${error.message}`);
      if (error instanceof OutboundLimitError) throw new Error(`${target} failed: ${error.message}`);
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms (timeoutMs)` : describeNetworkError(error);
      throw new Error(`${target} failed: ${reason}`);
    }
    const durationMs = Math.round(performance.now() - started);
    if (response.status >= 500 || response.status === 429) {
      throw new Error(`${target} answered ${response.status}: ${excerpt.text}`);
    }
    if (response.status >= 400) {
      throw new NonRetriableError(`${target} answered ${response.status}: ${excerpt.text}`);
    }
    ctx.logger.info({ host: new URL(url).host, status: response.status, durationMs }, 'webhook delivered');
    return {
      success: true,
      resultData: { status: response.status, durationMs, responseBody: excerpt.text, ...(excerpt.truncated ? { responseBodyTruncated: true } : {}) },
    };
  },
});

function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
