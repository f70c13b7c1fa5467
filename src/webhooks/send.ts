// `webhook.send`: POST a JSON body to a URL. 5xx, 429 and network errors are
// retried (with the job's backoff); other 4xx are not: the request is wrong.
import { z } from 'zod';
import { OutboundRefusedError, type OutboundFetch } from '../net/outbound.ts';
import { NonRetriableError, type JobHandler } from '../worker/handler.ts';

const webhookPayload = z.object({
  url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }),
  body: z.unknown().default({}),
  headers: z.record(z.string(), z.string()).default({}),
  /** Per attempt. */
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
});

export type WebhookPayload = z.infer<typeof webhookPayload>;

const RESPONSE_EXCERPT_BYTES = 1024;

/** Requests go through the outbound module: private and loopback addresses are refused (src/net/outbound.ts). */
export const createWebhookSendHandler = (fetch: OutboundFetch): JobHandler<WebhookPayload> => ({
  jobType: 'webhook.send',
  description: 'POSTs `body` as JSON to `url` (with `headers`), within `timeoutMs`. 5xx, 429 and network errors are retried; other 4xx fail at once.',
  payload: webhookPayload,
  defaults: { queueName: 'webhooks' },
  async handle(job, ctx) {
    const { url, body, headers, timeoutMs } = job.payload;
    const started = performance.now();
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'jobwire-webhook', ...headers, 'x-jobwire-job-id': job.id },
        body: JSON.stringify(body),
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      // Refused by policy: retrying cannot help.
      if (error instanceof OutboundRefusedError) throw new NonRetriableError(`POST ${url} ${error.message}`);
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no response within ${timeoutMs} ms` : describeNetworkError(error);
      throw new Error(`POST ${url} failed: ${reason}`);
    }
    const excerpt = (await response.text()).slice(0, RESPONSE_EXCERPT_BYTES);
    const durationMs = Math.round(performance.now() - started);
    if (response.status >= 500 || response.status === 429) {
      throw new Error(`POST ${url} answered ${response.status}: ${excerpt}`);
    }
    if (response.status >= 400) {
      throw new NonRetriableError(`POST ${url} answered ${response.status}: ${excerpt}`);
    }
    ctx.logger.info({ url, status: response.status, durationMs }, 'webhook delivered');
    return { success: true, resultData: { status: response.status, durationMs, responseBody: excerpt } };
  },
});

function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
