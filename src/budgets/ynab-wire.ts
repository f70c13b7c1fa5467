// The YNAB API v1 wire shapes (snake_case, amounts in milliunits) that the
// local server and the sample budget hold and the YNAB adapter reads, as zod
// schemas so the adapter checks what it receives. Only the fields jobwire
// reads are required; YNAB sends more, and unknown keys pass through. The
// to* functions turn them into the port's types.
import { z } from 'zod';
import type { Account, Category, Payee, Transaction } from './provider.ts';

export const ynabAccount = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  on_budget: z.boolean().optional(),
  closed: z.boolean(),
  balance: z.number().optional(),
  deleted: z.boolean(),
});
export type YnabAccount = z.infer<typeof ynabAccount>;

export const ynabCategory = z.object({
  id: z.string(),
  category_group_id: z.string(),
  category_group_name: z.string().optional(),
  name: z.string(),
  hidden: z.boolean(),
  deleted: z.boolean(),
});
export type YnabCategory = z.infer<typeof ynabCategory>;

export const ynabCategoryGroup = z.object({
  id: z.string(),
  name: z.string(),
  hidden: z.boolean(),
  deleted: z.boolean(),
  categories: z.array(ynabCategory),
});
export type YnabCategoryGroup = z.infer<typeof ynabCategoryGroup>;

export const ynabPayee = z.object({
  id: z.string(),
  name: z.string(),
  transfer_account_id: z.string().nullable(),
  deleted: z.boolean(),
});
export type YnabPayee = z.infer<typeof ynabPayee>;

export const ynabTransaction = z.object({
  id: z.string(),
  date: z.string(),
  amount: z.number().int(),
  memo: z.string().nullable(),
  cleared: z.string().optional(),
  approved: z.boolean(),
  account_id: z.string(),
  payee_id: z.string().nullable(),
  payee_name: z.string().nullable().optional(),
  category_id: z.string().nullable(),
  category_name: z.string().nullable().optional(),
  transfer_account_id: z.string().nullable().optional(),
  deleted: z.boolean(),
});
export type YnabTransaction = z.infer<typeof ynabTransaction>;

export const ynabBudgetSummary = z.object({
  id: z.string(),
  name: z.string(),
  last_modified_on: z.string().nullable().optional(),
  currency_format: z.object({ iso_code: z.string() }).nullable().optional(),
});
export type YnabBudgetSummary = z.infer<typeof ynabBudgetSummary>;

/** A budget as the local server and the sample provider hold it (what GET /budgets/{id} exports). */
export interface YnabBudget {
  id: string;
  name: string;
  last_modified_on: string;
  currency_format: { iso_code: string };
  accounts: YnabAccount[];
  category_groups: YnabCategoryGroup[];
  payees: YnabPayee[];
  transactions: YnabTransaction[];
}

export const toAccount = (account: YnabAccount): Account => ({
  id: account.id,
  name: account.name,
  type: account.type,
  closed: account.closed,
  deleted: account.deleted,
});

export const toCategories = (group: YnabCategoryGroup): Category[] =>
  group.categories.map((category) => ({
    id: category.id,
    name: category.name,
    categoryGroupName: group.name,
    hidden: category.hidden || group.hidden,
    deleted: category.deleted || group.deleted,
  }));

export const toPayee = (payee: YnabPayee): Payee => ({
  id: payee.id,
  name: payee.name,
  transferAccountId: payee.transfer_account_id,
  deleted: payee.deleted,
});

export const toTransaction = (transaction: YnabTransaction): Transaction => ({
  id: transaction.id,
  accountId: transaction.account_id,
  date: transaction.date,
  amountMilliunits: transaction.amount,
  payeeId: transaction.payee_id,
  payeeName: transaction.payee_name ?? null,
  categoryId: transaction.category_id,
  memo: transaction.memo,
  approved: transaction.approved,
  deleted: transaction.deleted,
});
