// Until a budget provider is configured, budget jobs answer that none is.
import { BudgetProviderError, type BudgetProvider } from './provider.ts';

const refuse = (): never => {
  throw new BudgetProviderError('UNAVAILABLE', 'no budget provider is configured', false);
};

export const UNCONFIGURED_BUDGET_PROVIDER: BudgetProvider = {
  name: 'none',
  getBudget: async () => refuse(),
  accounts: async () => refuse(),
  categories: async () => refuse(),
  payees: async () => refuse(),
  transactionPages: () => refuse(),
  updateTransactionCategories: async () => refuse(),
  exportBudget: () => refuse(),
};
