// The collection kind's detail on the dashboard's job page.
import type { PrismaClient } from '../db/prisma.ts';
import { formatCount, formatDay, type KindDashboard } from '../kind-descriptor.ts';

export const collectionDashboard: KindDashboard = {
  title: 'Collection',
  async facts(jobId: string, prisma: PrismaClient) {
    const row = await prisma.collectionJob.findFirst({ where: { jobId } });
    if (!row) return [];
    return [
      { label: 'Provider', value: row.provider },
      { label: 'Timeframe', value: row.timeframe },
      { label: 'From', value: formatDay(row.rangeFrom) },
      { label: 'To', value: formatDay(row.rangeTo) },
      { label: 'Symbols done', value: `${formatCount(row.completedSymbolCount)} / ${formatCount(row.symbols.length)}` },
      { label: 'Candles stored', value: formatCount(row.candleCount) },
    ];
  },
};
