// IBKR's Flex Web Service: SendRequest (token + query id) answers a reference
// code; GetStatement with that code answers the statement once it is ready
// (until then a FlexStatementResponse with ErrorCode 1019 "generation in progress").
import { setTimeout as delay } from 'node:timers/promises';
import { XMLParser } from 'fast-xml-parser';
import { OutboundLimitError, type OutboundFetch } from '../../net/outbound.ts';
import { NonRetriableError } from '../../core/handler.ts';
import { decodeXmlEntities, refuseDoctype } from './flex-statement.ts';

export interface FlexWebServiceOptions {
  /** e.g. https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService (IBKR_FLEX_BASE_URL) */
  baseUrl: string;
  /** The tenant's Flex token and query id (its IBKR_FLEX connection). */
  token: string;
  queryId: string;
  /** Wait between two GetStatement polls. */
  pollIntervalMs: number;
  /** Polls before giving up (the job then retries). */
  maxPolls: number;
  /** Outbound HTTP with the address checks (src/net/outbound.ts). */
  fetch: OutboundFetch;
}

/** Statement not ready yet: IBKR's codes for "try again shortly". */
const IN_PROGRESS_CODES = new Set(['1019', '1018', '1009']);

// No DTD processing here either (see flex-statement.ts).
const parser = new XMLParser({ parseTagValue: false, processEntities: false, tagValueProcessor: (_name, value) => decodeXmlEntities(value) });

function serviceResponse(xml: string): { status?: string; referenceCode?: string; errorCode?: string; errorMessage?: string } | null {
  refuseDoctype(xml, 'the Flex Web Service answer');
  const response = (parser.parse(xml) as Record<string, any>).FlexStatementResponse;
  if (!response) return null;
  return {
    status: response.Status,
    referenceCode: response.ReferenceCode,
    errorCode: response.ErrorCode,
    errorMessage: response.ErrorMessage,
  };
}

/** One request; its answer is bounded by the outbound module (OUTBOUND_RESPONSE_MAX_BYTES, OUTBOUND_TIMEOUT_MS). */
async function get(fetch: OutboundFetch, url: URL, signal: AbortSignal): Promise<string> {
  try {
    const response = await fetch(url, { signal, headers: { 'user-agent': 'jobwire' } });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`Flex Web Service answered HTTP ${response.status} for ${url.pathname}`);
    }
    return await response.text();
  } catch (error) {
    if (!(error instanceof OutboundLimitError) || signal.aborted) throw error;
    // A statement too long stays too long; a slow service may answer in time on a retry.
    const message = `Flex Web Service ${url.pathname}: ${error.message}`;
    throw error.setting === 'OUTBOUND_RESPONSE_MAX_BYTES' ? new NonRetriableError(message) : new Error(message);
  }
}

/** Requests a statement and polls until it is ready; answers its XML. */
export async function fetchFlexStatement(options: FlexWebServiceOptions, signal: AbortSignal): Promise<string> {
  // IBKR's messages become the job's error: one that quotes the token (a careless upstream) must not carry it on.
  const safe = (text: string) => text.split(options.token).join('[redacted]');
  const base = options.baseUrl.replace(/\/$/, '');
  const send = new URL(`${base}/SendRequest`);
  send.search = new URLSearchParams({ t: options.token, q: options.queryId, v: '3' }).toString();
  const sent = serviceResponse(await get(options.fetch, send, signal));
  if (!sent || sent.status !== 'Success' || !sent.referenceCode) {
    throw new Error(safe(`Flex Web Service refused the request: ${sent?.errorCode ?? '?'} ${sent?.errorMessage ?? 'unexpected answer'}`));
  }
  const statementUrl = new URL(`${base}/GetStatement`);
  statementUrl.search = new URLSearchParams({ t: options.token, q: sent.referenceCode, v: '3' }).toString();
  for (let poll = 1; poll <= options.maxPolls; poll++) {
    const body = await get(options.fetch, statementUrl, signal);
    const answer = body.includes('<FlexStatementResponse') ? serviceResponse(body) : null;
    if (!answer) return body;
    if (!answer.errorCode || !IN_PROGRESS_CODES.has(String(answer.errorCode))) {
      throw new Error(safe(`Flex Web Service could not deliver the statement: ${answer.errorCode ?? '?'} ${answer.errorMessage ?? ''}`.trim()));
    }
    await delay(options.pollIntervalMs, undefined, { signal });
  }
  throw new Error(`Flex Web Service statement not ready after ${options.maxPolls} polls`);
}
