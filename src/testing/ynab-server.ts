// A local HTTP server that plays the YNAB API v1 (https://api.ynab.com/v1) with
// generated budgets, for tests and benches: Bearer token check (a token per
// YNAB user, each reaching its own budgets), delta requests
// with last_knowledge_of_server, bulk category updates, the full budget export.
// It records every request and every received update, and can be told to
// answer the next requests with a 429 (Retry-After) or a 500 whose body carries
// the token and the URL (what a careless upstream does).
//
// Paging is an extension of this server only: GET .../transactions with
// `per_page` (and `page`, from 1) answers that slice and `next_page` (null on
// the last). Real YNAB ignores both and answers everything, without
// `next_page`: the YNAB adapter reads that as a single page.
import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BudgetStore, UnknownCategoryError } from '../budgets/budget-store.ts';
import type { YnabBudget } from '../budgets/ynab-wire.ts';

export { generateBudget, type GenerateBudgetOptions } from '../budgets/budget-generator.ts';

export interface YnabServerOptions {
  budgets: YnabBudget[];
  /** The access token clients must send as `Authorization: Bearer <token>`; it reaches every budget. */
  token: string;
  /**
   * More tokens, each of another YNAB user: it reaches only its budgets (GET
   * /budgets lists them, any other budget answers 404, as YNAB does).
   */
  tokens?: Array<{ token: string; budgetIds: string[] }>;
  /** Delay before each answer, in ms (0): lets a test see two clients overlap or not. */
  latencyMs?: number;
  /** Answer page/per_page (true); false: ignore them and answer everything, as real YNAB does. */
  pagingExtension?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Without the /v1 prefix and the query: /budgets/{id}/transactions. */
  path: string;
  query: Record<string, string>;
  /** Date.now() when the request arrived. */
  at: number;
  status: number;
  /** The Bearer token it carried (null: none). */
  token: string | null;
}

export interface ReceivedUpdate {
  budgetId: string;
  transactionId: string;
  categoryId: string;
}

/** How to answer one coming request instead of serving it. */
export type YnabServerFailure =
  | { status: 429; retryAfter: string }
  /** A 500 whose body holds the request's token and URL. */
  | { status: 500 }
  | { status: number; body?: string };

export interface YnabServer {
  /** Base URL, as YNAB_API_URL takes it: http://127.0.0.1:<port>/v1. */
  url: string;
  token: string;
  requests: RecordedRequest[];
  /** Every update PATCH received, in order, repeated ones included. */
  receivedUpdates: ReceivedUpdate[];
  latencyMs: number;
  store(budgetId: string): BudgetStore;
  /** Changes `count` transactions under one new server knowledge; returns their ids. */
  mutate(budgetId: string, count: number): string[];
  /** Queues answers for the next requests (one per request, first in first out). */
  failNext(...failures: YnabServerFailure[]): void;
  /** Resolves with the first request from now on that matches. */
  nextRequest(matches?: (request: RecordedRequest) => boolean): Promise<RecordedRequest>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    readonly errorName: string,
  ) {
    super(errorName);
  }
}

const BODY_MAX_BYTES = 50 * 1024 * 1024;

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_MAX_BYTES) throw new HttpError(413, '413', 'request_too_large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, '400', 'bad_request');
  }
}

function sinceOf(query: Record<string, string>): number | null {
  const value = query.last_knowledge_of_server;
  return value === undefined ? null : Number(value);
}

