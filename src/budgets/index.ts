// The budget kind (seed 004): YNAB budgets synced, categorised and snapshotted.
import { JobKind } from '../generated/prisma/enums.ts';
import { budgetDashboard } from './dashboard.ts';
import type { KindDescriptor } from '../kind-descriptor.ts';
import { budgetConfig } from './config.ts';
import { createBudgetHandlers } from './handler.ts';
import { createBudgetProviders, type BudgetProviders } from './providers.ts';
import { serverOnlySettingProblems } from '../config.ts';
import './schema.ts';

declare module '../kind-descriptor.ts' {
  interface KindServices {
    /** Each tenant's budget provider (BUDGET_PROVIDER over the tenant's connection): budget jobs' handlers and mutations reach budgets through it. */
    budgetProviders: BudgetProviders;
  }
}

export const budgetsKind: KindDescriptor<typeof budgetConfig> = {
  name: 'budgets',
  jobKind: JobKind.BUDGET,
  config: budgetConfig,
  checkConfig: (config) =>
    config.PROVIDER_CREDENTIALS === 'server'
      ? config.BUDGET_PROVIDER === 'ynab' && !config.YNAB_ACCESS_TOKEN
        ? ['YNAB_ACCESS_TOKEN: required when BUDGET_PROVIDER is ynab and PROVIDER_CREDENTIALS is server']
        : []
      : serverOnlySettingProblems(config, ['YNAB_ACCESS_TOKEN']),
  services: (config, { providerConnections }) => ({ budgetProviders: createBudgetProviders(config, providerConnections) }),
  handlers: (deps) => createBudgetHandlers({ ...deps, budgetProviders: deps.services.budgetProviders }),
  dashboard: budgetDashboard,
  tenantModels: ['BudgetJob', 'Budget', 'BudgetAccount', 'BudgetCategory', 'BudgetPayee', 'BudgetTransaction', 'CategorySuggestion', 'BudgetSnapshot'],
};
