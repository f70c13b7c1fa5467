// suggestions_apply: writes ACCEPTED suggestions to the provider
// (updateTransactionCategories, in batches) and records per suggestion what
// happened: APPLIED with the time and job, or why not (not_applied_reason,
// the suggestion stays ACCEPTED). Idempotent: APPLIED suggestions are never
// sent again, and each batch is marked as soon as the provider answers, so a
// retry after a failure sends only what was not written.
import type pg from 'pg';
import { withTransaction } from '../db/pool.ts';
import type { BudgetProvider } from './provider.ts';
import type { BudgetJobRef } from './sync.ts';

/** Updates per provider request (YNAB's bulk PATCH takes many; smaller batches lose less to a failure). */
export const APPLY_BATCH_SIZE = 200;

export const NOT_APPLIED = {
  notAccepted: 'the suggestion is not ACCEPTED',
  transactionGone: 'the transaction is deleted (or no longer in the stored budget)',
  categorisedMeanwhile: 'the transaction has another category already',
  providerDidNotUpdate: 'the budget provider did not report the transaction as updated',
} as const;

export interface ApplyResult extends Record<string, unknown> {
  /** Written to the provider by this run. */
  readonly appliedSuggestionCount: number;
  /** APPLIED before this run: skipped, not sent again. */
  readonly alreadyAppliedSuggestionCount: number;
  /** Recorded with a reason, not written. */
  readonly notAppliedSuggestionCount: number;
}

interface Candidate {
  id: string;
  status: string;
  transactionId: string;
  categoryId: string;
  currentCategoryId: string | null;
  transactionGone: boolean;
}

export async function applySuggestions(
  pool: pg.Pool,
  provider: BudgetProvider,
  job: BudgetJobRef,
  suggestionIds: readonly string[] | undefined,
  signal: AbortSignal,
): Promise<ApplyResult> {
  const { rows } = await pool.query<Candidate>(
    `select s.id, s.status, s.transaction_id as "transactionId", s.suggested_category_id as "categoryId",
            t.category_id as "currentCategoryId", coalesce(t.deleted, true) as "transactionGone"
       from category_suggestion s
       left join budget_transaction t
         on t.tenant_id = s.tenant_id and t.budget_id = s.budget_id and t.transaction_id = s.transaction_id
      where s.tenant_id = $1 and s.budget_id = $2
        and (case when $3::uuid[] is null then s.status = 'ACCEPTED' else s.id = any($3::uuid[]) end)
      order by s.id`,
    [job.tenantId, job.budgetId, suggestionIds ?? null],
  );
  let appliedSuggestionCount = 0;
  let alreadyAppliedSuggestionCount = 0;
  const reasons = new Map<string, string>();
  const toSend: Candidate[] = [];
  const alreadyThere: Candidate[] = [];
  for (const row of rows) {
    if (row.status === 'APPLIED') alreadyAppliedSuggestionCount += 1;
    else if (row.status !== 'ACCEPTED') reasons.set(row.id, NOT_APPLIED.notAccepted);
    else if (row.transactionGone) reasons.set(row.id, NOT_APPLIED.transactionGone);
    else if (row.currentCategoryId === row.categoryId) alreadyThere.push(row);
    else if (row.currentCategoryId !== null) reasons.set(row.id, NOT_APPLIED.categorisedMeanwhile);
    else toSend.push(row);
  }
  // The transaction has the category already: nothing to write, the suggestion holds.
  await markApplied(pool, job, alreadyThere);
  appliedSuggestionCount += alreadyThere.length;

  for (let start = 0; start < toSend.length; start += APPLY_BATCH_SIZE) {
    signal.throwIfAborted();
    const batch = toSend.slice(start, start + APPLY_BATCH_SIZE);
    const answer = await provider.updateTransactionCategories(
      job.budgetId,
      batch.map((s) => ({ transactionId: s.transactionId, categoryId: s.categoryId })),
      signal,
    );
    const updated = new Set(answer.updatedTransactionIds);
    const done = batch.filter((s) => updated.has(s.transactionId));
    for (const s of batch) if (!updated.has(s.transactionId)) reasons.set(s.id, NOT_APPLIED.providerDidNotUpdate);
    await markApplied(pool, job, done);
    appliedSuggestionCount += done.length;
  }

  const notAppliedSuggestionCount = reasons.size;
  if (reasons.size > 0) {
    await pool.query(
      `update category_suggestion as s set not_applied_reason = r.reason, updated_at = now()
         from unnest($1::uuid[], $2::text[]) as r(id, reason)
        where s.id = r.id and s.status <> 'APPLIED'`,
      [[...reasons.keys()], [...reasons.values()]],
    );
  }
  await pool.query(`update budget_job set applied_suggestion_count = $2, not_applied_suggestion_count = $3 where job_id = $1`, [
    job.jobId,
    appliedSuggestionCount,
    notAppliedSuggestionCount,
  ]);
  return { appliedSuggestionCount, alreadyAppliedSuggestionCount, notAppliedSuggestionCount };
}

/** APPLIED, and the stored transaction takes the category (as the provider's next delta will say). */
async function markApplied(pool: pg.Pool, job: BudgetJobRef, suggestions: readonly Candidate[]): Promise<void> {
  if (suggestions.length === 0) return;
  await withTransaction(pool, async (client) => {
    await client.query(
      `update category_suggestion set status = 'APPLIED', applied_at = now(), applied_by_job_id = $2,
              not_applied_reason = null, updated_at = now()
        where id = any($1::uuid[])`,
      [suggestions.map((s) => s.id), job.jobId],
    );
    await client.query(
      `update budget_transaction as t set category_id = u.category_id
         from unnest($3::text[], $4::text[]) as u(transaction_id, category_id)
        where t.tenant_id = $1 and t.budget_id = $2 and t.transaction_id = u.transaction_id`,
      [job.tenantId, job.budgetId, suggestions.map((s) => s.transactionId), suggestions.map((s) => s.categoryId)],
    );
  });
}