export async function startYnabServer(options: YnabServerOptions): Promise<YnabServer> {
  const stores = new Map(options.budgets.map((budget) => [budget.id, new BudgetStore(budget)]));
  const failures: YnabServerFailure[] = [];
  const events = new EventEmitter();

  /** Budget ids each token reaches (null: every one). */
  const reach = new Map<string, ReadonlySet<string> | null>([[options.token, null], ...(options.tokens ?? []).map(({ token, budgetIds }) => [token, new Set(budgetIds)] as const)]);
  const reaches = (token: string, budgetId: string) => {
    const budgets = reach.get(token);
    return budgets === null || budgets?.has(budgetId) === true;
  };
  const storeOf = (token: string, budgetId: string) => {
    const store = stores.get(budgetId);
    if (!store || !reaches(token, budgetId)) throw new HttpError(404, '404.2', 'resource_not_found');
    return store;
  };

  const self: YnabServer = {
    url: '',
    token: options.token,
    requests: [],
    receivedUpdates: [],
    latencyMs: options.latencyMs ?? 0,
    store: (budgetId) => {
      const store = stores.get(budgetId);
      if (!store) throw new Error(`the YNAB server has no budget ${budgetId}`);
      return store;
    },
    mutate: (budgetId, count) => self.store(budgetId).mutate(count),
    failNext: (...next) => void failures.push(...next),
    nextRequest: async (matches = () => true) => {
      for (;;) {
        const [request] = (await once(events, 'request')) as [RecordedRequest];
        if (matches(request)) return request;
      }
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };

  const json = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(body));
  };

  async function serve(request: IncomingMessage, response: ServerResponse, path: string, query: Record<string, string>) {
    const failure = failures.shift();
    if (failure) {
      if (failure.status === 429) {
        response.writeHead(429, { 'retry-after': (failure as { retryAfter: string }).retryAfter, 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { id: '429', name: 'too_many_requests', detail: 'Too many requests' } }));
      } else {
        const body =
          (failure as { body?: string }).body ??
          JSON.stringify({
            error: { id: String(failure.status), name: 'internal_server_error', detail: `upstream call with ${request.headers.authorization ?? 'no token'} to ${self.url}${path} failed` },
          });
        response.writeHead(failure.status, { 'content-type': 'application/json' });
        response.end(body);
      }
      return;
    }
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (token === undefined || !reach.has(token)) throw new HttpError(401, '401', 'unauthorized');

    const parts = path.split('/').filter(Boolean);
    if (parts[0] !== 'budgets') throw new HttpError(404, '404.1', 'resource_not_found');
    const method = request.method ?? 'GET';
    if (parts.length === 1 && method === 'GET') {
      const budgets = [...stores.values()].filter((store) => reaches(token, store.id)).map((store) => store.summary());
      return json(response, 200, { data: { budgets, default_budget: null } });
    }
    const store = storeOf(token, decodeURIComponent(parts[1]!));
    const since = sinceOf(query);
    const resource = parts.slice(2).join('/');
    if (resource === '' && method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      for (const chunk of store.exportChunks()) if (!response.write(chunk)) await once(response, 'drain');
      response.end();
      return;
    }
    if (resource === 'settings' && method === 'GET') {
      return json(response, 200, { data: { settings: { date_format: { format: 'YYYY-MM-DD' }, currency_format: store.budget.currency_format } } });
    }
    if (resource === 'accounts' && method === 'GET') {
      return json(response, 200, { data: { accounts: store.accounts(since), server_knowledge: store.serverKnowledge } });
    }
    if (resource === 'categories' && method === 'GET') {
      return json(response, 200, { data: { category_groups: store.categoryGroups(since), server_knowledge: store.serverKnowledge } });
    }
    if (resource === 'payees' && method === 'GET') {
      return json(response, 200, { data: { payees: store.payees(since), server_knowledge: store.serverKnowledge } });
    }
    if (resource === 'transactions' && method === 'GET') {
      if (query.per_page === undefined || options.pagingExtension === false) {
        return json(response, 200, { data: { transactions: store.transactions(since).items, server_knowledge: store.serverKnowledge } });
      }
      const perPage = Number(query.per_page);
      const page = Number(query.page ?? '1');
      if (!Number.isInteger(perPage) || perPage < 1 || !Number.isInteger(page) || page < 1) throw new HttpError(400, '400', 'bad_request');
      const { items, total } = store.transactions(since, (page - 1) * perPage, perPage);
      const nextPage = page * perPage < total ? page + 1 : null;
      return json(response, 200, { data: { transactions: items, server_knowledge: store.serverKnowledge, next_page: nextPage } });
    }
    if (resource === 'transactions' && method === 'PATCH') {
      const body = (await readJson(request)) as { transactions?: Array<{ id?: unknown; category_id?: unknown }> };
      const updates = body?.transactions;
      if (!Array.isArray(updates) || updates.some((update) => typeof update?.id !== 'string' || typeof update.category_id !== 'string')) {
        throw new HttpError(400, '400', 'bad_request');
      }
      const typed = updates as Array<{ id: string; category_id: string }>;
      for (const update of typed) self.receivedUpdates.push({ budgetId: store.id, transactionId: update.id, categoryId: update.category_id });
      try {
        const { updatedIds, transactions } = store.updateCategories(typed);
        return json(response, 200, { data: { transaction_ids: updatedIds, transactions, server_knowledge: store.serverKnowledge } });
      } catch (error) {
        if (error instanceof UnknownCategoryError) throw new HttpError(400, '400', 'bad_request');
        throw error;
      }
    }
    throw new HttpError(404, '404.1', 'resource_not_found');
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/^\/v1(?=\/|$)/, '');
    const query = Object.fromEntries(url.searchParams);
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? null;
    const recorded: RecordedRequest = { method: request.method ?? 'GET', path, query, at: Date.now(), status: 0, token };
    self.requests.push(recorded);
    response.on('finish', () => {
      recorded.status = response.statusCode;
    });
    events.emit('request', recorded);
    const delay = self.latencyMs > 0 ? new Promise((resolve) => setTimeout(resolve, self.latencyMs)) : Promise.resolve();
    delay
      .then(() => serve(request, response, path, query))
      .catch((error: unknown) => {
        if (response.headersSent) return void response.destroy();
        if (error instanceof HttpError) return json(response, error.status, { error: { id: error.id, name: error.errorName, detail: error.errorName } });
        json(response, 500, { error: { id: '500', name: 'internal_server_error', detail: String(error) } });
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return self;
}
