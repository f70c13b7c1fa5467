// Category suggestions: for every uncategorised, non-deleted transaction, the
// category its payee's history uses most. The history is the categorised
// transactions of the same payee and of payees with a near-identical name
// (pg_trgm similarity of normalised names ≥ PAYEE_NAME_SIMILARITY, through the
// trigram index on budget_payee.name_normalised). confidence is the share of
// that history with the suggested category; evidence_count is the size of the
// history. One set-based statement per run, whatever the number of
// transactions. Suggestions are made again only while PENDING: ACCEPTED,
// REJECTED and APPLIED ones are answers and stay.
import type pg from 'pg';
import { visibleTenant, type Principal } from '../auth/principal.ts';
import { withTransaction } from '../db/pool.ts';
import { SuggestionAlreadyAppliedError, SuggestionNotFoundError, SuggestionOfAnotherBudgetError } from './errors.ts';
import { PAYEE_NAME_SIMILARITY } from './kind.ts';
import type { BudgetJobRef } from './sync.ts';

export interface SuggestionsResult extends Record<string, unknown> {
  /** Suggestions made or made again (PENDING ones refreshed). */
  readonly suggestionCount: number;
  /** PENDING suggestions removed: their transaction has a category now, or is deleted. */
  readonly withdrawnSuggestionCount: number;
}

/** Makes the budget's suggestions; with `payeeId`, only that payee's (suggestions_retry_payee). */
export async function generateSuggestions(pool: pg.Pool, job: BudgetJobRef, payeeId: string | null = null): Promise<SuggestionsResult> {
  return withTransaction(pool, async (client) => {
    await client.query(`select set_config('pg_trgm.similarity_threshold', $1, true)`, [String(PAYEE_NAME_SIMILARITY)]);
    const made = await client.query(
      `with targets as (
         select t.transaction_id, t.payee_id, p.name_normalised
           from budget_transaction t
           join budget_payee p on p.tenant_id = t.tenant_id and p.budget_id = t.budget_id and p.payee_id = t.payee_id
          where t.tenant_id = $1 and t.budget_id = $2 and t.category_id is null and not t.deleted
            and p.transfer_account_id is null
            and ($4::text is null or t.payee_id = $4::text)
       ),
       target_payees as (select distinct payee_id, name_normalised from targets),
       similar_payees as (
         select payee_id as target_payee_id, payee_id as source_payee_id from target_payees
         union
         select tp.payee_id, s.payee_id
           from target_payees tp
           join budget_payee s on s.name_normalised % tp.name_normalised
          where s.tenant_id = $1 and s.budget_id = $2
       ),
       votes as (
         select sp.target_payee_id, h.category_id, count(*)::int as n
           from similar_payees sp
           join budget_transaction h on h.tenant_id = $1 and h.budget_id = $2 and h.payee_id = sp.source_payee_id
           join budget_category c on c.tenant_id = $1 and c.budget_id = $2 and c.category_id = h.category_id
          where not h.deleted and not c.deleted
          group by sp.target_payee_id, h.category_id
       ),
       ranked as (
         select target_payee_id, category_id, n,
                sum(n) over (partition by target_payee_id)::int as total,
                row_number() over (partition by target_payee_id order by n desc, category_id) as rank
           from votes
       )
       insert into category_suggestion as s (tenant_id, budget_id, transaction_id, payee_id, suggested_category_id,
                                             confidence, evidence_count, created_by_job_id)
       select $1, $2, t.transaction_id, t.payee_id, r.category_id, r.n::real / r.total, r.total, $3
         from targets t join ranked r on r.target_payee_id = t.payee_id and r.rank = 1
       on conflict (tenant_id, budget_id, transaction_id) do update
         set payee_id = excluded.payee_id, suggested_category_id = excluded.suggested_category_id,
             confidence = excluded.confidence, evidence_count = excluded.evidence_count,
             created_by_job_id = excluded.created_by_job_id, updated_at = now()
         where s.status = 'PENDING'`,
      [job.tenantId, job.budgetId, job.jobId, payeeId],
    );
    // PENDING suggestions this run did not make again are stale (categorised, deleted, no history left).
    const withdrawn = await client.query(
      `delete from category_suggestion
        where tenant_id = $1 and budget_id = $2 and status = 'PENDING' and ($4::text is null or payee_id = $4::text)
          and created_by_job_id is distinct from $3`,
      [job.tenantId, job.budgetId, job.jobId, payeeId],
    );
    const suggestionCount = made.rowCount ?? 0;
    await client.query(`update budget_job set suggestion_count = $2 where job_id = $1`, [job.jobId, suggestionCount]);
    return { suggestionCount, withdrawnSuggestionCount: withdrawn.rowCount ?? 0 };
  });
}

export type SuggestionAnswer = 'ACCEPTED' | 'REJECTED';

/**
 * Accepts or rejects suggestions of one budget, all or nothing: an unknown id
 * (another tenant's included), a suggestion of another budget or an APPLIED
 * one is a typed error naming it, and nothing changes. Idempotent.
 */
export async function answerSuggestions(
  pool: pg.Pool,
  caller: Principal,
  budgetId: string,
  ids: readonly string[],
  answer: SuggestionAnswer,
): Promise<string[]> {
  const unique = [...new Set(ids)];
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ id: string; budgetId: string; status: string }>(
      `select id, budget_id as "budgetId", status from category_suggestion
        where id = any($1::uuid[]) and ($2::text is null or tenant_id = $2::text)
        order by id for update`,
      [unique, visibleTenant(caller)],
    );
    const found = new Map(rows.map((row) => [row.id, row]));
    unique.forEach((id, index) => {
      const row = found.get(id);
      const field = `suggestionIds.${index}`;
      if (!row) throw new SuggestionNotFoundError(id, field);
      if (row.budgetId !== budgetId) throw new SuggestionOfAnotherBudgetError(id, budgetId, field);
      if (row.status === 'APPLIED') throw new SuggestionAlreadyAppliedError(id, field);
    });
    await client.query(
      `update category_suggestion set status = $2, not_applied_reason = null, updated_at = now()
        where id = any($1::uuid[]) and status <> $2`,
      [unique, answer],
    );
    return unique;
  });
}
