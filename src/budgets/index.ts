// The budget kind (seed 004): YNAB budgets synced, categorised and snapshotted.
import { JobKind } from '../generated/prisma/enums.ts';
import { budgetDashboard } from './dashboard.ts';
import type { KindDescriptor } from '../kind-descriptor.ts';
import { budgetConfig } from './config.ts';
import { createBudgetHandlers } from './handler.ts';
import type { BudgetProvider } from './provider.ts';
import { createBudgetProvider } from './providers.ts';
import './schema.ts';

declare module '../kind-descriptor.ts' {
  interface KindServices {
    /** Budget jobs' handlers and mutations reach the budget through it (BUDGET_PROVIDER). */
    budgetProvider: BudgetProvider;
  }
}

export const budgetsKind: KindDescriptor<typeof budgetConfig> = {
  name: 'budgets',
  jobKind: JobKind.BUDGET,
  config: budgetConfig,
  checkConfig: (config) =>
    config.BUDGET_PROVIDER === 'ynab' && !config.YNAB_ACCESS_TOKEN ? ['YNAB_ACCESS_TOKEN: required when BUDGET_PROVIDER is ynab'] : [],
  services: (config) => ({ budgetProvider: createBudgetProvider(config) }),
  handlers: (deps) => createBudgetHandlers({ ...deps, budgetProvider: deps.services.budgetProvider }),
  dashboard: budgetDashboard,
  tenantModels: ['BudgetJob', 'Budget', 'BudgetAccount', 'BudgetCategory', 'BudgetPayee', 'BudgetTransaction', 'CategorySuggestion', 'BudgetSnapshot'],
};
