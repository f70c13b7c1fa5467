// The portfolio import kind's detail on the dashboard's job page.
import type { PrismaClient } from '../db/prisma.ts';
import { formatCount, formatDay, type KindDashboard } from '../kind-descriptor.ts';

export const portfolioDashboard: KindDashboard = {
  title: 'Portfolio import',
  async facts(jobId: string, prisma: PrismaClient) {
    const row = await prisma.portfolioImportJob.findFirst({ where: { jobId } });
    if (!row) return [];
    return [
      { label: 'Portfolio', value: row.portfolioId },
      { label: 'Account', value: row.accountId },
      { label: 'Interval', value: `${formatDay(row.intervalStart!)} → ${formatDay(row.intervalEnd!)}` },
      { label: 'Source', value: row.source },
      { label: 'Trades', value: formatCount(row.tradeCount) },
      { label: 'Positions', value: formatCount(row.positionCount) },
      { label: 'Cash transactions', value: formatCount(row.cashTransactionCount) },
    ];
  },
};
