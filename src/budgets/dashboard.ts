// The budget kind's detail on the dashboard's job page.
import type { PrismaClient } from '../db/prisma.ts';
import { formatCount, type KindDashboard } from '../kind-descriptor.ts';

export const budgetDashboard: KindDashboard = {
  title: 'Budget job',
  async facts(jobId: string, prisma: PrismaClient) {
    const row = await prisma.budgetJob.findFirst({ where: { jobId } });
    if (!row) return [];
    return [
      { label: 'Budget', value: row.budgetId },
      { label: 'Type', value: row.budgetJobType },
      { label: 'Transactions synced', value: formatCount(row.syncedTransactionCount) },
      { label: 'Suggestions made', value: formatCount(row.suggestionCount) },
      { label: 'Suggestions applied', value: formatCount(row.appliedSuggestionCount) },
      { label: 'Suggestions not applied', value: formatCount(row.notAppliedSuggestionCount) },
    ];
  },
};
