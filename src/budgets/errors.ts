// Expected failures of budget jobs' mutations (GraphQL error types in
// schema.ts). Another tenant's budget, suggestion or snapshot answers exactly
// as an unknown one.
import { JobwireError } from '../core/errors.ts';

/** The provider knows no such budget (its NOT_FOUND), or the caller may not use it. */
export class BudgetNotFoundError extends JobwireError {
  override name = 'BudgetNotFoundError';
  constructor(readonly budgetId: string) {
    super(`no budget with id ${budgetId} at the budget provider`);
  }
}

/** The provider could not be asked about the budget (unavailable, unauthorized, ...); the message is user-safe. */
export class BudgetProviderFailedError extends JobwireError {
  override name = 'BudgetProviderFailedError';
  constructor(
    readonly budgetId: string,
    readonly code: string,
    reason: string,
  ) {
    super(`budget ${budgetId} could not be checked at the budget provider: ${reason}`);
  }
}

export class SuggestionNotFoundError extends JobwireError {
  override name = 'SuggestionNotFoundError';
  constructor(
    readonly suggestionId: string,
    readonly field: string,
  ) {
    super(`${field}: no category suggestion with id ${suggestionId}`);
  }
}

/** The suggestion exists but belongs to another budget than the one named. */
export class SuggestionOfAnotherBudgetError extends JobwireError {
  override name = 'SuggestionOfAnotherBudgetError';
  constructor(
    readonly suggestionId: string,
    readonly budgetId: string,
    readonly field: string,
  ) {
    super(`${field}: category suggestion ${suggestionId} is not a suggestion of budget ${budgetId}`);
  }
}

/** An APPLIED suggestion is written to the provider: it can no longer be accepted or rejected. */
export class SuggestionAlreadyAppliedError extends JobwireError {
  override name = 'SuggestionAlreadyAppliedError';
  constructor(
    readonly suggestionId: string,
    readonly field: string,
  ) {
    super(`${field}: category suggestion ${suggestionId} is APPLIED already; it can no longer be accepted or rejected`);
  }
}

export class SnapshotNotFoundError extends JobwireError {
  override name = 'SnapshotNotFoundError';
  constructor(
    readonly snapshotId: string,
    readonly budgetId: string,
  ) {
    super(`snapshotId: no snapshot with id ${snapshotId} of budget ${budgetId}`);
  }
}

/** Suggestions are made from stored payees: the payee must have been synced. */
export class PayeeNotFoundError extends JobwireError {
  override name = 'PayeeNotFoundError';
  constructor(
    readonly payeeId: string,
    readonly budgetId: string,
  ) {
    super(`payeeId: no payee with id ${payeeId} in the stored budget ${budgetId} (sync the budget first)`);
  }
}
