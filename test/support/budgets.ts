// Budget job tests' harness: the local YNAB server (src/testing/ynab-server.ts)
// with generated budgets, the settings that point the service at it, and
// helpers that create a budget job and await its end over jobUpdated.
import type { YnabBudget } from '../../src/budgets/ynab-wire.ts';
import { generateBudget, startYnabServer, type YnabServer } from '../../src/testing/ynab-server.ts';
import type { GraphQLTestClient } from './app.ts';
import { dispose } from './dispose.ts';
import {
  BudgetJobUpdated,
  CreateBudgetSyncJob,
  CreateSnapshotCreateJob,
  CreateSnapshotRedownloadJob,
  CreateSuggestionsApplyJob,
  CreateSuggestionsGenerateJob,
  CreateSuggestionsRetryPayeeJob,
  CreateSyncAndSuggestJob,
  GetBudgetJob,
} from './operations-budgets.ts';
import type { BudgetJobFieldsFragment } from '../generated/graphql.ts';

export const YNAB_TOKEN = 'ynab-jobs-token-5c1d0a9e';

export { generateBudget };

/** The local YNAB server with these budgets; closed when the test (or file) ends. */
export async function startBudgetServer(budgets: YnabBudget[], latencyMs = 0): Promise<YnabServer> {
  const server = await startYnabServer({ budgets, token: YNAB_TOKEN, latencyMs });
  dispose(() => server.close());
  return server;
}

/**
 * The settings that make the service use the local server (loopback allowed
 * for it) with the server's token, for the local tenant only
 * (PROVIDER_CREDENTIALS=server); `perTenant`: each tenant's own connection.
 */
export function budgetProviderEnv(server: YnabServer, credentials: 'server' | 'perTenant' = 'server'): Record<string, string> {
  return {
    BUDGET_PROVIDER: 'ynab',
    YNAB_API_URL: server.url,
    ...(credentials === 'server' ? { PROVIDER_CREDENTIALS: 'server', YNAB_ACCESS_TOKEN: YNAB_TOKEN } : {}),
    OUTBOUND_ALLOW_LIST: '127.0.0.1',
    YNAB_RETRY_BASE_DELAY_MS: '10',
    YNAB_TRANSACTIONS_PAGE_SIZE: '1000',
  };
}

type BudgetJob = BudgetJobFieldsFragment;
type Answer = { __typename: string; data?: BudgetJob; message?: string };

/** The job of a create answer; a typed error fails the test. */
export function created(answer: Answer): BudgetJob {
  if (!answer.__typename.endsWith('Success') || !answer.data) throw new Error(`create failed: ${JSON.stringify(answer)}`);
  return answer.data;
}

export const create = {
  sync: async (client: GraphQLTestClient, budgetId: string, fullResync?: boolean) =>
    created((await client.request(CreateBudgetSyncJob, { input: { budgetId, fullResync } })).createBudgetSyncJob as Answer),
  syncAndSuggest: async (client: GraphQLTestClient, budgetId: string, maxRetries?: number) =>
    created((await client.request(CreateSyncAndSuggestJob, { input: { budgetId, maxRetries } })).createSyncAndSuggestJob as Answer),
  suggestions: async (client: GraphQLTestClient, budgetId: string) =>
    created((await client.request(CreateSuggestionsGenerateJob, { input: { budgetId } })).createSuggestionsGenerateJob as Answer),
  retryPayee: async (client: GraphQLTestClient, budgetId: string, payeeId: string) =>
    created((await client.request(CreateSuggestionsRetryPayeeJob, { input: { budgetId, payeeId } })).createSuggestionsRetryPayeeJob as Answer),
  apply: async (client: GraphQLTestClient, budgetId: string, suggestionIds?: string[]) =>
    created((await client.request(CreateSuggestionsApplyJob, { input: { budgetId, suggestionIds } })).createSuggestionsApplyJob as Answer),
  snapshot: async (client: GraphQLTestClient, budgetId: string) =>
    created((await client.request(CreateSnapshotCreateJob, { input: { budgetId } })).createSnapshotCreateJob as Answer),
  redownload: async (client: GraphQLTestClient, budgetId: string, snapshotId: string) =>
    created((await client.request(CreateSnapshotRedownloadJob, { input: { budgetId, snapshotId } })).createSnapshotRedownloadJob as Answer),
};

const FINISHED = ['SUCCEEDED', 'FAILED', 'CANCELED'];

/** Awaits the job's end (jobUpdated) and answers it as a query reads it then; also every live update seen. */
export async function finished(client: GraphQLTestClient, jobId: string, timeoutMs = 60_000) {
  const live = client.subscribe(BudgetJobUpdated, { id: jobId });
  await live.waitFor(`job ${jobId} to finish`, (received) => received.some((m) => FINISHED.includes((m.jobUpdated as { budgetStatus?: string }).budgetStatus ?? '')), timeoutMs);
  live.close();
  const { job } = await client.request(GetBudgetJob, { id: jobId });
  return { job: job as BudgetJob, updates: live.received.map((m) => m.jobUpdated as { status: string; budgetStatus?: string; syncedTransactionCount?: number; suggestionCount?: number }) };
}

/** Creates with `make` and awaits the end; fails the test unless the job succeeded. */
export async function succeeded(client: GraphQLTestClient, job: BudgetJob | Promise<BudgetJob>): Promise<BudgetJob> {
  const { job: done } = await finished(client, (await job).id);
  if (done.budgetStatus !== 'SUCCEEDED') throw new Error(`job ${done.id} ended ${done.budgetStatus}: ${done.failureReason}`);
  return done;
}
