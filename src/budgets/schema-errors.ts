// The expected failures of budget jobs' mutations as GraphQL error types
// (classes in errors.ts); each names what was wrong.
import { builder } from '../graphql/builder.ts';
import { ErrorInterface } from '../graphql/errors.ts';
import {
  BudgetNotFoundError,
  BudgetProviderFailedError,
  PayeeNotFoundError,
  SnapshotNotFoundError,
  SuggestionAlreadyAppliedError,
  SuggestionNotFoundError,
  SuggestionOfAnotherBudgetError,
} from './errors.ts';

builder.objectType(BudgetNotFoundError, {
  name: 'BudgetNotFoundError',
  description: 'The budget provider knows no budget with this id.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof BudgetNotFoundError,
  fields: (t) => ({ budgetId: t.exposeID('budgetId') }),
});

builder.objectType(BudgetProviderFailedError, {
  name: 'BudgetProviderFailedError',
  description: 'The budget provider could not be asked about the budget (unavailable, unauthorized, rate limited); try again later.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof BudgetProviderFailedError,
  fields: (t) => ({ budgetId: t.exposeID('budgetId'), code: t.exposeString('code') }),
});

builder.objectType(SuggestionNotFoundError, {
  name: 'SuggestionNotFoundError',
  description: "No category suggestion has this id (another tenant's answers the same).",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof SuggestionNotFoundError,
  fields: (t) => ({ suggestionId: t.exposeID('suggestionId'), field: t.exposeString('field') }),
});

builder.objectType(SuggestionOfAnotherBudgetError, {
  name: 'SuggestionOfAnotherBudgetError',
  description: 'The suggestion belongs to another budget than the one named.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof SuggestionOfAnotherBudgetError,
  fields: (t) => ({ suggestionId: t.exposeID('suggestionId'), budgetId: t.exposeID('budgetId'), field: t.exposeString('field') }),
});

builder.objectType(SuggestionAlreadyAppliedError, {
  name: 'SuggestionAlreadyAppliedError',
  description: 'The suggestion is written to the provider (APPLIED); it can no longer be accepted or rejected.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof SuggestionAlreadyAppliedError,
  fields: (t) => ({ suggestionId: t.exposeID('suggestionId'), field: t.exposeString('field') }),
});

builder.objectType(SnapshotNotFoundError, {
  name: 'SnapshotNotFoundError',
  description: "The budget has no snapshot with this id (another tenant's answers the same).",
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof SnapshotNotFoundError,
  fields: (t) => ({ snapshotId: t.exposeID('snapshotId'), budgetId: t.exposeID('budgetId') }),
});

builder.objectType(PayeeNotFoundError, {
  name: 'PayeeNotFoundError',
  description: 'The stored budget has no payee with this id (sync the budget first).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof PayeeNotFoundError,
  fields: (t) => ({ payeeId: t.exposeID('payeeId'), budgetId: t.exposeID('budgetId') }),
});
