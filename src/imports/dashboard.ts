// The import kind's detail on the dashboard's job page.
import type { PrismaClient } from '../db/prisma.ts';
import { formatCount, type KindDashboard } from '../kind-descriptor.ts';
import { importStatusOf } from './kind.ts';

export const importDashboard: KindDashboard = {
  title: 'Import',
  async facts(jobId: string, prisma: PrismaClient) {
    const job = await prisma.job.findFirst({ where: { id: jobId }, select: { status: true, importJob: true } });
    const row = job?.importJob;
    if (!row) return [];
    return [
      { label: 'File', value: `${row.filename} (${formatCount(row.fileSize)} bytes, ${row.sourceType})` },
      { label: 'Import status', value: importStatusOf(job.status) },
      { label: 'Rows', value: formatCount(row.rowCount) },
      { label: 'Processed', value: formatCount(row.processedRowCount) },
      { label: 'Stored', value: formatCount(row.successCount) },
      { label: 'Bad rows', value: formatCount(row.errorCount) },
    ];
  },
};
