// The YNAB API v1 adapter of the budget provider port, over the outbound fetch
// (src/net/outbound.ts: no private addresses unless OUTBOUND_ALLOW_LIST says so).
//
// Endpoints: GET /budgets (the summary: YNAB has no light single-budget
// endpoint, GET /budgets/{id} is the whole export), GET /budgets/{id}/accounts,
// /categories (groups nesting categories), /payees, /transactions, each with
// last_knowledge_of_server for a delta; PATCH /budgets/{id}/transactions for
// bulk category updates, in chunks; GET /budgets/{id} for the export, streamed.
//
// Transaction pages: every request asks `page` and `per_page`, an extension
// that only the local server (src/testing/ynab-server.ts) understands; it
// answers `next_page`. Real YNAB ignores both and answers every transaction
// at once without `next_page`, which is read as the only page: correct, but
// then one page holds the whole delta.
//
// The access token goes in the Authorization header and nowhere else: every
// error message is built from the error code and the HTTP status only.
//
// Answers are bounded by the outbound module: OUTBOUND_RESPONSE_MAX_BYTES per
// answer (an export too), OUTBOUND_TIMEOUT_MS per request (an export's stream too).
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { z } from 'zod';
import { OutboundLimitError, OutboundRefusedError, type OutboundFetch } from '../net/outbound.ts';
import {
  BudgetProviderError,
  type Account,
  type BudgetProvider,
  type BudgetProviderErrorCode,
  type BudgetSummary,
  type Category,
  type Delta,
  type Payee,
  type ServerKnowledge,
  type Transaction,
  type TransactionCategoryUpdate,
  type TransactionUpdateResult,
} from './provider.ts';
import {
  toAccount,
  toCategories,
  toPayee,
  toTransaction,
  ynabAccount,
  ynabBudgetSummary,
  ynabCategoryGroup,
  type YnabBudgetSummary,
  ynabPayee,
  ynabTransaction,
} from './ynab-wire.ts';

export interface YnabProviderOptions {
  /** Base URL, https://api.ynab.com/v1 (YNAB_API_URL). */
  apiUrl: string;
  /** The tenant's personal access token (its connection); kept in a private field, sent only as the Bearer header. */
  accessToken: string;
  /** Outbound HTTP with the address checks. */
  fetch: OutboundFetch;
  /** Per request until its answer is read; an export: until its headers arrive (YNAB_TIMEOUT_MS). */
  timeoutMs: number;
  /** Retries after a network error or a 5xx (YNAB_RETRIES). */
  retries: number;
  /** First backoff of those retries, doubling, with jitter (YNAB_RETRY_BASE_DELAY_MS). */
  retryBaseDelayMs: number;
  /** Waits for a 429's Retry-After before RATE_LIMITED (YNAB_RATE_LIMIT_RETRIES). */
  rateLimitRetries: number;
  /** Cap of one Retry-After wait (YNAB_RATE_LIMIT_MAX_WAIT_MS). */
  rateLimitMaxWaitMs: number;
  /** per_page of transaction requests (YNAB_TRANSACTIONS_PAGE_SIZE). */
  transactionsPageSize: number;
  /** Updates per PATCH request (YNAB_UPDATE_CHUNK_SIZE). */
  updateChunkSize: number;
  /** How long the budget list (GET /budgets) is reused (YNAB_BUDGET_LIST_CACHE_MS; 0: asked every time). */
  budgetListCacheMs?: number;
}

const envelope = <T extends z.ZodRawShape>(shape: T) => z.object({ data: z.object(shape) });
const knowledge = z.number().int();
const budgetsAnswer = envelope({ budgets: z.array(ynabBudgetSummary) });
const accountsAnswer = envelope({ accounts: z.array(ynabAccount), server_knowledge: knowledge });
const categoriesAnswer = envelope({ category_groups: z.array(ynabCategoryGroup), server_knowledge: knowledge });
const payeesAnswer = envelope({ payees: z.array(ynabPayee), server_knowledge: knowledge });
const transactionsAnswer = envelope({ transactions: z.array(ynabTransaction), server_knowledge: knowledge, next_page: z.number().int().nullish() });
const updateAnswer = envelope({ transaction_ids: z.array(z.string()), server_knowledge: knowledge });

const DESCRIPTIONS: Record<BudgetProviderErrorCode, string> = {
  NOT_FOUND: 'not found',
  UNAUTHORIZED: 'the access token was refused',
  RATE_LIMITED: 'rate limit still in force after waiting',
  UNAVAILABLE: 'unavailable',
  BAD_RESPONSE: 'unexpected answer',
};

/** The only way this adapter makes an error: code and HTTP status (or a fixed cause), nothing from the request or the body. */
function providerError(code: BudgetProviderErrorCode, retriable: boolean, detail: string): BudgetProviderError {
  return new BudgetProviderError(code, `YNAB: ${DESCRIPTIONS[code]} (${detail})`, retriable);
}

function errorForStatus(status: number): BudgetProviderError {
  const http = `HTTP ${status}`;
  if (status === 404) return providerError('NOT_FOUND', false, http);
  if (status === 401 || status === 403) return providerError('UNAUTHORIZED', false, http);
  if (status === 429) return providerError('RATE_LIMITED', true, http);
  if (status >= 500) return providerError('UNAVAILABLE', true, http);
  return providerError('BAD_RESPONSE', false, http);
}

/** Retry-After in ms: delta-seconds or an HTTP-date; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** `promise`, or the signal's reason as soon as it aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

interface Request {
  method: 'GET' | 'PATCH';
  path: string;
  query?: Record<string, string | number | null>;
  body?: unknown;
}

export class YnabProvider implements BudgetProvider {
  readonly name = 'ynab';
  readonly #token: string;
  readonly #options: Omit<YnabProviderOptions, 'accessToken'>;

  constructor({ accessToken, ...options }: YnabProviderOptions) {
    this.#token = accessToken;
    this.#options = { ...options, apiUrl: options.apiUrl.replace(/\/+$/, '') };
  }

  /**
   * The budget list is kept for budgetListCacheMs and shared by concurrent
   * callers: every create checks its budget here, and a loop of creates (on
   * an unknown id too) must not spend the token's hourly quota. A failed
   * answer is not kept.
   */
  #budgetList: { at: number; budgets: Promise<YnabBudgetSummary[]> } | null = null;

  #budgets(signal: AbortSignal): Promise<YnabBudgetSummary[]> {
    signal.throwIfAborted();
    const now = Date.now();
    const kept = this.#budgetList;
    if (kept && now - kept.at < (this.#options.budgetListCacheMs ?? 0)) return untilAborted(kept.budgets, signal);
    // Shared, so no one caller's signal stops it; #send's timeout and the retries bound it.
    const budgets = this.#json({ method: 'GET', path: '/budgets' }, budgetsAnswer, new AbortController().signal).then(({ data }) => data.budgets);
    const entry = { at: now, budgets };
    this.#budgetList = entry;
    budgets.catch(() => {
      if (this.#budgetList === entry) this.#budgetList = null;
    });
    return untilAborted(budgets, signal);
  }

  async getBudget(budgetId: string, signal: AbortSignal): Promise<BudgetSummary> {
    const budgets = await this.#budgets(signal);
    const budget = budgets.find((candidate) => candidate.id === budgetId);
    if (!budget) throw providerError('NOT_FOUND', false, 'no such budget');
    return {
      id: budget.id,
      name: budget.name,
      currencyIsoCode: budget.currency_format?.iso_code ?? null,
      lastModifiedOn: budget.last_modified_on ?? null,
    };
  }

  async accounts(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): Promise<Delta<Account>> {
    const { data } = await this.#json(this.#delta(budgetId, 'accounts', since), accountsAnswer, signal);
    return { items: data.accounts.map(toAccount), serverKnowledge: data.server_knowledge };
  }

  async categories(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): Promise<Delta<Category>> {
    const { data } = await this.#json(this.#delta(budgetId, 'categories', since), categoriesAnswer, signal);
    return { items: data.category_groups.flatMap(toCategories), serverKnowledge: data.server_knowledge };
  }

  async payees(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): Promise<Delta<Payee>> {
    const { data } = await this.#json(this.#delta(budgetId, 'payees', since), payeesAnswer, signal);
    return { items: data.payees.map(toPayee), serverKnowledge: data.server_knowledge };
  }

  /**
   * Pages are read one after the other while the budget may change, so every
   * page carries the server knowledge of the first answer: a delta from it
   * reads again whatever changed during the paging, so nothing is missed. (A
   * change during paging can only add to the changed set, and pages keep the
   * server's order, so a page may repeat a transaction but never skip one.)
   */
  async *transactionPages(budgetId: string, since: ServerKnowledge | null, signal: AbortSignal): AsyncIterable<Delta<Transaction>> {
    let first: ServerKnowledge | null = null;
    for (let page: number | null = 1; page !== null; ) {
      const request = this.#delta(budgetId, 'transactions', since);
      request.query = { ...request.query, page, per_page: this.#options.transactionsPageSize };
      const { data } = await this.#json(request, transactionsAnswer, signal);
      first ??= data.server_knowledge;
      yield { items: data.transactions.map(toTransaction), serverKnowledge: first };
      const next: number | null = data.next_page ?? null;
      // A next_page that does not move forward would loop for ever.
      if (next !== null && next <= page) throw providerError('BAD_RESPONSE', false, 'a next_page that does not move forward');
      page = next;
    }
  }

  async updateTransactionCategories(
    budgetId: string,
    updates: readonly TransactionCategoryUpdate[],
    signal: AbortSignal,
  ): Promise<TransactionUpdateResult> {
    if (updates.length === 0) {
      // Nothing to write; the answer still owes the current server knowledge (accounts: the smallest list that carries it).
      const { serverKnowledge } = await this.accounts(budgetId, null, signal);
      return { updatedTransactionIds: [], serverKnowledge };
    }
    const updatedTransactionIds: string[] = [];
    let serverKnowledge: ServerKnowledge = 0;
    for (let start = 0; start < updates.length; start += this.#options.updateChunkSize) {
      const chunk = updates.slice(start, start + this.#options.updateChunkSize);
      const body = { transactions: chunk.map((update) => ({ id: update.transactionId, category_id: update.categoryId })) };
      // Setting a category is idempotent, so a PATCH may be retried after a 5xx.
      const { data } = await this.#json({ method: 'PATCH', path: `/budgets/${encodeURIComponent(budgetId)}/transactions`, body }, updateAnswer, signal);
      updatedTransactionIds.push(...data.transaction_ids);
      serverKnowledge = data.server_knowledge;
    }
    return { updatedTransactionIds, serverKnowledge };
  }

  async *exportBudget(budgetId: string, signal: AbortSignal): AsyncIterable<Uint8Array> {
    // The time limit covers waiting for the headers only: a large export may take longer to stream.
    const response = await this.#withRetries(signal, () => this.#send({ method: 'GET', path: `/budgets/${encodeURIComponent(budgetId)}` }, signal, false));
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) yield chunk;
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof OutboundLimitError) throw this.#networkError(error, signal);
      throw providerError('UNAVAILABLE', true, 'connection lost during the export');
    }
  }

  #delta(budgetId: string, resource: string, since: ServerKnowledge | null): Request {
    return {
      method: 'GET',
      path: `/budgets/${encodeURIComponent(budgetId)}/${resource}`,
      query: { last_knowledge_of_server: since },
    };
  }

  /** One request with its retries, its answer read and checked against `schema`. */
  async #json<T>(request: Request, schema: z.ZodType<T>, signal: AbortSignal): Promise<T> {
    return this.#withRetries(signal, async () => {
      const response = await this.#send(request, signal, true);
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        throw this.#networkError(error, signal);
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw providerError('BAD_RESPONSE', false, `HTTP ${response.status}, not JSON`);
      }
      const parsed = schema.safeParse(body);
      if (!parsed.success) throw providerError('BAD_RESPONSE', false, `HTTP ${response.status}, not the expected shape`);
      return parsed.data;
    });
  }

  /** Network errors and 5xx again after a backoff (p-retry: exponential, randomised); nothing else. */
  #withRetries<T>(signal: AbortSignal, attempt: () => Promise<T>): Promise<T> {
    return pRetry(attempt, {
      retries: this.#options.retries,
      minTimeout: this.#options.retryBaseDelayMs,
      factor: 2,
      randomize: true,
      signal,
      // RATE_LIMITED has had its own waits (#send); the job retries it later.
      shouldRetry: ({ error }) => error instanceof BudgetProviderError && error.retriable && error.code !== 'RATE_LIMITED' && !signal.aborted,
    });
  }

  /**
   * Sends one request and returns a 2xx answer; waits out a 429's Retry-After
   * (capped, plus up to 10% jitter so that clients told the same time do not
   * come back together) up to rateLimitRetries times; any other status throws.
   * Each request has timeoutMs until its headers, and with `timeoutCoversBody`
   * until its body is read too.
   */
  async #send(request: Request, signal: AbortSignal, timeoutCoversBody: boolean): Promise<Response> {
    const url = new URL(this.#options.apiUrl + request.path);
    for (const [key, value] of Object.entries(request.query ?? {})) if (value !== null) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}`, accept: 'application/json' };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    for (let waits = 0; ; waits++) {
      let response: Response;
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(new DOMException('timed out', 'TimeoutError')), this.#options.timeoutMs);
      timer.unref();
      try {
        response = await this.#options.fetch(url, { method: request.method, headers, body, signal: AbortSignal.any([signal, timeout.signal]) });
      } catch (error) {
        throw this.#networkError(error, signal);
      } finally {
        if (!timeoutCoversBody) clearTimeout(timer);
      }
      if (response.ok) return response;
      await response.body?.cancel().catch(() => undefined);
      if (response.status !== 429 || waits >= this.#options.rateLimitRetries) throw errorForStatus(response.status);
      const asked = retryAfterMs(response.headers.get('retry-after')) ?? this.#options.retryBaseDelayMs * 2 ** waits;
      const wait = Math.min(asked, this.#options.rateLimitMaxWaitMs);
      await sleep(wait + Math.random() * wait * 0.1, undefined, { signal });
    }
  }

  #networkError(error: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason ?? error;
    if (error instanceof OutboundRefusedError) return providerError('UNAVAILABLE', false, 'the API address is refused by the outbound address checks, see OUTBOUND_ALLOW_LIST');
    // Bounds of every outbound answer (src/net/outbound.ts): a too long one is not asked again.
    if (error instanceof OutboundLimitError) {
      return error.setting === 'OUTBOUND_RESPONSE_MAX_BYTES'
        ? providerError('BAD_RESPONSE', false, `an answer longer than ${error.limit} bytes, see OUTBOUND_RESPONSE_MAX_BYTES`)
        : providerError('UNAVAILABLE', true, `no complete answer within ${error.limit} ms, see OUTBOUND_TIMEOUT_MS`);
    }
    if ((error as Error)?.name === 'TimeoutError') return providerError('UNAVAILABLE', true, `no answer within ${this.#options.timeoutMs} ms`);
    return providerError('UNAVAILABLE', true, 'network error');
  }
}
